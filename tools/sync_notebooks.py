"""Write everything that is derived from the repository setting in ``_config.yml``.

The course's repository is named in ONE place: ``repository.url`` and
``repository.branch`` in ``_config.yml``. From it this script writes

- the Colab install cell: the first code cell of every notebook in ``chapters/``,
  ``exercises/`` (student notebooks and ``solutions/``) and ``appendix/``, tagged
  ``remove-cell``. On Colab it installs ``vi_lib`` from that repository at that branch
  (the ref the Colab launch link opened) and the ranges of ``requirements.txt`` that
  Colab may lack; elsewhere it does nothing;
- the Binder and Colab links of each chapter's exercise box (the ``{seealso}`` block
  that names ``exercises/<stem>.ipynb``), which open that student notebook;
- ``html.baseurl`` in ``_config.yml``: the GitHub Pages address
  ``https://<owner>.github.io/<repo>/``;
- ``repository-code`` and ``url`` in ``CITATION.cff``.

It is idempotent (a second run changes nothing) and handles any notebook in those
folders, new chapters included. ``--check`` writes nothing and exits 1 listing the
files that are out of date. ``exercises/make_student_notebooks.py`` copies the cell
from the solution notebooks into the student ones, so both agree after either runs.

Usage::

    python tools/sync_notebooks.py           # `make notebooks`
    python tools/sync_notebooks.py --check
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
import urllib.parse

import nbformat
import yaml
from packaging.requirements import Requirement

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK_DIRS = ("chapters", "exercises", "appendix")

# Colab has its own Jupyter kernel: upgrading it inside a running session breaks it.
NOT_ON_COLAB = {"ipykernel"}

# A code cell that installs vi_lib on Colab (any version of the cell, old or new).
COLAB_MARKER = re.compile(r'"google\.colab"\s+in\s+sys\.modules')

# The exercise box: a {seealso} directive (backticks or colons) in a chapter.
SEEALSO = re.compile(r"^(```+|:::+)\{seealso\}", re.MULTILINE)
# `exercises/<stem>.ipynb`, optionally followed by the launch links written by this script
# (or by the first version of the box: "(open it in Jupyter, Binder or Colab)").
EXERCISE_MENTION = re.compile(
    r"`exercises/(?P<stem>[\w.-]+)\.ipynb`"
    r"(?P<links> \(open it in (?:Jupyter, )?(?:Binder|\[Binder\]\([^)\s]+\)) or "
    r"(?:Colab|\[Colab\]\([^)\s]+\))(?:, or in Jupyter)?\))?")


class Settings:
    """The repository setting of ``_config.yml`` and what derives from it."""

    def __init__(self, root: pathlib.Path = ROOT):
        config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
        repo = config.get("repository") or {}
        url = (repo.get("url") or "").rstrip("/")
        parts = urllib.parse.urlsplit(url)
        path = parts.path.strip("/").removesuffix(".git").split("/")
        if parts.netloc != "github.com" or len(path) != 2 or not all(path):
            raise ValueError(f"_config.yml: repository.url must be https://github.com/<owner>/<repo>, got {url!r}")
        self.url = f"https://github.com/{path[0]}/{path[1]}"
        self.owner, self.repo = path
        self.branch = repo.get("branch") or "main"
        self.path_to_book = (repo.get("path_to_book") or "").strip("/")
        launch = config.get("launch_buttons") or {}
        self.binder = (launch.get("binderhub_url") or "https://mybinder.org").rstrip("/")
        self.colab = (launch.get("colab_url") or "https://colab.research.google.com").rstrip("/")
        self.pages_url = f"https://{self.owner.lower()}.github.io/{self.repo}/"
        self.requirements = colab_requirements(root / "requirements.txt")

    def repo_path(self, relpath: str) -> str:
        return f"{self.path_to_book}/{relpath}" if self.path_to_book else relpath

    def binder_link(self, relpath: str) -> str:
        return (f"{self.binder}/v2/gh/{self.owner}/{self.repo}/{self.branch}"
                f"?urlpath=lab/tree/{self.repo_path(relpath)}")

    def colab_link(self, relpath: str) -> str:
        return f"{self.colab}/github/{self.owner}/{self.repo}/blob/{self.branch}/{self.repo_path(relpath)}"

    def colab_cell(self) -> str:
        specs = " ".join(f'"{r}"' for r in [f"vi_lib @ git+{self.url}@{self.branch}", *self.requirements])
        return (
            "# Colab only: install vi_lib and the course's requirements from the course repository\n"
            "# (Jupyter and Binder already have them). Written by `make notebooks` from _config.yml.\n"
            "import sys\n"
            'if "google.colab" in sys.modules:\n'
            f"    %pip install -q {specs}"
        )


def colab_requirements(path: pathlib.Path) -> list[str]:
    """The requirements of ``requirements.txt`` as written there (comments and spaces dropped),
    minus NOT_ON_COLAB. Each line must parse as a PEP 508 requirement."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)             # raises InvalidRequirement on a malformed line
        if req.name.lower() not in NOT_ON_COLAB:
            out.append(line.replace(" ", ""))
    return out


