"""No stderr in the book, and the strict build fails if a cell writes to it.

- ``_config.yml`` sets ``execute.stderr_output`` (myst-nb's ``nb_output_stderr``) to
  ``error`` or ``severe``: myst-nb then logs an error for every stderr output, which the
  strict build (``-W --keep-going``) turns into a failure. Checked on a planted notebook when
  this was set up: the build reported ``ERROR: stderr was found in the cell outputs of cell 2
  [mystnb.stderr]`` and exited 1.
- Nothing weakens that: no ``sphinx.config`` override, no suppressed ``mystnb.stderr``
  warning, no ``remove-stderr`` tag and no notebook- or cell-level ``output_stderr``
  metadata in any notebook of the repository.
- In the built HTML (when it exists; under ``CI=true`` it must), no page shows a stderr
  output block.
"""

import html.parser

import nbformat
import pytest
import yaml

from book_html import HTML, ROOT, built_pages_or_skip

STRICT_LEVELS = {"error", "severe"}
NOTEBOOKS = sorted(
    p for pattern in ("*.ipynb", "chapters/**/*.ipynb", "exercises/**/*.ipynb", "appendix/**/*.ipynb")
    for p in ROOT.glob(pattern) if ".ipynb_checkpoints" not in p.parts
)


def _config():
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def test_stderr_output_is_an_error():
    config = _config()
    level = config.get("execute", {}).get("stderr_output")
    assert level in STRICT_LEVELS, (
        f"_config.yml: execute.stderr_output is {level!r}; it must be one of {sorted(STRICT_LEVELS)} "
        "so that the strict build fails when a cell writes to stderr")
    sphinx_config = (config.get("sphinx") or {}).get("config") or {}
    override = sphinx_config.get("nb_output_stderr")
    assert override in (None, *STRICT_LEVELS), (
        f"_config.yml: sphinx.config.nb_output_stderr = {override!r} overrides execute.stderr_output")
    suppressed = sphinx_config.get("suppress_warnings") or []
    assert not any(w in ("mystnb", "mystnb.stderr") for w in suppressed), (
        f"_config.yml suppresses the stderr check: suppress_warnings = {suppressed}")


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_notebook_opts_out_of_the_stderr_check(path):
    nb = nbformat.read(path, as_version=4)
    where = str(path.relative_to(ROOT))
    assert "output_stderr" not in (nb.metadata.get("mystnb") or {}), (
        f"{where}: notebook metadata mystnb.output_stderr overrides the book's stderr check")
    for i, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags", [])
        assert "remove-stderr" not in tags, (
            f"{where}, cell {i}: the remove-stderr tag hides stderr instead of fixing its cause")
        assert "output_stderr" not in (cell.metadata.get("mystnb") or {}), (
            f"{where}, cell {i}: cell metadata mystnb.output_stderr overrides the book's stderr check")
        stderr = [o for o in cell.get("outputs", []) if o.get("name") == "stderr"]
        assert not stderr, f"{where}, cell {i}: committed stderr output {stderr[0].get('text', '')[:200]!r}"


class _StderrBlocks(html.parser.HTMLParser):
    """Counts elements whose class list contains ``stderr`` (myst-nb's stderr output block)."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def handle_starttag(self, tag, attrs):
        if "stderr" in (dict(attrs).get("class") or "").split():
            self.count += 1


def stderr_blocks(text):
    parser = _StderrBlocks()
    parser.feed(text)
    return parser.count


def test_stderr_block_detector():
    shown = '<div class="output stderr highlight-myst-ansi notranslate"><pre>warn</pre></div>'
    assert stderr_blocks(shown) == 1
    assert stderr_blocks('<div class="output stream highlight-myst-ansi"><pre>ok</pre></div>') == 0


def test_no_stderr_in_the_built_book():
    found = []
    for path in built_pages_or_skip("this check"):
        page = path.relative_to(HTML)
        assert path.exists(), f"{path} is missing from the built book"
        n = stderr_blocks(path.read_text(encoding="utf-8"))
        if n:
            found.append(f"{page}: {n} stderr output block(s)")
    assert not found, "stderr in the built book (fix the cause in the notebook):\n" + "\n".join(found)
