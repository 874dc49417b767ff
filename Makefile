# Dropout from Scratch: `make book` builds the site, `make test` checks everything.
# Both create .venv and install what they need on a fresh machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SETUP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help setup lint unit test book clean

help:
	@echo "make book   build the website into _build/html (creates .venv, installs everything)"
	@echo "make test   lint, unit tests (and, as the book grows, notebooks, build, browser tests)"
	@echo "make clean  remove build outputs (keeps .venv)"

# The virtual environment, with exact versions from constraints.txt.
$(SETUP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (3.10+) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,book]"
	touch $@

setup: $(SETUP)

lint: $(SETUP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(SETUP)
	$(BIN)/python -m pytest tests

test: lint unit

book: $(SETUP)
	@echo "The book's chapters and site arrive with issue 3; nothing to build yet."

clean:
	rm -rf _build .pytest_cache .ruff_cache
