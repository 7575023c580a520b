"""Every figure in the built book is numbered, captioned and has real alt text.

A *content image* is an ``<img>`` in a page's article whose file Sphinx copied to
``_images/`` (notebook outputs and figures; theme logos and icons live elsewhere). Each one
must

- sit inside a ``<figure>`` whose ``<figcaption>`` has a figure number and a non-empty
  caption, which is what myst-nb makes of the cell metadata
  ``"mystnb": {"figure": {"caption": ..., "name": ...}, "image": {"alt": ...}}``;
- have alt text that describes the picture: not missing or empty, not a file name or path
  (Sphinx's fallback when no alt is given), not a bare word such as "png" or "image",
  and at least three words.

The built HTML comes from ``_build/html`` (or ``BOOK_HTML``, see ``book_html.py``). When the
book has not been built the tests are skipped, except with ``CI=true``, where that is a
failure, as for the browser tests.

The parsing helpers are tested on hand-written HTML below, so a regression in the checker
itself shows up too.
"""

import html.parser
import re

import pytest

from book_html import HTML, built_pages_or_skip

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr"}
FILE_NAME = re.compile(r"(^|[/\\])[^\s/\\]+\.(png|jpe?g|svg|gif|webp|pdf)$", re.IGNORECASE)
PLACEHOLDERS = {"png", "image", "img", "figure", "plot", "output", "graph", "chart",
                "<figure size", "<matplotlib.figure.figure"}


class _Node:
    __slots__ = ("tag", "attrs", "children", "parent", "text")

    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.text = [], []

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def all_text(self):
        return "".join(self.text) + "".join(c.all_text() for c in self.children)

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class _TreeBuilder(html.parser.HTMLParser):
    """A minimal DOM from the standard library's HTML parser (Sphinx writes well-formed HTML)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = _Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(_Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.text.append(data)


def parse(text):
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def alt_problem(alt):
    """Why ``alt`` is not real alt text, or None when it is fine."""
    if alt is None:
        return "no alt attribute"
    alt = alt.strip()
    if not alt:
        return "empty alt text"
    if FILE_NAME.search(alt) or "_images/" in alt:
        return f"alt text is a file name: {alt!r}"
    if alt.lower() in PLACEHOLDERS or any(alt.lower().startswith(p) for p in PLACEHOLDERS if p[0] == "<"):
        return f"alt text is a placeholder: {alt!r}"
    if len(alt.split()) < 3:
        return f"alt text too short to describe a figure: {alt!r}"
    return None


def caption_problem(img):
    """Why ``img`` is not a numbered, captioned figure, or None when it is."""
    figure = next((a for a in img.ancestors() if a.tag == "figure"), None)
    if figure is None:
        return "not inside a <figure> (no caption metadata)"
    caption = next((n for n in figure.iter() if n.tag == "figcaption"), None)
    if caption is None:
        return "its <figure> has no <figcaption>"
    number = [n for n in caption.iter() if "caption-number" in n.classes()]
    text = [n for n in caption.iter() if "caption-text" in n.classes()]
    if not number:
        return "its caption has no figure number (no figure name?)"
    if not text or not "".join(t.all_text() for t in text).strip():
        return "its caption text is empty"
    return None


def content_images(root):
    """The ``<img>`` elements of the article that show files from ``_images/``."""
    article = next((n for n in root.iter() if n.tag == "article"), root)
    return [n for n in article.iter()
            if n.tag == "img" and "_images/" in (n.attrs.get("src") or "")]


def figure_problems(text):
    """``[(src, problem), ...]`` for every content image of one HTML page."""
    problems = []
    for img in content_images(parse(text)):
        src = img.attrs.get("src")
        for problem in (caption_problem(img), alt_problem(img.attrs.get("alt"))):
            if problem:
                problems.append((src, problem))
    return problems


# --------------------------------------------------------------------- the checker itself

GOOD = """<html><body><article class="bd-article">
<figure class="align-default" id="fig-x"><img alt="Two curves: p peaks at 0, q at 1."
 src="../_images/abc.png" /><figcaption><p><span class="caption-number">Fig. 3 </span>
<span class="caption-text">Densities of <em>p</em> and <em>q</em>.</span></p></figcaption></figure>
<img alt="logo" src="../_static/logo.png" />
</article></body></html>"""

BAD = """<html><body><article>
<div class="cell_output"><img alt="../_images/abc.png" src="../_images/abc.png" /></div>
<figure><img alt="png" src="../_images/def.png" /><figcaption><p>
<span class="caption-text">No number</span></p></figcaption></figure>
<figure><img src="../_images/ghi.png" /></figure>
</article></body></html>"""


def test_checker_accepts_a_captioned_figure_and_ignores_theme_images():
    assert figure_problems(GOOD) == []
    assert len(content_images(parse(GOOD))) == 1


def test_checker_rejects_uncaptioned_and_badly_described_images():
    problems = figure_problems(BAD)
    found = {(src.rsplit("/", 1)[-1], problem.split(" (")[0].split(":")[0]) for src, problem in problems}
    assert ("abc.png", "not inside a <figure>") in found
    assert ("abc.png", "alt text is a file name") in found
    assert ("def.png", "its caption has no figure number") in found
    assert ("def.png", "alt text is a placeholder") in found
    assert ("ghi.png", "its <figure> has no <figcaption>") in found
    assert ("ghi.png", "no alt attribute") in found


@pytest.mark.parametrize("alt, ok", [
    ("A scatter plot of codes coloured by digit.", True),
    ("", False), ("   ", False), ("png", False), ("image", False),
    ("fig.png", False), ("../_images/0a1b2c.png", False), ("two words", False),
    ("<Figure size 640x480 with 1 Axes>", False),
])
def test_alt_rules(alt, ok):
    assert (alt_problem(alt) is None) == ok


# --------------------------------------------------------------------- the built book

def _built_pages():
    return built_pages_or_skip("the figure checks")


def test_every_content_image_is_a_captioned_figure_with_alt_text():
    pages = _built_pages()
    report, n_images = [], 0
    for page in pages:
        assert page.exists(), f"{page} is missing from the built book"
        text = page.read_text(encoding="utf-8")
        n_images += len(content_images(parse(text)))
        for src, problem in figure_problems(text):
            report.append(f"{page.relative_to(HTML)}: {src}: {problem}")
    assert n_images > 0, "no content images found in the built book: is the selector wrong?"
    assert not report, (
        f"{len(report)} problem(s) with {n_images} content images; give each figure cell "
        '"mystnb": {"figure": {"caption": ..., "name": "fig-..."}, "image": {"alt": ...}}:\n'
        + "\n".join(report))
