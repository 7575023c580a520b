"""The repository is named in one place, ``repository.url``/``branch`` of _config.yml.

Everything that names it must agree with that setting (``make notebooks`` writes them):
the Colab cells (tests/test_notebook_conventions.py), the exercise boxes' Binder and Colab
links, html.baseurl, CITATION.cff. No other tracked file may name the repository, so a fork
that edits _config.yml and forgets `make notebooks` fails here instead of shipping Colab
cells that install someone else's vi_lib. tools/sync_notebooks.py is also tested on a
scratch copy: a new chapter without a Colab cell, a changed URL, idempotence.
"""

import importlib.util
import json
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import ROOT
from course_config import (BRANCH, CONFIG, OWNER, PAGES_URL, REPO, REPO_URL, binder_link,
                           colab_link)

SCRIPT = ROOT / "tools" / "sync_notebooks.py"
# The placeholder repository of the course as first written; forks replace it.
PLACEHOLDER = "github.com/" + "vi-course/variational-inference"  # split: this file must not match
# Files allowed to name the repository: the setting itself and what is written from it.
DERIVED = re.compile(r"^(_config\.yml|CITATION\.cff|(chapters|exercises|appendix)/.*\.ipynb)$")

_spec = importlib.util.spec_from_file_location("sync_notebooks", SCRIPT)
sync = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync)


def _tracked_files():
    out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.fail(f"git ls-files failed (is this a git checkout?): {out.stderr}", pytrace=False)
    return [f for f in out.stdout.split("\0") if f and (ROOT / f).is_file()]


def test_only_derived_files_name_the_repository():
    names = {PLACEHOLDER, f"github.com/{OWNER}/{REPO}", f"{OWNER.lower()}.github.io/{REPO}"}
    offenders = {}
    for rel in _tracked_files():
        try:
            text = (ROOT / rel).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        found = [n for n in names if n.lower() in text.lower()]
        if found and not DERIVED.match(rel):
            offenders[rel] = found
        elif PLACEHOLDER in text and PLACEHOLDER not in REPO_URL:
            offenders[rel] = [PLACEHOLDER]
    assert not offenders, (
        "these files name the repository outside _config.yml and the files `make notebooks` "
        f"writes (use the setting in _config.yml instead): {offenders}")


def test_everything_agrees_with_config():
    assert sync.main(["--check"]) == 0, "run `make notebooks` and commit the result"


def test_html_baseurl_is_the_pages_address():
    assert CONFIG["html"]["baseurl"] == PAGES_URL


def test_citation_names_the_repository():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["repository-code"] == REPO_URL and cff["url"] == PAGES_URL
    assert cff["cff-version"] == "1.2.0" and cff["title"] and cff["authors"]


def _markdown(nb):
    return "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"]
                     if c["cell_type"] == "markdown")


@pytest.mark.parametrize("chapter", sorted(ROOT.glob("chapters/*.ipynb")), ids=lambda p: p.name)
def test_exercise_box_links_the_student_notebook(chapter):
    md = _markdown(chapter)
    boxes = [b for b in re.findall(r"(?ms)^(```+|:::+)\{seealso\}(.*?)^\1", md)
             if re.search(r"`exercises/[\w.-]+\.ipynb`", b[1])]
    assert boxes, f"{chapter.name}: no exercise box ({{seealso}} naming exercises/<stem>.ipynb)"
    for _, body in boxes:
        for stem in re.findall(r"`exercises/([\w.-]+)\.ipynb`", body):
            path = f"exercises/{stem}.ipynb"
            assert (ROOT / path).exists(), f"{chapter.name} names {path}, which does not exist"
            for kind, url in (("Binder", binder_link(path)), ("Colab", colab_link(path))):
                assert f"[{kind}]({url})" in body, (
                    f"{chapter.name}: the exercise box lacks the {kind} link {url} (run `make notebooks`)")


def test_links_name_the_configured_branch():
    assert f"/{BRANCH}?urlpath=" in binder_link("x.ipynb") and f"/blob/{BRANCH}/" in colab_link("x.ipynb")


@pytest.fixture
def scratch(tmp_path):
    """A minimal copy of the course: config, requirements, two chapters, a student notebook."""
    for rel in ("_config.yml", "requirements.txt", "CITATION.cff", "chapters/01_bayesian_recap.ipynb",
                "exercises/01_bayesian_recap.ipynb"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    new = json.loads((ROOT / "chapters/01_bayesian_recap.ipynb").read_text())
    code = [c for c in new["cells"] if c["cell_type"] == "code"]
    new["cells"] = [new["cells"][0], {
        "cell_type": "markdown", "id": "box", "metadata": {},
        "source": ["```{seealso}\n", "Exercises: `exercises/01_bayesian_recap.ipynb`. Solutions elsewhere.\n", "```"]},
        code[1]]                                             # no Colab cell at all
    (tmp_path / "chapters/99_new.ipynb").write_text(json.dumps(new, indent=1) + "\n")
    return tmp_path


def test_sync_handles_a_new_chapter_and_a_fork(scratch):
    config = scratch / "_config.yml"
    config.write_text(config.read_text().replace(REPO_URL, "https://github.com/someone/vi-fork")
                      .replace(f"branch: {BRANCH}", "branch: teaching"))
    settings = sync.Settings(scratch)
    first = sync.planned(scratch)
    for path, text in first.items():
        path.write_text(text)
    assert sync.planned(scratch) == first, "a second run would change files: not idempotent"
    for rel in ("chapters/99_new.ipynb", "chapters/01_bayesian_recap.ipynb", "exercises/01_bayesian_recap.ipynb"):
        nb = json.loads((scratch / rel).read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        source = "".join(code[0]["source"])
        assert '"vi_lib @ git+https://github.com/someone/vi-fork@teaching"' in source, rel
        assert code[0]["metadata"]["tags"] == ["remove-cell"] and "vi-course" not in source
    box = _markdown(scratch / "chapters/99_new.ipynb")
    assert ("[Binder](https://mybinder.org/v2/gh/someone/vi-fork/teaching?urlpath=lab/tree/"
            "exercises/01_bayesian_recap.ipynb)") in box
    assert ("[Colab](https://colab.research.google.com/github/someone/vi-fork/blob/teaching/"
            "exercises/01_bayesian_recap.ipynb)") in box
    assert "baseurl: https://someone.github.io/vi-fork/" in config.read_text()
    assert 'repository-code: "https://github.com/someone/vi-fork"' in (scratch / "CITATION.cff").read_text()
    assert settings.pages_url == "https://someone.github.io/vi-fork/"


def test_sync_rejects_a_repository_that_is_not_on_github(scratch):
    config = scratch / "_config.yml"
    config.write_text(config.read_text().replace(REPO_URL, "https://gitlab.com/someone"))
    with pytest.raises(ValueError, match="repository.url"):
        sync.Settings(scratch)
