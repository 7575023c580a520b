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
