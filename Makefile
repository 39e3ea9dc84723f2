# Targets behind the README's two commands (`make book`, `make test`), plus
# `make execute` (re-run every chapter, store outputs), `make serve`, `make timings`
# `make variants` (nbval under other TensorFlow numerics settings), `make backend-passes`
# (every chapter under Keras's JAX, then PyTorch backend, in .venv; run by `make test`
# locally), `make notf-pass` (every chapter under JAX with no TensorFlow installed, in
# .venv-notf; with the PyTorch pass, run by `make test` on CI), `make gpu-report` (on a GPU
# machine: probes and every chapter, reports/gpu.json), `make backends` (the same in
# separate .venv-jax/.venv-torch), `make unit`,
# `make lint` and `make upstream` (against the newest keras and tensorflow,
# keras-nightly and the oldest claimed releases).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHAPTERS := $(sort $(wildcard chapters/*.ipynb))

# nbval on both cores: pytest-xdist, one chapter per worker at a time (each chapter's
# cells run in order in one kernel). (Defined before NBVAL: `:=` expands at once.)
XDIST := -n 2 --dist loadfile
# nbval over every chapter (pyproject.toml adds --nbval and the sanitizer); with the
# hygiene tests, so that tests/conftest.py is loaded and prints its timing report
# (seconds per chapter, those over the 60 s budget marked: reported, never asserted).
NBVAL := $(BIN)/python -m pytest -p no:cacheprovider chapters tests/test_notebooks.py $(XDIST)

help: ## list every target with one line each
	@awk -F ':.*## ' '/^[a-zA-Z_-]+:.*## / {printf "  make %-22s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: help venv book test unit lint execute serve timings benchmark browser sandbox student clean \
	variants variant-combined variant-onednn-off variant-one-thread variant-xla-fast-math backends backend-passes upstream \
	notf-pass gpu-report

# `make unit`: helpers' unit tests and docstring examples, and the lint; no nbval, no book
# build, no browser, on both cores (pytest-xdist, a file per worker): 747 tests in 21 s
# on 2 cores, against 23-27 s in one process (each worker imports Keras and TensorFlow,
# about 4 s; the controller does not). An older 2-core machine took about a minute. The
# slow test files are left out by name.
UNIT_SLOW := test_notebooks test_build test_site test_checks_catch_breakage test_hygiene_catch_breakage test_wheel test_benchmark_smoke \
	test_grade test_grade_hostile test_grade_book \
	test_live_widgets test_backends test_notebook_backends test_run_elsewhere test_first_cell \
	test_layers_fast_path test_gpu_report test_notf_env test_scale \
	test_packing \
	test_attention_stacked \
	test_audit test_audit_backends test_audit_cli test_audit_exercises \
	test_kerashub test_exercises_kerashub
UNIT := $(BIN)/python -m pytest -p no:cacheprovider -o addopts="-ra" --doctest-modules $(XDIST) \
	helpers tests $(foreach t,$(UNIT_SLOW),--ignore=tests/$(t).py)

venv: $(STAMP) ## create .venv/ and install the pins (requirements.txt, then requirements-torch.txt)

$(STAMP): requirements.txt requirements-torch.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet -r requirements-torch.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

book: $(STAMP) ## build the website with warnings as errors; prints the page to open
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going --quiet
	@echo "The book is built: open $(CURDIR)/_build/html/index.html"

# Debian's chromium for the browser tests: found, or installed with apt-get when root.
browser: ## find Debian's chromium for the browser tests, or install it with apt-get when root
	@$(PYTHON) tools/browser.py ensure

# Debian's bubblewrap for the grader's sandbox (python -m helpers.grade): found, or installed
# with apt-get when root; on CI a missing one is a failure (tools/bubblewrap.py).
sandbox: ## bubblewrap for the grader's sandbox (installed with apt-get when root)
	@$(PYTHON) tools/bubblewrap.py ensure

# The whole suite in two pytest runs (make fails if either fails): nbval over every
# chapter on both cores, then, serially, unit tests, helpers' docstring examples, notebook hygiene, the book build
# (-W --nitpick), the site in headless Chromium, actionlint, the breakage checks and
# each prints a timing report (times are reported, never asserted).
# On CI the combined numerics variant follows (nbval again with oneDNN off, one thread and
# XLA's fast math: 721 cells in 3 minutes on 2 quiet cores, 2026-12-05), then the pass
# without TensorFlow (JAX, .venv-notf) and the PyTorch pass (.venv):
# the no-TensorFlow pass replaced the JAX pass in .venv there (`make backend-passes` runs that
# one locally), so CI still runs two passes, and JAX's is the one a TensorFlow-free install sees.
test: $(STAMP) browser sandbox ## the whole test suite (on CI also the variants and the other-backend passes)
	mkdir -p _build; status=0; \
	$(NBVAL) || status=1; \
	$(BIN)/python -m pytest tests helpers --ignore=tests/test_notebooks.py || status=1; \
	exit $$status
ifeq ($(CI),true)
	$(MAKE) --no-print-directory -k variant-combined notf-pass backend-pass-torch
endif

# Every chapter's code cells under KERAS_BACKEND=jax, then under =torch, with the book's
# .venv (it pins jax and the CPU build of torch): asserts kept, outputs not compared.
# One after the other: run side by side on 2 cores, chapter 10's 10,000 eager PyTorch
# training steps (about 4 minutes alone) outran the 600 s cell timeout. Each pass
# prints its table and writes _build/backends-<backend>.json; the target fails if any
# cell failed on either backend (both passes run either way).
BACKEND_PASS = KERAS_BACKEND=$(1) $(BIN)/python tools/run_elsewhere.py here --json _build/backends-$(1).json
backend-passes: $(STAMP) ## every chapter's cells under JAX, then PyTorch, in .venv (CI: notf-pass + the PyTorch one)
	mkdir -p _build; status=0; \
	$(call BACKEND_PASS,jax) || status=1; \
	$(call BACKEND_PASS,torch) || status=1; \
	exit $$status