def notebooks(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    return sorted(p for d in NOTEBOOK_DIRS for p in (root / d).rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def sync_colab_cell(nb, settings: Settings) -> None:
    """Make the first code cell the Colab install cell, tagged remove-cell."""
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    old = [i for i in code if COLAB_MARKER.search(nb.cells[i].source) and "%pip" in nb.cells[i].source]
    if old and old[0] == code[0]:
        cell = nb.cells[code[0]]
    else:
        for i in reversed(old):         # a Colab cell that is not first: move it to the front
            del nb.cells[i]
        cell = nbformat.v4.new_code_cell()
        cell.id = "colab-install"
        first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
        nb.cells.insert(first, cell)
    cell.source = settings.colab_cell()
    tags = list(cell.metadata.get("tags", []))
    if "remove-cell" not in tags:
        cell.metadata["tags"] = tags + ["remove-cell"]


def exercise_links(stem: str, settings: Settings) -> str:
    path = f"exercises/{stem}.ipynb"
    return (f" (open it in Jupyter, [Binder]({settings.binder_link(path)}) or "
            f"[Colab]({settings.colab_link(path)}))")


def sync_exercise_box(nb, settings: Settings, root: pathlib.Path = ROOT) -> int:
    """Write the launch links after each `exercises/<stem>.ipynb` named in a {seealso} box.

    Returns the number of boxes found."""
    found = 0
    for cell in nb.cells:
        if cell.cell_type != "markdown" or not SEEALSO.search(cell.source):
            continue

        def replace(m):
            nonlocal found
            stem = m.group("stem")
            if stem.endswith("_solutions") or not (root / "exercises" / f"{stem}.ipynb").exists():
                return m.group(0)
            found += 1
            return f"`exercises/{stem}.ipynb`{exercise_links(stem, settings)}"

        cell.source = EXERCISE_MENTION.sub(replace, cell.source)
    return found


def render_notebook(path: pathlib.Path, settings: Settings, root: pathlib.Path = ROOT) -> str:
    nb = nbformat.read(path, as_version=4)
    sync_colab_cell(nb, settings)
    if path.parent == root / "chapters":
        sync_exercise_box(nb, settings, root)
    return nbformat.writes(nb) + "\n"


def _set_yaml_key(text: str, section: str, key: str, value: str) -> str:
    """Set ``section: key:`` in a YAML file's text, keeping its comments and layout."""
    sec = re.search(rf"^{section}:[ \t]*(#.*)?\n((?:[ \t]+.*\n|[ \t]*\n)*)", text, re.MULTILINE)
    if sec is None:
        return text.rstrip("\n") + f"\n\n{section}:\n  {key}: {value}\n"
    body = sec.group(2)
    line = re.search(rf"^([ \t]+){key}:.*$", body, re.MULTILINE)
    if line:
        body = body[:line.start()] + f"{line.group(1)}{key}: {value}" + body[line.end():]
    else:
        indent = re.match(r"[ \t]+", body).group(0) if body.strip() else "  "
        body = f"{indent}{key}: {value}\n" + body
    return text[:sec.start(2)] + body + text[sec.end(2):]


def render_config(text: str, settings: Settings) -> str:
    return _set_yaml_key(text, "html", "baseurl", settings.pages_url)


def render_citation(text: str, settings: Settings) -> str:
    for key, value in (("repository-code", settings.url), ("url", settings.pages_url)):
        new = re.sub(rf"^{key}:.*$", f'{key}: "{value}"', text, flags=re.MULTILINE)
        text = new if new != text or re.search(rf"^{key}:", text, re.MULTILINE) else text + f'{key}: "{value}"\n'
    return text


def planned(root: pathlib.Path = ROOT) -> dict[pathlib.Path, str]:
    """Every file this script writes, with its up-to-date text."""
    settings = Settings(root)
    out = {p: render_notebook(p, settings, root) for p in notebooks(root)}
    config = root / "_config.yml"
    out[config] = render_config(config.read_text(encoding="utf-8"), settings)
    citation = root / "CITATION.cff"
    if citation.exists():
        out[citation] = render_citation(citation.read_text(encoding="utf-8"), settings)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a file disagrees with _config.yml")
    args = parser.parse_args(argv)
    stale = []
    for path, text in planned().items():
        if path.read_text(encoding="utf-8") != text:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(text, encoding="utf-8")
    if args.check:
        for p in stale:
            print(f"out of date with _config.yml: {p}")
        if stale:
            print("run `make notebooks` (python tools/sync_notebooks.py) and commit the result")
        return 1 if stale else 0
    print(f"updated {len(stale)} file(s) from _config.yml" if stale else "everything agrees with _config.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
