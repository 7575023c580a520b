"""The printed course: `make pdf` wrote one PDF with every page, rendered math, figures,
captions and the bibliography, and no TeX left unrendered in the text.

The PDF is read back with poppler (``pdftohtml -xml`` for text with its fonts,
``pdfimages -list`` for figures). Code cells and outputs are set in a monospace font and
may show TeX legitimately (matplotlib labels), so the TeX checks read the prose only.
Skipped when the PDF was not built (TeX Live is missing), except with ``CI=true``, where
that is a failure: CI always builds and reads the PDF.
"""

import codecs
import functools
import html
import os
import re
import shutil
import subprocess

import latexcodec  # noqa: F401  (registers the "ulatex" codec)
import nbformat
import pytest
import yaml
from pybtex.database import parse_file

from book_html import ROOT, source_of, toc_files

PDF = ROOT / "_build" / "latex" / "variational-inference.pdf"
IN_CI = os.environ.get("CI", "").strip().lower() == "true"


def _require_pdf():
    reason = None
    if not PDF.exists():
        reason = f"{PDF.relative_to(ROOT)} is missing: build it with `make pdf` (needs TeX Live)"
    elif not (shutil.which("pdftohtml") and shutil.which("pdfimages")):
        reason = "poppler-utils is not installed (apt-get install poppler-utils)"
    if reason:
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the PDF must be built and read in CI)", pytrace=False)
        pytest.skip(reason)
    return PDF


@functools.cache
def _xml():
    out = subprocess.run(["pdftohtml", "-xml", "-i", "-q", "-stdout", str(_require_pdf())],
                         capture_output=True, text=True, check=True, timeout=300)
    return out.stdout


@functools.cache
def fonts():
    return {m.group(1): m.group(2) for m in re.finditer(r'<fontspec id="(\d+)"[^>]*family="([^"]*)"', _xml())}


@functools.cache
def prose_lines():
    """Text lines of the PDF outside code and outputs (any font but a monospace one)."""
    mono = {k for k, family in fonts().items() if "mono" in family.lower()}
    return [html.unescape(re.sub(r"<[^>]+>", "", m.group(2)))
            for m in re.finditer(r'<text [^>]*font="(\d+)"[^>]*>(.*?)</text>', _xml())
            if m.group(1) not in mono]


def _normalise(text):
    text = re.sub(r"(\w)-\s*\n\s*(\w)", r"\1\2", text)      # words hyphenated at a line end
    text = text.translate(str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'}))
    return re.sub(r"\s+", " ", text)


@functools.cache
def prose():
    return _normalise("\n".join(prose_lines()))


def _title(path):
    if path.suffix == ".ipynb":
        text = nbformat.read(ROOT / path, as_version=4).cells[0].source
    else:
        text = (ROOT / path).read_text(encoding="utf-8")
    title = next(line[2:].strip() for line in text.splitlines() if line.startswith("# "))
    return _normalise(re.sub(r"`|\*|\$[^$]*\$", "", title)).strip()


PAGES = [source_of(p) for p in toc_files()]


def test_pdf_has_pages():
    info = subprocess.run(["pdfinfo", str(_require_pdf())], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    assert pages >= 5 * len([p for p in PAGES if p.parts[0] == "chapters"]), f"only {pages} pages"


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_every_page_title_is_in_the_pdf(page):
    title = _title(page)
    assert title and title in prose(), f"the PDF lacks the title {title!r} of {page}"


def test_math_is_rendered_and_no_tex_is_left_in_the_text():
    assert any("math" in family.lower() for family in fonts().values()), "no math font: math was not typeset"
    raw = [line for line in prose_lines()
           if re.search(r"\\[A-Za-z]{2,}|\$|\{(?:prf:\w+|doc|ref|numref|eq|cite:[tp]|term)\}", line)]
    assert not raw, f"unrendered TeX or MyST roles in the PDF text: {raw[:10]}"


def test_no_unresolved_references():
    bad = [line for line in prose_lines() if "??" in line]
    assert not bad, f"LaTeX printed ?? for unresolved references: {bad[:10]}"


def test_figures_and_captions_are_in_the_pdf():
    images = subprocess.run(["pdfimages", "-list", str(_require_pdf())],
                            capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    figures, captions = 0, []
    for page in PAGES:
        if page.suffix != ".ipynb":
            continue
        for cell in nbformat.read(ROOT / page, as_version=4).cells:
            if cell.cell_type == "code" and re.search(r"\b(plt|ax\w*|fig)\.|plotting\.", cell.source):
                figures += 1
            caption = cell.metadata.get("mystnb", {}).get("figure", {}).get("caption")
            if caption:
                captions.append(caption)
    assert len(images) >= min(figures, 10), f"{len(images)} images in the PDF for {figures} plotting cells"
    missing = []
    for caption in captions:
        # Math is typeset in the PDF, so compare only a run of plain words between math
        # segments (the first run of at least three words, at most five of them).
        runs = [_normalise(re.sub(r"`|\*|\{[a-z:]+\}", " ", run)).split()
                for run in re.split(r"\$[^$]*\$", caption)]
        run = next((r for r in runs if len(r) >= 3), [])
        probe = " ".join(run[:5])
        if probe and probe not in prose():
            missing.append(probe)
    assert not missing, f"figure captions missing from the PDF: {missing[:10]}"


def _surname(entry):
    person = entry.persons.get("author") or entry.persons.get("editor")
    name = " ".join(person[0].last_names)
    return codecs.decode(name.replace("{", "").replace("}", ""), "ulatex")


def test_bibliography_lists_every_cited_work():
    cited = set()
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        for keys in re.findall(r"\{cite:[tp]\}`([^`]+)`", text):
            cited.update(k.strip() for k in keys.split(","))
    assert cited, "the book cites nothing"
    bib = parse_file(str(ROOT / "references.bib")).entries
    lines = prose_lines()
    first = [i for i, line in enumerate(lines) if line.strip() == "[1]"]
    assert first, "no numbered bibliography ([1] ...) in the PDF"
    entries = _normalise("\n".join(lines[first[-1]:]))
    missing = [k for k in sorted(cited) if _surname(bib[k]) not in entries]
    assert not missing, f"cited works whose first author is not in the PDF's bibliography: {missing}"


def test_pdf_name_is_configured():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["latex"]["latex_documents"]["targetname"] == PDF.with_suffix(".tex").name
