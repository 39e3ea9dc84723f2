# Targets behind the README's two commands (`make book`, `make test`), plus
# `make execute` (re-run every chapter, store outputs), `make serve` and `make timings`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHAPTERS := $(sort $(wildcard chapters/*.ipynb))

.PHONY: venv book test execute serve timings benchmark browser clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going --quiet
	@echo "The book is built: open $(CURDIR)/_build/html/index.html"

browser:
	@$(BIN)/python tools/browser.py ensure

test: $(STAMP) browser
	$(BIN)/python -m pytest

execute: $(STAMP)
	$(BIN)/python tools/execute.py $(CHAPTERS)

timings: $(STAMP)
	$(BIN)/python tools/execute.py --timings-only $(CHAPTERS)

serve: book
	$(BIN)/python -m http.server --directory _build/html 8000

clean:
	rm -rf _build
