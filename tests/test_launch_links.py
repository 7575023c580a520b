"""Every Binder and Colab launch link in the built book opens a notebook that exists.

The links are read from the built HTML (``_build/html``, or ``BOOK_HTML``). Each must name
the repository and branch of ``_config.yml`` and a path that is committed at that branch
(checked with git in this clone: the branch itself when it exists locally, else HEAD).
"""

import functools
import html
import re
import subprocess
import urllib.parse

import pytest
import yaml

from book_html import HTML, ROOT, require_built_book, source_of, toc_files

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"].get("branch", "main")
BOOK_PATH = (CONFIG["repository"].get("path_to_book") or "").strip("/")
BINDER = CONFIG["launch_buttons"]["binderhub_url"].rstrip("/")
COLAB = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
OWNER_REPO = urllib.parse.urlsplit(REPO_URL).path.strip("/")

NOTEBOOK_PAGES = [p for p in toc_files() if source_of(p).suffix == ".ipynb"]


def _git(*args):
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)


@functools.cache
def committed_files():
    """(ref, set of paths) committed at the configured branch (or HEAD); None outside git."""
    try:
        if _git("rev-parse", "--git-dir").returncode != 0:
            return None
    except FileNotFoundError:      # git is not installed: the on-disk check alone
        return None
    for ref in (f"refs/heads/{BRANCH}", f"refs/remotes/origin/{BRANCH}", "HEAD"):
        if _git("rev-parse", "--verify", "-q", ref).returncode == 0:
            out = _git("ls-tree", "-r", "--name-only", ref)
            assert out.returncode == 0, out.stderr
            return ref, set(out.stdout.splitlines())
    return None


HREF = re.compile(r'<a\s[^>]*?href="([^"]*)"', re.IGNORECASE)


@functools.cache
def hrefs_of(page_html):
    """Every link target of a built page (attribute values unescaped)."""
    return [html.unescape(h) for h in HREF.findall(page_html.read_text(encoding="utf-8"))]


def launch_links(page_html):
    hrefs = hrefs_of(page_html)
    binder = [h for h in hrefs if h.startswith(BINDER + "/")]
    colab = [h for h in hrefs if h.startswith(COLAB + "/")]
    return binder, colab


def parse_binder(url):
    """(owner/repo, branch, notebook path) of a BinderHub ``/v2/gh/`` link."""
    parts = urllib.parse.urlsplit(url)
    segments = parts.path.split("/")            # ['', 'v2', 'gh', owner, repo, branch]
    assert segments[1:3] == ["v2", "gh"] and len(segments) == 6, f"not a GitHub Binder link: {url}"
    urlpath = urllib.parse.parse_qs(parts.query)["urlpath"][0]
    for prefix in ("lab/tree/", "tree/", "notebooks/"):
        if urlpath.startswith(prefix):
            return "/".join(segments[3:5]), segments[5], urllib.parse.unquote(urlpath[len(prefix):])
    raise AssertionError(f"unexpected Binder urlpath {urlpath!r} in {url}")


def parse_colab(url):
    """(owner/repo, branch, notebook path) of a Colab ``/github/`` link."""
    segments = urllib.parse.urlsplit(url).path.split("/")  # ['', 'github', owner, repo, 'blob', branch, *path]
    assert segments[1] == "github" and segments[4] == "blob", f"not a Colab GitHub link: {url}"
    return "/".join(segments[2:4]), segments[5], urllib.parse.unquote("/".join(segments[6:]))


def check_target(url, repo, branch, path):
    assert repo == OWNER_REPO, f"{url} names repository {repo}, _config.yml says {OWNER_REPO}"
    assert branch == BRANCH, f"{url} names branch {branch}, _config.yml says {BRANCH}"
    assert path.endswith(".ipynb"), f"{url} does not open a notebook"
    local = path[len(BOOK_PATH) + 1:] if BOOK_PATH else path
    assert (ROOT / local).is_file(), f"{url} opens {path}, which does not exist in this checkout"
    committed = committed_files()
    if committed is not None:
        ref, files = committed
        assert path in files, f"{url} opens {path}, which is not committed at {ref}"


def test_there_are_notebook_pages():
    assert len(NOTEBOOK_PAGES) >= 10, NOTEBOOK_PAGES


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_launch_links_open_this_notebook(page):
    """The launch button opens this page's notebook (once on Binder, once on Colab); other
    launch links on the page (the exercise box) open other notebooks."""
    html = require_built_book() / f"{page}.html"
    assert html.exists(), f"{html} was not built"
    binder, colab = launch_links(html)
    expected = str(source_of(page))
    if BOOK_PATH:
        expected = f"{BOOK_PATH}/{expected}"
    for kind, urls, parse in (("Binder", binder, parse_binder), ("Colab", colab, parse_colab)):
        own = [u for u in urls if parse(u)[2] == expected]
        assert len(own) == 1, f"{page}: expected one {kind} link to {expected}, found {own} among {urls}"
        check_target(own[0], *parse(own[0]))


EXERCISE_BOX = re.compile(r"`exercises/([\w.-]+)\.ipynb`")


@pytest.mark.parametrize("page", [p for p in NOTEBOOK_PAGES if p.startswith("chapters/")])
def test_exercise_box_opens_the_student_notebook(page):
    """Each chapter's exercise box links its student notebook on Binder and Colab."""
    source = (ROOT / source_of(page)).read_text(encoding="utf-8")
    stems = sorted(set(EXERCISE_BOX.findall(source)))
    assert stems, f"{page} names no student notebook exercises/<stem>.ipynb"
    binder, colab = launch_links(require_built_book() / f"{page}.html")
    for stem in stems:
        path = f"{BOOK_PATH}/exercises/{stem}.ipynb" if BOOK_PATH else f"exercises/{stem}.ipynb"
        assert [u for u in binder if parse_binder(u)[2] == path], f"{page}: no Binder link to {path}"
        assert [u for u in colab if parse_colab(u)[2] == path], f"{page}: no Colab link to {path}"


def test_every_launch_link_in_the_book_resolves():
    """Any launch link on any built page (not only TOC notebooks) points at a committed notebook."""
    root = require_built_book()
    seen = 0
    for html in sorted(root.rglob("*.html")):
        if "_static" in html.parts or "_sources" in html.parts:
            continue
        binder, colab = launch_links(html)
        for url in binder:
            check_target(url, *parse_binder(url))
        for url in colab:
            check_target(url, *parse_colab(url))
        seen += len(binder) + len(colab)
    assert seen >= 2 * len(NOTEBOOK_PAGES)


def test_repository_and_issue_buttons():
    hrefs = set(hrefs_of(require_built_book() / "intro.html"))
    assert REPO_URL in hrefs, "no repository button"
    assert any(h.startswith(REPO_URL + "/issues/new") for h in hrefs), "no issue button"
