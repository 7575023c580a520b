"""Binder's environment, built the way Binder builds it, runs every chapter.

repo2docker (what mybinder.org runs) reads ``binder/``: it installs
``binder/requirements.txt`` with pip into the Python of ``binder/runtime.txt``, then runs
``binder/postBuild`` from the repository root. The fixture below does the same in a fresh
virtual environment of the Python that runs the tests (in CI the machine's python3, 3.11, the
version binder/runtime.txt names), ``_build/binder-venv`` (rebuilt only when ``binder/``,
``pyproject.toml`` or the Python changes, so a warm run costs nothing), and registers a
kernel of it. Every chapter, student exercise notebook and appendix notebook then runs in
that kernel under nbval, so a notebook that needs a package Binder lacks fails here.

This is where ``make test`` runs the chapters with nbval; the strict book build runs them
in the full environment.
"""

import hashlib
import os
import shutil
import subprocess
import sys
from xml.etree import ElementTree

import pytest

from conftest import ROOT

ENV = ROOT / "_build" / "binder-venv"
KERNEL = "vi-binder"
BINDER = ROOT / "binder"
NOTEBOOKS = sorted([*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("exercises/[0-9]*.ipynb"),
                    *ROOT.glob("appendix/*.ipynb")])


def _key():
    digest = hashlib.sha256(sys.version.encode())
    for path in (BINDER / "requirements.txt", BINDER / "postBuild", BINDER / "runtime.txt",
                 ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _run(cmd, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert result.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed:\n"
        + "\n".join(line for line in (result.stdout + result.stderr).splitlines()
                    if "Location 'file:" not in line)[-3000:])
    return result


def _env_vars():
    return {**os.environ, "PATH": f"{ENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "VIRTUAL_ENV": str(ENV), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


@pytest.fixture(scope="module")
def binder_env():
    stamp = ENV / ".binder-key"
    if not (stamp.exists() and stamp.read_text() == _key()):
        shutil.rmtree(ENV, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(ENV)], timeout=300)
        # What repo2docker runs: pip install -r binder/requirements.txt, then binder/postBuild.
        _run([ENV / "bin" / "python", "-m", "pip", "install", "--quiet", "-r", BINDER / "requirements.txt"],
             cwd=ROOT, env=_env_vars(), timeout=1800)
        _run(["bash", BINDER / "postBuild"], cwd=ROOT, env=_env_vars(), timeout=600)
        _run([ENV / "bin" / "python", "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL,
              "--display-name", "Python (Binder environment)"], env=_env_vars(), timeout=120)
        stamp.write_text(_key())
    return ENV


def test_binder_environment_is_complete(binder_env):
    """pip check: every installed package has what it requires (the pins are a closed set)."""
    _run([binder_env / "bin" / "python", "-m", "pip", "check"], env=_env_vars(), timeout=120)


def test_binder_environment_has_vi_lib_and_no_book_stack(binder_env):
    code = ("import importlib.util, pathlib, vi_lib;"
            "print(pathlib.Path(vi_lib.__file__).resolve().parent);"
            "print([m for m in ('jupyter_book', 'sphinx', 'pytest', 'playwright')"
            " if importlib.util.find_spec(m)])")
    out = _run([binder_env / "bin" / "python", "-c", code], cwd="/", env=_env_vars(), timeout=120).stdout
    where, stack = out.splitlines()
    assert where == str(ROOT / "vi_lib"), f"vi_lib imports from {where}, not this checkout"
    assert stack == "[]", f"Binder would install the book/test stack: {stack}"


@pytest.fixture(scope="module")
def binder_run(binder_env, tmp_path_factory):
    """One nbval session over every notebook in the Binder kernel, two notebooks at a time
    (pytest-xdist, one file per worker); {notebook path: [failure texts]}."""
    report = tmp_path_factory.mktemp("binder") / "nbval.xml"
    env = {**os.environ, "JUPYTER_PATH": str(binder_env / "share" / "jupyter")}
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadfile",
         "--nbval-lax", f"--nbval-kernel-name={KERNEL}", "-o", "junit_family=xunit1",
         f"--junitxml={report}", *(str(nb.relative_to(ROOT)) for nb in NOTEBOOKS)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    assert report.exists(), "the nbval run in the Binder environment wrote no report"
    results = {}
    for case in ElementTree.parse(report).iter("testcase"):
        failures = [f"{case.get('name')}: {(el.get('message') or '')}\n{(el.text or '')[-3000:]}"
                    for el in case if el.tag in ("failure", "error")]
        results.setdefault(case.get("file"), []).extend(failures)
    return results


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_runs_in_binder_environment(binder_run, notebook):
    rel = str(notebook.relative_to(ROOT))
    assert rel in binder_run, f"{rel} was not run in the Binder environment"
    failures = binder_run[rel]
    assert not failures, f"{rel} fails in the Binder environment:\n" + "\n".join(failures)
