"""The repository setting of ``_config.yml`` and what the tests expect from it.

Not a test module. The expected texts are spelled out here, independently of
``tools/sync_notebooks.py`` (the code under test that writes them).
"""

import urllib.parse

import yaml

from conftest import ROOT

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"].get("branch") or "main"
OWNER, REPO = urllib.parse.urlsplit(REPO_URL).path.strip("/").split("/")
BINDER = CONFIG["launch_buttons"]["binderhub_url"].rstrip("/")
COLAB = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
PAGES_URL = f"https://{OWNER.lower()}.github.io/{REPO}/"

# The runtime requirements as written in requirements.txt; Colab keeps its own kernel.
RUNTIME = [line.split("#", 1)[0].replace(" ", "")
           for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
           if line.split("#", 1)[0].strip()]
COLAB_PACKAGES = [r for r in RUNTIME if not r.startswith("ipykernel")]

COLAB_CELL = (
    "# Colab only: install vi_lib and the course's requirements from the course repository\n"
    "# (Jupyter and Binder already have them). Written by `make notebooks` from _config.yml.\n"
    "import sys\n"
    'if "google.colab" in sys.modules:\n'
    f'    %pip install -q "vi_lib @ git+{REPO_URL}@{BRANCH}" '
    + " ".join(f'"{r}"' for r in COLAB_PACKAGES)
)


def binder_link(path):
    return f"{BINDER}/v2/gh/{OWNER}/{REPO}/{BRANCH}?urlpath=lab/tree/{path}"


def colab_link(path):
    return f"{COLAB}/github/{OWNER}/{REPO}/blob/{BRANCH}/{path}"
