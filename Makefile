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
# A hung kernel is cut after this long and the step re-run once (tests/retry_on_hang.sh says why).
HANG_RETRY := bash tests/retry_on_hang.sh 900

.PHONY: help setup book test lint unit nbval strict-book browser bench lab execute robust clean

help:
	@echo "make book    build the website into _build/html (sets up .venv on first use)"
	@echo "make test    lint, library tests, nbval over every chapter, strict book build, browser tests"
	@echo "make lab     JupyterLab on the chapters, widgets live"
	@echo "make bench   timings and sizes into benchmarks/results.md"
	@echo "make robust  every chapter under five seeds; every claim must hold at each (writes appendix-claims.md)"
	@echo "make execute re-execute the chapters in place (refresh their stored outputs)"

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build . $(JB_STRICT)
	@echo "The book is in $(abspath _build/html)/index.html"

test: lint unit nbval strict-book browser
	@echo "make test: all suites passed"

lint: $(STAMP)
	$(BIN)/ruff check lib tests tools benchmarks chapters conftest.py
	$(BIN)/ruff format --check lib tests tools benchmarks chapters conftest.py

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q -n 2 -m "not browser"

nbval: $(STAMP)
	$(HANG_RETRY) $(BIN)/python -m pytest --nbval $(CHAPTERS) --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--nbval-cell-timeout 1800 -n 2 --dist loadfile -q

strict-book: $(STAMP)
	$(HANG_RETRY) $(BIN)/jupyter-book build . $(JB_STRICT)

# Drives headless Chromium over _build/html (GDLENS_SITE overrides); screenshots go to _build/screenshots/.
# Without Chromium the suite is skipped with a message (-rs prints it); under CI=true it fails instead.
browser: $(STAMP)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null \
		|| test -n "$$GDLENS_CHROMIUM" \
		|| echo "make browser: no Chromium on PATH, so the browser tests will be skipped (apt-get install chromium)"
	$(BIN)/python -m pytest tests -q -m browser -rs

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Executes each chapter in memory under the book's seed and four more (tools/robust.py); no stored output changes.
robust: $(STAMP)
	$(BIN)/python tools/robust.py --jobs 2

lab: $(STAMP)
	$(BIN)/jupyter lab chapters

execute: $(STAMP)
	for nb in $(CHAPTERS); do $(BIN)/jupyter execute --inplace "$$nb"; done

clean:
	rm -rf _build
