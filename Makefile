# Targets behind the README's two commands (`make book`, `make test`), plus
# `make execute` (re-run every chapter, store outputs), `make serve`, `make timings`
# and `make variants` (nbval under other TensorFlow numerics settings).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHAPTERS := $(sort $(wildcard chapters/*.ipynb))

# nbval over every chapter (pyproject.toml adds --nbval and the sanitizer); with the
# hygiene tests, so that tests/conftest.py is loaded and prints its timing report. The
# time-budget test is left out here: `make test` runs it in its serial pytest, on the
# seconds this one wrote to NBVAL_TIMES; the variants have no budget.
NBVAL := $(BIN)/python -m pytest -p no:cacheprovider chapters tests/test_notebooks.py -k "not budget" $(XDIST)
# nbval on both cores: pytest-xdist, one chapter per worker at a time (each chapter's
# cells run in order in one kernel). NBVAL_TIMES carries nbval's per-chapter seconds
# from the nbval pytest of `make test` to the serial one (its time-budget test).
XDIST := -n 2 --dist loadfile
NBVAL_TIMES := _build/.nbval-durations.json

.PHONY: venv book test execute serve timings benchmark browser clean \
	variants variant-onednn-off variant-one-thread

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

# Debian's chromium for the browser tests: found, or installed with apt-get when root.
browser:
	@$(PYTHON) tools/browser.py ensure

# The whole suite in two pytest runs (make fails if either fails): nbval over every
# chapter on both cores, then, serially, unit tests, notebook hygiene, the book build
# (-W --nitpick), the site in headless Chromium, actionlint, the breakage checks and
# the nbval time budget; each prints a timing report.
# On CI (CI=true) the variants follow (about 2 minutes each): no GPU runner is at
# hand there, and they are what stands in for one. Locally run them with `make variants`.
test: $(STAMP) browser
	mkdir -p _build && rm -f $(NBVAL_TIMES); status=0; \
	BOOK_NBVAL_DURATIONS=$(NBVAL_TIMES) $(NBVAL) || status=1; \
	BOOK_NBVAL_DURATIONS=$(NBVAL_TIMES) $(BIN)/python -m pytest tests -k "budget or not test_notebooks.py" \
	  || status=1; \
	exit $$status
ifeq ($(CI),true)
	$(MAKE) --no-print-directory variants
endif

# Stand-ins for another device, which changes the numerics path: the stored outputs
# must survive TensorFlow's oneDNN optimisations switched off, and a single thread.
variants: variant-onednn-off variant-one-thread

variant-onednn-off: $(STAMP)
	TF_ENABLE_ONEDNN_OPTS=0 $(NBVAL)

variant-one-thread: $(STAMP)
	TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1 $(NBVAL)

execute: $(STAMP)
	$(BIN)/python tools/execute.py $(CHAPTERS)

timings: $(STAMP)
	$(BIN)/python tools/execute.py --timings-only $(CHAPTERS)

# The padding-cost benchmark (a few minutes on CPU): rewrites benchmarks/results/padding_cost_cpu.json.
benchmark: $(STAMP)
	$(BIN)/python benchmarks/padding_cost.py

serve: book
	$(BIN)/python -m http.server --directory _build/html 8000

clean:
	rm -rf _build
