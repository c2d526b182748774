# Two commands do everything on a fresh clone: `make book` and `make test` (see README.md).
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# One BLAS thread per process: the tests run two notebooks at once on two cores, and a fixed thread
# count keeps floating-point reductions, and so the stored outputs, the same from run to run.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
CHAPTERS := $(sort $(wildcard chapters/*.ipynb))
JB_STRICT := -W -n --keep-going
# Seconds one cell may run, in nbval and in tools/execute.py (a chapter runs in under 30 s in all): a hung
# kernel fails the step with the chapter and the cell named, instead of waiting forever.
CELL_TIMEOUT := 180
# How many chapters execute at once (tools/execute.py, nbval).
JOBS := 2

.PHONY: help setup book pdf test lint fresh unit nbval strict-book browser bench bench-hangs lab execute robust clean

help:
	@echo "make book    re-execute the chapters whose code or library changed, then build _build/html"
	@echo "make pdf     the PDF edition of the book (TeX Live: see .ci/run), linked from the website"
	@echo "make test    lint, stored outputs fresh, library tests, nbval over every chapter, strict build, browser"
	@echo "make lab     JupyterLab on the chapters, widgets live"
	@echo "make bench   timings and sizes into benchmarks/results.md"
	@echo "make bench-hangs  execute the whole book RUNS=20 times, two chapters at a time; count hangs"
	@echo "make robust  every chapter under five seeds; every claim must hold at each (writes appendix-claims.md)"
	@echo "make execute re-execute every chapter in place (refresh all stored outputs)"

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

# The build renders stored outputs (_config.yml: execute_notebooks off); tools/execute.py first re-executes,
# in place, each chapter whose code cells, lib/gdlens or requirements.txt changed since its outputs were stored.
book: $(STAMP)
	$(BIN)/python tools/execute.py --jobs $(JOBS) --timeout $(CELL_TIMEOUT)
	$(BIN)/jupyter-book build . $(JB_STRICT)
	@echo "The book is in $(abspath _build/html)/index.html"

# Executes each chapter once (nbval) and writes nothing into chapters/: the strict build renders the
# outputs that nbval has just verified, and `fresh` proves they were stored from the current code and library
# (nbval compares text, not images).
test: lint fresh unit nbval strict-book pdf browser
	@echo "make test: all suites passed"

lint: $(STAMP)
	$(BIN)/ruff check lib tests tools benchmarks chapters conftest.py
	$(BIN)/ruff format --check lib tests tools benchmarks chapters conftest.py

fresh: $(STAMP)
	$(BIN)/python tools/execute.py --check

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q -n 2 -m "not browser"

nbval: $(STAMP)
	$(BIN)/python -m pytest --nbval $(CHAPTERS) --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--nbval-cell-timeout $(CELL_TIMEOUT) -n $(JOBS) --dist loadfile -q

strict-book: $(STAMP)
	$(BIN)/jupyter-book build . $(JB_STRICT)

# The PDF edition, from the same stored outputs (a scrubber prints as a small multiple of its frames), put
# beside the website, which links it. Needs xelatex, latexmk and xindy (Debian: see .ci/run).
pdf: $(STAMP)
	$(BIN)/jupyter-book build . --builder pdflatex
	@mkdir -p _build/html && cp _build/latex/book.pdf _build/html/gdlens-book.pdf
	@echo "The PDF is _build/latex/book.pdf (and _build/html/gdlens-book.pdf)"

# axe-core, the accessibility engine the browser suite runs on every page, from the npm registry.
AXE_VERSION := 4.11.0
AXE := _build/vendor/axe-core/axe.min.js
$(AXE):
	@mkdir -p $(dir $@)
	cd $(dir $@) && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null \
		&& tar -xzf axe-core-$(AXE_VERSION).tgz --strip-components=1 package/axe.min.js \
		&& rm axe-core-$(AXE_VERSION).tgz

# Drives headless Chromium over _build/html (GDLENS_SITE overrides); screenshots go to _build/screenshots/.
# Without Chromium the suite is skipped with a message (-rs prints it); under CI=true it fails instead.
browser: $(STAMP) $(AXE)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null \
		|| test -n "$$GDLENS_CHROMIUM" \
		|| echo "make browser: no Chromium on PATH, so the browser tests will be skipped (apt-get install chromium)"
	$(BIN)/python -m pytest tests -q -m browser -rs

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# The whole book executed through tools/execute.py (as make book / make execute do), RUNS times in a row, two
# chapters at a time; hangs and per-run times go to benchmarks/execution.md. Nothing in chapters/ changes.
RUNS ?= 20
bench-hangs: $(STAMP)
	$(BIN)/python benchmarks/bench_execution.py --runs $(RUNS) --jobs $(JOBS) --timeout $(CELL_TIMEOUT)

# Executes each chapter in memory under the book's seed and four more (tools/robust.py); no stored output changes.
robust: $(STAMP)
	$(BIN)/python tools/robust.py --jobs 2

# Trusting the chapters (a signature in your Jupyter data folder; the files are not changed) lets their stored
# HTML outputs, the static counterparts of the widgets, run their scripts before the chapter is executed.
lab: $(STAMP)
	$(BIN)/jupyter trust $(CHAPTERS)
	$(BIN)/jupyter lab chapters

execute: $(STAMP)
	$(BIN)/python tools/execute.py --all --jobs $(JOBS) --timeout $(CELL_TIMEOUT)

clean:
	rm -rf _build
