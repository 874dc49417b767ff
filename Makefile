# Dropout from Scratch: `make book` builds the site, `make test` checks everything.
# Both create .venv and install what they need on a fresh machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SETUP  := $(VENV)/.installed
# Front-end files for the offline site: `npm ci` from package-lock.json, then
# site/copy_assets.py copies what the pages load into site/static/vendor/ (git-ignored).
NPM_DONE    := node_modules/.package-lock.json
ASSETS_DONE := site/static/vendor/.copied
CHROMIUM    := /usr/bin/chromium
PORT        ?= 8000
SITE        := _build/html
# The table of contents to build; another one (TOC=/tmp/toc.yml) builds part of the book.
TOC         ?= _toc.yml
export TOC
# One BLAS thread: the book multiplies small matrices (batches of 16-256 rows), where a
# second OpenBLAS thread costs more in synchronisation than it gains, and on a busy 2-core
# machine its spinning made a chapter's training ~10x slower (see benchmarks/README.md).
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1

# The site and its downloads always show seed set 0 (the execution cache does not know the set,
# so a build under another set would mix its pages with set 0's); other sets are for
# `make notebooks` (see the README's Reproducibility).
BOOK_SEEDS := NNSCRATCH_SEED_SET=0

# The execution cache keys on a chapter's own text, not on the package it imports: when any
# file of the package changes, drop the cached outputs, so that no page shows numbers computed
# by older code.
PACKAGE_FILES := $(shell find src/nnscratch -type f -name '*.py' -o -type f -name '*.npz')
FRESH_CACHE   := _build/.package-stamp
$(FRESH_CACHE): $(PACKAGE_FILES)
	rm -rf _build/.jupyter_cache
	mkdir -p $(dir $@) && touch $@

.DEFAULT_GOAL := help
.PHONY: help setup assets chromium lint unit notebooks site-strict downloads browser lab-browser test \
	book serve lab bench images clean

help:
	@echo "make book   build the website into $(SITE) (creates .venv, installs everything)"
	@echo "make serve  serve the built website at http://127.0.0.1:$(PORT)/ (PORT=... to change)"
	@echo "make lab    open the chapters as notebooks in JupyterLab (copies in $(LAB_DIR))"
	@echo "make test   lint, unit tests, chapters (nbval), strict build, downloaded notebooks,"
	@echo "            browser tests (site and JupyterLab)"
	@echo "make bench  speed against raw NumPy and PyTorch, book and site timings (installs PyTorch CPU)"
	@echo "make images redraw the logo, favicon and cover in images/ with the book's plot style"
	@echo "make clean  remove build outputs (keeps .venv and node_modules)"

# The virtual environment, with exact versions from constraints.txt.
$(SETUP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (3.10+) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,book]"
	touch $@

setup: $(SETUP)

