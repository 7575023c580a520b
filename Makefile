# Two commands for readers and instructors:
#   make book   build the HTML book into _build/html (executes every notebook)
#   make test   run the whole test suite (unit + property tests, the strict book
#               build, the PDF, nbval over every notebook in the Binder environment,
#               browser tests)
# Both create .venv/ first when it is missing or older than the lock file.
# Choose the Python that creates .venv with PYTHON=, e.g. `make book PYTHON=python3.13`.

SHELL      := /bin/bash
PYTHON     ?= python3
VENV       := .venv
BIN        := $(VENV)/bin
PY         := $(BIN)/python
JB         := $(BIN)/jupyter-book
LOCK       := requirements-lock.txt
STAMP      := $(VENV)/.installed
MATHJAX_JS := _mathjax/mathjax/tex-mml-chtml.js
LIB_HASH   := _build/.vi_lib_hash
STRICT     := -W -n --keep-going
# The oldest Python the lock is resolved for (uv --python-version below).
MIN_PY     := 3.11
# uv resolves one set of pins for every Python from MIN_PY on (--universal), with the
# fewest different versions of a package (one set here: tests/test_environment.py).
UV_COMPILE := $(BIN)/uv pip compile --quiet --universal --fork-strategy fewest \
              --python-version $(MIN_PY) --no-emit-index-url --custom-compile-command "make lock"

.PHONY: book test setup clean lock lock-upgrade notebooks build-strict cache-check execute browser pdf

setup: $(STAMP) $(MATHJAX_JS)

# The virtual environment: exact versions from the lock file, then vi_lib itself.
# A Python older than MIN_PY is refused in one line, before anything is created.
$(STAMP): $(LOCK) pyproject.toml
	@test -x $(PY) || $(PYTHON) -c 'import sys; v = tuple(int(x) for x in "$(MIN_PY)".split(".")); sys.exit(0 if sys.version_info[:2] >= v else "make: Python $(MIN_PY) or newer is needed, but $(PYTHON) is Python %s; choose another with make PYTHON=/path/to/python3.12" % sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(LOCK)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

