"""The parallel pre-execution of `make execute` (the PREEXECUTE snippet in the Makefile).

Two kernels started at the same moment can be given the same TCP port; the loser writes
"ZMQError: Address already in use" to stderr, and the strict build fails on stderr
(seen once in CI, chapter 04b). The snippet therefore executes again, alone, any notebook
whose cached outputs hold stderr. These tests run the snippet itself on a two-page book in
a temporary folder: one notebook writes to stderr on its first run only (a stand-in for the
race), one writes to stderr every time (a real problem, which must stay visible).
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import nbformat
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def preexecute_snippet():
    text = (ROOT / "Makefile").read_text()
    match = re.search(r"^define PREEXECUTE\n(.*?)^endef$", text, flags=re.S | re.M)
    assert match, "the Makefile has no PREEXECUTE block"
    return match.group(1)


def write_notebook(path, source):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def cached_outputs(book):
    from jupyter_cache import get_cache

    cache = get_cache(str(book / "_build" / ".jupyter_cache"))
    found = {}
    for record in cache.list_cache_records():
        nb = cache.get_cache_bundle(record.pk).nb
        found[pathlib.Path(record.uri).stem] = [out for cell in nb.cells
                                                for out in cell.get("outputs", [])]
    return found


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    book = tmp_path_factory.mktemp("book")
    (book / "_config.yml").write_text("title: t\nexecute:\n  execute_notebooks: cache\n"
                                      "  timeout: 120\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n"
                                   "- file: flaky\n- file: noisy\n")
    write_notebook(book / "index.ipynb", "print('index')")
    write_notebook(book / "flaky.ipynb",
                   "import os, sys\n"
                   "if not os.path.exists('first-run-done'):\n"
                   "    open('first-run-done', 'w').close()\n"
                   "    print('ZMQError: Address already in use (stand-in)', file=sys.stderr)\n"
                   "print('flaky ok')")
    write_notebook(book / "noisy.ipynb", "import sys\nprint('a real warning', file=sys.stderr)")
    (book / "run.py").write_text(preexecute_snippet())
    run = subprocess.run([sys.executable, "run.py"], cwd=book, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    return book, run.stdout


def test_a_notebook_with_stderr_in_the_parallel_run_is_executed_again(book):
    folder, stdout = book
    assert "executing again one at a time" in stdout
    outputs = cached_outputs(folder)
    assert [o.get("text") for o in outputs["flaky"]] == ["flaky ok\n"]
    assert outputs["index"][0]["text"] == "index\n"


def test_stderr_the_notebook_itself_writes_stays_in_the_cache(book):
    folder, _ = book
    outputs = cached_outputs(folder)
    assert any(o.get("name") == "stderr" and "a real warning" in o.get("text", "")
               for o in outputs["noisy"])