$(NPM_DONE): package.json package-lock.json
	@command -v npm >/dev/null || { echo "need npm (Node.js 18+) on PATH: apt-get install nodejs npm"; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

$(ASSETS_DONE): $(NPM_DONE) site/copy_assets.py $(SETUP)
	$(BIN)/python site/copy_assets.py
	touch $@

assets: $(ASSETS_DONE)

# Debian's Chromium for the browser tests (never `playwright install`, which downloads one).
chromium:
	@test -x $(CHROMIUM) || { \
	  command -v apt-get >/dev/null || { echo "$(CHROMIUM) is missing and there is no apt-get: install Chromium so that $(CHROMIUM) exists"; exit 1; }; \
	  echo "installing chromium with apt-get"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	    || { echo "apt-get could not install chromium: run 'apt-get update && apt-get install -y chromium' as root"; exit 1; }; }
	@test -x $(CHROMIUM) || { echo "$(CHROMIUM) is still missing after installing chromium"; exit 1; }

lint: $(SETUP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(SETUP)
	$(BIN)/python -m pytest tests

# Every chapter from its MyST source, cell by cell in a kernel; the hidden assert cells are the
# checks (one test item per cell, so a failure names its cell). NNSCRATCH_SEED_SET=k runs them
# on another, independent draw of every seed of the book (`make test` runs set 1 here; the
# site and the downloads show set 0), so a check that holds only for one draw fails.
notebooks: $(SETUP)
	@echo "chapters on seed set $${NNSCRATCH_SEED_SET:-0} (NNSCRATCH_SEED_SET)"
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env chapters/

# A fresh, strict build: any warning (broken reference, missing glue, stderr in a page) fails.
# Execution is cached by content in _build/.jupyter_cache, so unchanged chapters don't rerun.
site-strict: $(SETUP) $(ASSETS_DONE) $(FRESH_CACHE)
	$(BOOK_SEEDS) $(BIN)/jupyter-book build . --toc $(TOC) --all -W -n --keep-going

# The notebooks readers download (written by the build into $(SITE)/_sources/): no MyST left
# when nbconvert renders them, and each runs top to bottom in a fresh venv that has only the
# package's wheel and its notebook extra (plus ipykernel). This runs every chapter's hidden
# checks, outside the build's environment; it prints each chapter's time.
downloads: $(SETUP)
	$(BOOK_SEEDS) $(BIN)/python -m pytest tests/notebooks/test_downloads.py

# Headless Chromium against the built site: no errors, no request off 127.0.0.1, sliders move;
# axe-core (from node_modules) on every page in light and dark mode, desktop and phone; page
# weight, layout shift, phones (nothing cut off, readable figures); screenshots.
browser: $(SETUP) $(NPM_DONE) chromium
	$(BIN)/python -m pytest tests/site

# Headless Chromium against JupyterLab started by `make lab`: one chapter runs all its cells
# with no error, a slider renders, no raw MyST shows (screenshot in _build/screenshots/).
lab-browser: $(LAB_DONE) chromium
	$(BIN)/python -m pytest tests/notebooks/test_lab.py

# Every chapter runs three times, each with its own purpose: cell by cell from its source
# (nbval), in the strict build that makes the site, and as the downloaded notebook in the
# minimal venv.
test: $(SETUP) $(ASSETS_DONE) $(LAB_DONE) chromium
	$(MAKE) lint
	$(MAKE) unit
	NNSCRATCH_SEED_SET=1 $(MAKE) notebooks
	$(MAKE) site-strict
	$(MAKE) downloads
	$(MAKE) browser
	$(MAKE) lab-browser

book: $(SETUP) $(ASSETS_DONE) $(FRESH_CACHE)
	$(BOOK_SEEDS) $(BIN)/jupyter-book build . --toc $(TOC)
	@echo ""
	@echo "The book is in $(SITE)/index.html."
	@echo "Serve it with 'make serve' (http://127.0.0.1:$(PORT)/), or open that file directly."

serve:
	@test -f $(SITE)/index.html || { echo "no built book in $(SITE): run 'make book' first"; exit 1; }
	@echo "Serving $(SITE) at http://127.0.0.1:$(PORT)/ (Ctrl-C to stop)"
	$(PYTHON) -m http.server --bind 127.0.0.1 --directory $(SITE) $(PORT)

# JupyterLab opens the chapters as the build writes them for download (standalone notebooks:
# values filled in, no MyST left; see site/ipynb_download.py), copied into $(LAB_DIR) so that
# saving never touches a chapter's .md. The build first runs the chapters that changed (cached
# by content); a copy the reader has edited is kept (site/lab_notebooks.py). Settings
# overrides of this .venv only: no news or update checks. LAB_ARGS passes options, e.g.
# LAB_ARGS=--no-browser.
LAB_DIR := _build/lab
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
LAB_ARGS ?=
LAB_DONE := $(VENV)/.lab-installed
$(LAB_DONE): $(SETUP) pyproject.toml
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[lab]"
	mkdir -p $(dir $(LAB_OVERRIDES))
	printf '%s\n' '{"@jupyterlab/apputils-extension:notification": {"checkForUpdates": false, "fetchNews": "false"}}' > $(LAB_OVERRIDES)
	touch $@

lab: $(LAB_DONE) $(ASSETS_DONE) $(FRESH_CACHE)
	-$(BOOK_SEEDS) $(BIN)/jupyter-book build . --toc $(TOC)
	$(BIN)/python site/lab_notebooks.py $(SITE)/_sources $(LAB_DIR)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=$(LAB_DIR) \
	  $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# Speed of nnscratch against raw NumPy and PyTorch CPU, the book's execution and build times,
# and the built site's first paint and slider times on a throttled network (benchmarks/
# bench_site.py, on the site the book section just built): prints the tables and PASS/MISS lines, writes
# _build/bench.json, regenerates benchmarks/README.md's results and benchmarks/ratios.png.
# BENCH_ARGS passes options, e.g. BENCH_ARGS=--skip-book (see benchmarks/run.py --help).
BENCH_DONE := $(VENV)/.bench-installed
$(BENCH_DONE): $(SETUP) pyproject.toml
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[bench]"
	touch $@

bench: $(BENCH_DONE) $(ASSETS_DONE) $(NPM_DONE) chromium
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# The logo, favicon and cover figure, drawn with nnscratch.plots (commit what it writes).
images: $(SETUP)
	$(BIN)/python images/draw_images.py

clean:
	rm -rf _build .pytest_cache .ruff_cache site/static/vendor