# One of the two passes above (backend-pass-jax, backend-pass-torch).
backend-pass-%: $(STAMP)
	mkdir -p _build
	$(call BACKEND_PASS,$*)

# Every chapter's code cells under KERAS_BACKEND=jax in .venv-notf/, made (once, re-used
# while the files are unchanged) by tools/run_elsewhere.py from envs/notf.txt with the book's
# pins: Keras, JAX, keras-hub without tensorflow-text; no TensorFlow, no PyTorch. A table of
# failed cells (0 expected) and _build/notf.json; exit status 1 if a cell failed. Measured on
# the shared 2-core machine while it was busy (load average 17-28, so an upper bound): the
# install from the public index alone 225 s (897 MB), the 20 chapters 2892 s (chapter 15
# alone 735 s); the JAX pass in .venv it replaces on CI took 288 s on a quiet CI machine.
notf-pass: ## every chapter's cells with Keras + JAX and no TensorFlow (.venv-notf; make test on CI)
	mkdir -p _build
	$(PYTHON) tools/run_elsewhere.py notf --json _build/notf.json

# On a machine with an NVIDIA GPU (tools/gpu_report.py): the recurrent-layer probe (masked
# vs unmasked LSTM/GRU training step), the fast-path probe and the attention probe
# (dot_product_attention with a padding mask, flash on and off, bfloat16), then every chapter
# under JAX and PyTorch, each in a fresh process: reports/gpu.json with the device, versions
# and date. GPU_PYTHON is a Python with CUDA builds of jax and torch (TensorFlow not needed);
# .github/workflows/gpu.yml runs it. On an H200: the probes 212 s, the chapters 2-3 minutes
# per backend, 8 at a time.
GPU_PYTHON ?= $(PYTHON)
gpu-report: ## on a GPU machine: probes and every chapter under JAX and PyTorch, reports/gpu.json
	$(GPU_PYTHON) tools/gpu_report.py

# Stand-ins for another device, which changes the numerics path: the stored outputs
# must survive TensorFlow's oneDNN optimisations switched off, a single thread, and
# XLA's fast-math CPU code (the first two leave XLA-compiled training as it is; another
# processor does not: chapter 10's training drifted between two CPUs).
variants: variant-onednn-off variant-one-thread variant-xla-fast-math ## nbval under the three numerics variants below, one by one

# The three at once, in one nbval run: what CI runs (a third of the time; an output that
# survives all three changes together is what a GPU or another CPU needs).
variant-combined: $(STAMP) ## nbval with oneDNN off, one thread and XLA's fast math together (CI)
	TF_ENABLE_ONEDNN_OPTS=0 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1 \
	  XLA_FLAGS=--xla_cpu_enable_fast_math=true $(NBVAL)

variant-onednn-off: $(STAMP) ## nbval with TensorFlow's oneDNN optimisations off
	TF_ENABLE_ONEDNN_OPTS=0 $(NBVAL)

variant-one-thread: $(STAMP) ## nbval on one thread
	TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1 $(NBVAL)

variant-xla-fast-math: $(STAMP) ## nbval with XLA's fast-math CPU code
	XLA_FLAGS=--xla_cpu_enable_fast_math=true $(NBVAL)

unit: $(STAMP) ## helpers' unit tests, docstring examples and ruff, on both cores (no nbval, book or browser)
	$(UNIT)

# ruff over the repository's .py files (configuration in pyproject.toml); tests/test_lint.py
# runs the same check inside `make test`.
lint: $(STAMP) ## ruff check . (rules in pyproject.toml)
	$(BIN)/ruff check .

# The student edition: student/NN_name.ipynb, each chapter with exercises minus its
# solutions (tools/student.py); committed, and tests/test_student.py checks it is current.
student: $(STAMP) ## write student/, the chapters without their solutions
	$(BIN)/python tools/student.py

# Every chapter's code cells under KERAS_BACKEND=jax and =torch, each in its own venv
# (.venv-jax/, .venv-torch/ from envs/*.txt and the pins): a table, reports/backends.json,
# exit status 1 if any cell failed. Outputs are not compared (see README.md).
backends: ## every chapter's cells under JAX and PyTorch, each in a venv of its own
	$(PYTHON) tools/run_elsewhere.py backends

# The same against the newest keras + tensorflow, keras-nightly, and the oldest releases
# pyproject.toml claims (.venv-latest/, .venv-nightly/, .venv-oldest/): reports/upstream.{json,md}.
upstream: ## every chapter's cells against the newest and oldest Keras releases and keras-nightly
	$(PYTHON) tools/run_elsewhere.py upstream --oldest

execute: $(STAMP) ## re-run every chapter in a fresh kernel and store its outputs
	$(BIN)/python tools/execute.py $(CHAPTERS)

timings: $(STAMP) ## run every chapter and report its execution time, storing nothing
	$(BIN)/python tools/execute.py --timings-only $(CHAPTERS)

# The padding-cost benchmark, packing included (6 minutes on 2 quiet cores, 2026-12-04; run it on a quiet
# machine: it records the load average): rewrites benchmarks/results/padding_cost_cpu.json; then
# re-execute chapters 18 and 19, which print its figures (benchmarks/README.md).
benchmark: $(STAMP) ## the padding-cost benchmark: rewrites benchmarks/results/
	$(BIN)/python benchmarks/padding_cost.py

serve: book ## build the site and serve it on http://localhost:8000
	$(BIN)/python -m http.server --directory _build/html 8000

clean: ## remove _build/
	rm -rf _build
