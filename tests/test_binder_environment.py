"""Binder's environment, built the way Binder builds it, runs every chapter.

repo2docker (what mybinder.org runs) reads ``binder/``: it installs
``binder/requirements.txt`` with pip into the Python of ``binder/runtime.txt``, then runs
``binder/postBuild`` from the repository root. The fixture below does the same in a fresh
virtual environment, ``_build/binder-venv`` (rebuilt only when ``binder/``,
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


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_runs_in_binder_environment(binder_env, notebook):
    env = {**os.environ, "JUPYTER_PATH": str(binder_env / "share" / "jupyter")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--nbval-lax", f"--nbval-kernel-name={KERNEL}", str(notebook.relative_to(ROOT))],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (
        f"{notebook.relative_to(ROOT)} fails in the Binder environment:\n{result.stdout[-4000:]}")