# MathJax 3 from npm, served by the book itself so that math renders offline.
# Only the files the page needs are copied (not the 24 MB package).
$(MATHJAX_JS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf _mathjax && mkdir -p _mathjax/mathjax/output/chtml _mathjax/mathjax/input/tex
	cp node_modules/mathjax/es5/tex-mml-chtml.js _mathjax/mathjax/
	cp -r node_modules/mathjax/es5/output/chtml/fonts _mathjax/mathjax/output/chtml/
	cp -r node_modules/mathjax/es5/input/tex/extensions _mathjax/mathjax/input/tex/
	@touch $@

# The execution cache is keyed on each notebook alone: a change in vi_lib/ (any
# .py file, subpackages included), pyproject.toml or the pinned requirements must
# clear it, or the book would show outputs of the old library. The key is computed
# in Python: any error stops make instead of comparing two empty hashes.
define CACHECHECK
import hashlib, pathlib, shutil
files = sorted(p for p in pathlib.Path("vi_lib").rglob("*.py") if "__pycache__" not in p.parts)
digest = hashlib.sha256()
for path in [*files, pathlib.Path("pyproject.toml"), pathlib.Path("$(LOCK)")]:
    digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
new, stamp = digest.hexdigest()[:16], pathlib.Path("$(LIB_HASH)")
old = stamp.read_text().strip() if stamp.exists() else ""
if new != old:
    if old:
        print("vi_lib changed: clearing the execution cache")
    for d in ("_build/.jupyter_cache", "_build/html", "_build/latex", "_build/.doctrees", "_build/jupyter_execute"):
        shutil.rmtree(d, ignore_errors=True)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(new + "\n")
endef
export CACHECHECK

cache-check: setup
	@$(PY) -c "$$CACHECHECK"

# Jupyter Book executes notebooks one after the other. This step first runs the
# book's notebooks that are not in the execution cache yet in parallel (one
# process per core, jupyter-cache's local-parallel executor) into the same cache,
# so that the build below finds them there. A notebook that fails here is simply
# not cached: the build then runs it again and reports the error itself.
# Why not jupyter-cache's own command line (`jcache notebook add` + `jcache project
# execute -e local-parallel`)? It cannot read _toc.yml or execute.exclude_patterns,
# so the list of the book's notebooks has to be computed here anyway, and
# `jcache project execute` runs every outdated notebook of the cache's project,
# including ones that were added once and have since left the book; this snippet
# passes exactly the book's notebooks (filter_uris) and the book's timeout.
define PREEXECUTE
import fnmatch, pathlib, yaml
from jupyter_cache import get_cache
from jupyter_cache.executors import load_executor
config, toc = (yaml.safe_load(open(f)) for f in ("_config.yml", "_toc.yml"))
skip = config.get("execute", {}).get("exclude_patterns", [])
def walk(entries):
    for e in entries:
        yield from ([e["file"]] if "file" in e else [])
        if "glob" in e:
            yield from (str(p.with_suffix("")) for p in sorted(pathlib.Path().glob(e["glob"])))
        yield from walk(e.get("chapters", []) + e.get("sections", []))
files = [toc["root"], *walk(toc.get("chapters", [])),
         *walk([c for part in toc.get("parts", []) for c in part["chapters"]])]
nbs = [str(pathlib.Path(f + ".ipynb").resolve()) for f in files
       if pathlib.Path(f + ".ipynb").is_file()
       and not any(fnmatch.fnmatch(f + ".ipynb", pat) for pat in skip)]
cache = get_cache("_build/.jupyter_cache")
for nb in nbs:
    cache.add_nb_to_project(nb)
timeout = config.get("execute", {}).get("timeout", 30)
result = load_executor("local-parallel", cache=cache).run_and_cache(filter_uris=nbs, timeout=timeout)
if result.succeeded or result.excepted:
    print(f"executed {len(result.succeeded)} notebook(s) in parallel; failed: {result.excepted}")
# Two kernels started at the same moment can pick the same TCP port (jupyter_client
# frees a port before the kernel binds it); the loser writes "ZMQError: Address
# already in use" to stderr, which the strict build rejects. A notebook whose cached
# outputs hold any stderr is therefore dropped from the cache and run again here,
# alone (one kernel at a time: no race). Stderr that the notebook itself writes
# comes back in that run, and the build still fails on it.
def has_stderr(nb):
    return any(out.get("name") == "stderr" for cell in nb.cells
               for out in cell.get("outputs", []))
again = []
for uri in result.succeeded:
    record = cache.get_cached_project_nb(uri)
    if record is not None and has_stderr(cache.get_cache_bundle(record.pk).nb):
        cache.remove_cache(record.pk)
        again.append(uri)
if again:
    print(f"stderr in the parallel run of {again}: executing again one at a time")
    rerun = load_executor("local-serial", cache=cache).run_and_cache(filter_uris=again, timeout=timeout)
    print(f"executed {len(rerun.succeeded)} notebook(s) again; failed: {rerun.excepted}")
endef
export PREEXECUTE

execute: setup cache-check
	@$(PY) -c "$$PREEXECUTE" 2> >(grep -v 'Kernel is running over TCP without encryption' >&2) \
	  || echo "parallel pre-execution failed; the build executes the notebooks itself"

book: setup cache-check execute
	$(JB) build . --quiet
	@echo ""
	@echo "The book is built. Open: $(CURDIR)/_build/html/index.html"

# --all re-reads every page (Sphinx's fresh environment), so a warning on a page
# that `make book` already built is reported again; outputs come from the
# execution cache, nothing re-executes.
build-strict: setup cache-check execute
	$(JB) build . --all $(STRICT)

# The whole course as one PDF (Jupyter Book's pdflatex builder: xelatex through
# latexmk), from the same execution cache. Needs Debian's texlive-latex-extra
# texlive-xetex texlive-fonts-extra latexmk xindy (.ci/run installs them).
PDF := _build/latex/variational-inference.pdf
# The LaTeX folder is rebuilt each time: latexmk does not rerun a failed run whose
# sources did not change (a font installed since, say).
pdf: setup cache-check execute
	rm -rf _build/latex
	$(JB) build . --builder pdflatex --quiet
	@test -s $(PDF) && echo "The PDF is built: $(CURDIR)/$(PDF)"

# make test: the strict book build first (it executes every chapter and fails on
# any warning or broken reference), the PDF when TeX Live is installed (always
# in CI), then every test in one pytest run: unit and property tests, the
# exercises through nbval, every chapter through nbval in the Binder environment
# (tests/test_binder_environment.py), browser tests on the built HTML, the PDF
# read back. Notebooks are spread over cores one file per worker.
HAVE_TEX := $(shell command -v latexmk >/dev/null && command -v xelatex >/dev/null && echo yes)
test: build-strict $(if $(or $(HAVE_TEX),$(filter true,$(CI))),pdf)
	$(PY) -m pytest -n auto --dist loadfile --durations=15 --nbval-lax --nbval-current-env \
	    tests exercises

# Only the tests that read the built book (browser, launch links), after `make book`.
browser: book
	$(PY) -m pytest -q tests/test_browser.py tests/test_launch_links.py

# Rewrite what derives from repository.url/branch in _config.yml: the Colab cell of
# every notebook, the exercise boxes' Binder and Colab links, html.baseurl, CITATION.cff.
notebooks: setup
	$(PY) tools/sync_notebooks.py

# The lock, from the ranges in requirements.txt + requirements-dev.txt, by a fresh
# resolver run (uv pip compile) that keeps the current pins where the ranges still
# allow them; then Binder's pins: the runtime (requirements.txt) at the lock's versions.
# `make lock-upgrade` moves every pin to the newest release the ranges allow.
lock: setup
	$(UV_COMPILE) requirements.txt requirements-dev.txt -o $(LOCK)
	$(UV_COMPILE) requirements.txt -c $(LOCK) -o binder/requirements.txt

lock-upgrade: setup
	$(UV_COMPILE) --upgrade requirements.txt requirements-dev.txt -o $(LOCK)
	$(UV_COMPILE) requirements.txt -c $(LOCK) -o binder/requirements.txt

clean:
	rm -rf _build _mathjax
