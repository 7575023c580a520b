"""Helpers shared by the tests that look at the built book (browser tests, launch links).

Not a test module itself. The built HTML is read from ``_build/html`` at the repository
root, or from the folder named by the environment variable ``BOOK_HTML`` (handy to test a
private build: ``BOOK_HTML=/tmp/mybuild/_build/html pytest tests/test_browser.py``).
"""

import os
import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
HTML = pathlib.Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()


def toc_files():
    """Source files named in ``_toc.yml``, in reading order, without suffix (``chapters/02_kl_divergence``)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            if "glob" in entry:   # e.g. exercises/solutions/*: every .ipynb/.md it matches, sorted
                files.extend(str(p.relative_to(ROOT).with_suffix("")) for p in sorted(ROOT.glob(entry["glob"]))
                             if p.suffix in (".ipynb", ".md") and ".ipynb_checkpoints" not in p.parts)
            walk(entry.get("sections", []))
            walk(entry.get("chapters", []))

    walk(toc.get("chapters", []))
    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return files


def source_of(page):
    """The source file (``.ipynb`` or ``.md``) of a TOC entry, relative to the repository root."""
    for suffix in (".ipynb", ".md"):
        path = ROOT / (page + suffix)
        if path.exists():
            return path.relative_to(ROOT)
    raise FileNotFoundError(f"_toc.yml names {page!r}, which has no .ipynb or .md file")


def toc_html_pages():
    """HTML files of every TOC page, relative to the HTML folder (``chapters/02_kl_divergence.html``)."""
    return [page + ".html" for page in toc_files()]


def require_built_book():
    """Fail (not skip) with a clear message when the book has not been built."""
    if not (HTML / "index.html").exists():
        pytest.fail(
            f"The built book is missing: {HTML}/index.html does not exist. "
            "Build it first with `make book` (`make test` builds it before running the tests).",
            pytrace=False,
        )
    return HTML


def built_pages_or_skip(what="these checks"):
    """The book's built HTML pages in TOC order; skip when the book is not built, except in CI
    (``CI=true``), where a missing book is a failure."""
    if not (HTML / "index.html").exists():
        reason = f"the book is not built ({HTML}/index.html missing): run `make book` first"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"{reason} (CI=true: {what} must run in CI)", pytrace=False)
        pytest.skip(reason)
    return [HTML / page for page in toc_html_pages()]
