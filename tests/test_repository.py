"""Repository hygiene: notebooks are committed without outputs and every chapter is in the book."""

import json

import pytest
import yaml

from conftest import ROOT

NOTEBOOKS = sorted(
    p for p in list(ROOT.glob("chapters/**/*.ipynb")) + list(ROOT.glob("exercises/**/*.ipynb"))
    if ".ipynb_checkpoints" not in p.parts
)


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for e in entries:
            if "file" in e:
                files.append(e["file"])
            walk(e.get("sections", []))
            walk(e.get("chapters", []))

    for part in toc.get("parts", []):
        walk(part["chapters"])
    return files


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_has_no_outputs(nb):
    cells = json.loads(nb.read_text())["cells"]
    dirty = [i for i, c in enumerate(cells)
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{nb.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("nb", sorted(ROOT.glob("chapters/*.ipynb")), ids=lambda p: p.name)
def test_chapter_is_in_toc(nb):
    assert str(nb.relative_to(ROOT).with_suffix("")) in _toc_files()


def test_every_toc_entry_exists():
    missing = [f for f in _toc_files()
               if not any((ROOT / f).with_suffix(s).exists() for s in (".ipynb", ".md"))]
    assert not missing, f"_toc.yml names files that do not exist: {missing}"


def _markdown(nb_path):
    cells = json.loads(nb_path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def test_chapters_and_exercise_notebooks_point_at_each_other():
    """Every chapter links its exercises' solutions; every solutions notebook links a chapter
    and has a generated student notebook beside it."""
    import re

    chapters = sorted(ROOT.glob("chapters/*.ipynb"))
    solutions = sorted(ROOT.glob("exercises/solutions/*_solutions.ipynb"))
    assert solutions, "no solution notebooks in exercises/solutions/"
    linked = set()
    for ch in chapters:
        targets = re.findall(r"\{doc\}`\.\./exercises/solutions/([\w-]+)`", _markdown(ch))
        assert targets, f"{ch.name} does not link the solutions of its coding exercises"
        for t in targets:
            assert (ROOT / "exercises/solutions" / f"{t}.ipynb").exists(), f"{ch.name} links {t}, which does not exist"
            student = t.removesuffix("_solutions")
            assert f"exercises/{student}.ipynb" in _markdown(ch), f"{ch.name} does not name exercises/{student}.ipynb"
        linked.update(targets)
    for sol in solutions:
        assert sol.stem in linked, f"no chapter links {sol.name}"
        assert (ROOT / "exercises" / f"{sol.stem.removesuffix('_solutions')}.ipynb").exists()
        back = re.findall(r"\{doc\}`\.\./\.\./chapters/([\w-]+)`", _markdown(sol))
        assert back and all((ROOT / "chapters" / f"{b}.ipynb").exists() for b in back), \
            f"{sol.name} must link the chapter(s) it exercises"


@pytest.mark.parametrize("nb", sorted(ROOT.glob("chapters/*.ipynb")), ids=lambda p: p.name)
def test_chapter_links_notation_and_glossary(nb):
    md = _markdown(nb)
    assert "{ref}`notation`" in md, f"{nb.name} does not link the notation page"
    assert "{term}`" in md, f"{nb.name} uses no glossary term ({{term}}`...`)"
