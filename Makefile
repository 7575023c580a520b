# Two commands for readers and instructors:
#   make book   build the HTML book into _build/html (executes every notebook)
#   make test   run the whole test suite (unit + property tests, nbval over every
#               notebook, the strict book build, browser tests)
# Both create .venv/ first when it is missing or older than the requirements.

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

.PHONY: book test setup clean lock build-strict cache-check execute browser

setup: $(STAMP) $(MATHJAX_JS)

# The virtual environment: exact versions from the lock file, then vi_lib itself.
$(STAMP): $(LOCK) pyproject.toml
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
# clear it, or the book would show outputs of the old library.
cache-check:
	@mkdir -p _build
	@new=$$(find vi_lib -name '*.py' -not -path '*/__pycache__/*' | LC_ALL=C sort \
	        | xargs sha256sum pyproject.toml $(LOCK) | sha256sum | cut -c1-16); \
	 old=$$(cat $(LIB_HASH) 2>/dev/null); \
	 if [ "$$new" != "$$old" ]; then \
	   [ -z "$$old" ] || echo "vi_lib changed: clearing the execution cache"; \
	   rm -rf _build/.jupyter_cache _build/html _build/.doctrees _build/jupyter_execute; \
	   mkdir -p _build; echo "$$new" > $(LIB_HASH); \
	 fi

# Jupyter Book executes notebooks one after the other. This step first runs the
# book's notebooks that are not in the execution cache yet in parallel (one
# process per core, jupyter-cache's own executor) into the same cache, so that
# the build below finds them there. A notebook that fails here is simply not
# cached: the build then runs it again and reports the error itself.
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
endef
export PREEXECUTE

execute: setup cache-check
	@$(PY) -c "$$PREEXECUTE" 2> >(grep -v 'Kernel is running over TCP without encryption' >&2) \
	  || echo "parallel pre-execution failed; the build executes the notebooks itself"

book: setup cache-check execute
	$(JB) build . --quiet
	@echo ""
	@echo "The book is built. Open: $(CURDIR)/_build/html/index.html"

build-strict: setup cache-check execute
	$(JB) build . $(STRICT)

# make test: the strict book build first (it executes every chapter and fails
# on any warning or broken reference), then every test in one pytest run:
# unit and property tests, nbval over every notebook, browser tests on the
# built HTML. Notebooks are spread over cores one file per worker.
test: build-strict
	$(PY) -m pytest -n auto --dist loadfile --durations=15 --nbval-lax --nbval-current-env \
	    tests chapters exercises

# Only the tests that read the built book (browser, launch links), after `make book`.
browser: book
	$(PY) -m pytest -q tests/test_browser.py tests/test_launch_links.py

lock:
	$(PY) -m pip freeze --exclude-editable | grep -v '^vi[-_]lib' > $(LOCK)

clean:
	rm -rf _build _mathjax
