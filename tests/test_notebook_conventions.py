"""Every notebook in chapters/ and exercises/ follows the course's notebook conventions.

- the first cell is markdown: an optional ``(label)=`` line, then the page's one ``# Title``;
  no other ``#`` heading anywhere in the notebook (sections use ``##``);
- the first code cell is the Colab install cell, exactly, tagged ``remove-cell``, so the
  notebook runs on Colab (which lacks vi_lib) and is hidden in the book. The expected cell
  (tests/course_config.py) installs vi_lib from ``repository.url`` at ``repository.branch``
  of _config.yml and the ranges of requirements.txt; `make notebooks` writes it;
- randomness is seeded: no legacy global NumPy RNG (``np.random.seed``, ``np.random.normal``
  ...) and no ``default_rng()`` without a seed;
- the kernelspec is ``python3``.
"""

import re

import nbformat
import pytest

from book_html import ROOT
from course_config import COLAB_CELL  # derived from _config.yml and requirements.txt

NOTEBOOKS = sorted(
    p for d in ("chapters", "exercises", "appendix") for p in ROOT.glob(f"{d}/**/*.ipynb")
    if ".ipynb_checkpoints" not in p.parts
)

LABEL = re.compile(r"^\([A-Za-z0-9_:.\-]+\)=$")
FENCE = re.compile(r"^\s*(```+|~~~+|:::+)")
# np.random.<anything but the Generator API>(...) uses the unseeded global RNG.
LEGACY_RNG = re.compile(
    r"\b(?:np|numpy)\.random\.(?!default_rng\b|Generator\b|SeedSequence\b|PCG64\w*\b|"
    r"Philox\b|SFC64\b|MT19937\b|BitGenerator\b)[A-Za-z_]\w*\s*\("
)
UNSEEDED_RNG = re.compile(r"\bdefault_rng\(\s*\)")


def _id(path):
    return str(path.relative_to(ROOT))


def _read(path):
    return nbformat.read(path, as_version=4)


def _headings(markdown):
    """Level-1 headings of a markdown cell, ignoring lines inside code fences."""
    fence, found = None, []
    for line in markdown.splitlines():
        m = FENCE.match(line)
        if m:
            token = m.group(1)
            if fence is None:
                fence = token
            elif token[0] == fence[0] and len(token) >= len(fence) and line.strip() == token:
                fence = None
            continue
        if fence is None and re.match(r"^# \S", line):
            found.append(line)
    return found


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_title_first_and_only_once(path):
    cells = _read(path).cells
    assert cells and cells[0].cell_type == "markdown", f"{_id(path)}: the first cell must be markdown"
    lines = [line for line in cells[0].source.splitlines() if line.strip()]
    if lines and LABEL.match(lines[0].strip()):
        lines = lines[1:]
    assert lines and re.match(r"^# \S", lines[0]), (
        f"{_id(path)}: the first cell must start with an optional (label)= line and then "
        f"the one '# Title', found {lines[:1]}")
    h1 = [h for c in cells if c.cell_type == "markdown" for h in _headings(c.source)]
    assert len(h1) == 1, f"{_id(path)}: exactly one '# ' heading expected, found {h1}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_first_code_cell_installs_vi_lib_on_colab(path):
    code = [c for c in _read(path).cells if c.cell_type == "code"]
    assert code, f"{_id(path)}: no code cell"
    first = code[0]
    got = "\n".join(line.rstrip() for line in first.source.strip().splitlines())
    assert got == COLAB_CELL, (
        f"{_id(path)}: the first code cell must be exactly\n{COLAB_CELL}\n--- found ---\n{got}\n"
        "Run `make notebooks` to write it from _config.yml.")
    assert "remove-cell" in first.metadata.get("tags", []), (
        f"{_id(path)}: tag the Colab install cell 'remove-cell'")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_random_generators_are_seeded(path):
    bad = []
    for i, cell in enumerate(_read(path).cells):
        if cell.cell_type != "code":
            continue
        for n, line in enumerate(cell.source.splitlines(), 1):
            code = line.split("#", 1)[0]
            if LEGACY_RNG.search(code) or UNSEEDED_RNG.search(code):
                bad.append(f"cell {i} line {n}: {line.strip()}")
    assert not bad, (f"{_id(path)}: use a seeded np.random.default_rng(<seed>) instead of the "
                     f"global/unseeded RNG: {bad}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_kernelspec_is_python3(path):
    name = _read(path).metadata.get("kernelspec", {}).get("name")
    assert name == "python3", f"{_id(path)}: kernelspec name is {name!r}, must be 'python3'"
