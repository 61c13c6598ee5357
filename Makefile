# The ELBO, executed -- build, test and maintenance targets.  `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --warn-undefined-variables

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stamp
VENDOR := _static/vendor/VERSIONS
AXE    := tests/vendor/axe.min.js
FORCE  ?= 0
PYTEST_ARGS ?=

.PHONY: help venv vendor book test unit bench figures notebooks lab clean distclean pdf screenshots

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv and install requirements-dev.txt (reused while unchanged)

# Re-install only when a requirements file or a pyproject.toml is newer than the stamp.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml book/pyproject.toml
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

vendor: $(VENDOR) ## fetch require.js, the ipywidgets embed manager and MathJax into _static/vendor

$(VENDOR): tools/vendor_js.sh
	tools/vendor_js.sh

# axe-core for the accessibility checks of tests/test_browser.py (tests only, not in the book)
$(AXE): tools/vendor_js.sh
	tools/vendor_js.sh --test

# Chapters execute through jupyter-cache; tools/build_book.sh clears the cache when the digest
# of src/vae or requirements.txt changed. FORCE=1 re-executes every chapter regardless.
book: $(STAMP) $(VENDOR) ## build the HTML book into _build/html (-W: any warning fails); SOLUTIONS=0: without solutions
	$(SEED_NOSOLUTIONS)
	tools/build_book.sh $(if $(filter 1,$(FORCE)),--force) $(BOOK_ARGS)

# SOLUTIONS=0 (`make book SOLUTIONS=0`, `make pdf SOLUTIONS=0`): the book without the exercises'
# solutions, for assignments (sphinx-exercise's `hide_solutions`, switched on by
# book/src/book/solutions.py), in a folder of its own: $(NOSOLUTIONS)/_build/html. It starts from a copy
# of the main build's execution cache, so that chapters executed there do not run again.
SOLUTIONS ?= 1
NOSOLUTIONS := _build/nosolutions
export VAE_SOLUTIONS := $(SOLUTIONS)
BOOK_ARGS := $(if $(filter 0,$(SOLUTIONS)),--output $(NOSOLUTIONS))
BUILD_DIR := $(if $(filter 0,$(SOLUTIONS)),$(NOSOLUTIONS)/_build,_build)
SEED_NOSOLUTIONS := $(if $(filter 0,$(SOLUTIONS)),@if [[ -d _build/.jupyter_cache \
	&& ! -d $(NOSOLUTIONS)/_build/.jupyter_cache ]]; then mkdir -p $(NOSOLUTIONS)/_build \
	&& cp -a _build/.jupyter_cache _build/.vae-package.sha256 $(NOSOLUTIONS)/_build/ \
	&& { [[ ! -d _build/.trained ]] || cp -a _build/.trained $(NOSOLUTIONS)/_build/; }; fi)

# The whole book as one PDF, offline: the single-page HTML build (same execution cache as
# `make book`, so nothing runs again) printed by Debian's chromium once MathJax has finished
# (tools/print_pdf.py: table of contents, page numbers, PDF outline). tests/test_pdf.py checks it.
pdf: book ## the whole book as one PDF: _build/pdf/book.pdf (SOLUTIONS=0: without solutions)
	$(BIN)/jupyter-book build . --builder singlehtml -W -n --keep-going \
		$(if $(filter 0,$(SOLUTIONS)),--path-output $(NOSOLUTIONS))
	$(BIN)/python tools/print_pdf.py $(BUILD_DIR)/singlehtml/intro.html $(BUILD_DIR)/pdf/book.pdf

test: $(STAMP) $(AXE) ## ruff, mypy, unit tests, every chapter through nbval, and a fresh -W book build
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: $(STAMP) ## the fast part of `make test`: ruff, mypy, tests/unit and tests/book
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest tests/unit tests/book $(PYTEST_ARGS)

# Full-page screenshots of every page of a fresh test build (or of $$VAE_BOOK_HTML), at 1366 and
# 390 px, light and dark, for a person to look at; `make test` checks the pages without them.
screenshots: $(STAMP) $(AXE) ## full-page screenshots of every page (1366/390 px, light/dark) into _build/screenshots/
	VAE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/test_browser.py -k every_page_loads $(PYTEST_ARGS)

bench: $(STAMP) $(VENDOR) ## benchmarks: speed vs plain PyTorch and Pyro, quality, estimator cost, book (benchmarks/results/)
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	$(BIN)/python -m benchmarks

# The notebooks take their figure/equation numbers, citation labels and glued values from the
# built book (its Sphinx environment and myst-nb's glue data), and publish as the notebooks branch.
notebooks: book ## write the notebooks Colab and Binder open (numbers filled in) into _build/notebooks
	$(BIN)/python -m book.notebooks _build/notebooks --build _build

# JupyterLab settings of this venv only (not ~/.jupyter): jupytext opens .md as notebooks.
LAB_SETTINGS := $(VENV)/etc/jupyter/labconfig/default_setting_overrides.json
LAB_ARGS ?=

$(LAB_SETTINGS): $(STAMP)
	@mkdir -p $(@D)
	$(BIN)/jupytext-config --settings-file $@ set-default-viewer

lab: $(STAMP) $(LAB_SETTINGS) ## JupyterLab from .venv: chapters open as notebooks (jupytext), MyST rendered, widgets live
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

figures: $(STAMP) ## regenerate figures/*.png from figures/make_figures.py
	$(BIN)/python figures/make_figures.py

clean: ## remove build outputs, the execution cache and vendored JS (keeps .venv)
	rm -rf _build _static/vendor tests/vendor .pytest_cache .ruff_cache .mypy_cache
	find . -path ./.venv -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

distclean: clean ## clean, and remove .venv
	rm -rf $(VENV)
