# Homework 2 autograder. The two commands a new user needs:
#   make grade   set up, then grade the bundled example submissions into out/
#   make test    set up, then run the whole test suite
SHELL := /bin/bash
PY := .venv/bin/python
# = .venv/bin/hw2, but always this checkout's code (a venv may be shared or copied)
HW2 := $(PY) -m autograder
SUBMISSIONS ?= examples/submissions
OUT ?= out
GRADE_ARGS ?=

.PHONY: all setup setup-test release grade review test test-fast lint format clean nbgrader-course otter gradescope pdf docs bench bench-ci bench-isolation

all: grade

# setup: what grading needs (TeX, the venv, the sandbox and PDF runtimes);
# setup-test: that plus chromium, the test tools and the peers (scripts/setup.sh says what).
setup: .venv/.ready
.venv/.ready: scripts/setup.sh requirements.txt requirements-sandbox.txt requirements-pdf.txt pyproject.toml autograder/review/katex.env
	@bash scripts/setup.sh grade
	@touch $@
setup-test: .venv/.ready-test
.venv/.ready-test: .venv/.ready requirements-test.txt
	@bash scripts/setup.sh test
	@touch $@

release: setup
	$(HW2) release

grade: setup
	$(HW2) grade $(SUBMISSIONS) --out $(OUT) $(GRADE_ARGS)

# Grade the written answers in the browser: prints a URL with an access token.
# make review [OUT=out] [REVIEW_ARGS="--port 8765 --host 127.0.0.1"]; --export merges without a server.
REVIEW_ARGS ?=
review: setup
	$(HW2) review $(OUT) $(REVIEW_ARGS)

test: setup-test
	$(PY) -m pytest -n 2 --dist loadfile tests

test-fast: setup-test
	$(PY) -m pytest -q tests/unit
	$(PY) -m pytest -n 2 --dist loadfile -m "not slow" --ignore=tests/unit tests

# One notebook's PDF as grading renders it, without grading: make pdf NB=path/to/hw2.ipynb [PDF=out.pdf]
# Runs without root: the PDF sandbox is then an unprivileged user namespace.
# quote = the value as one shell word, whatever it holds (spaces, quotes, $)
quote = '$(subst ','\'',$(1))'
pdf: setup
	@test -n $(call quote,$(NB)) || { echo "usage: make pdf NB=path/to/notebook.ipynb [PDF=dest.pdf]" >&2; exit 2; }
	$(HW2) pdf $(call quote,$(NB)) $(if $(PDF),$(call quote,$(PDF)))

# The pictures of README.md and docs/: page 1 of the graded PDF of the typical_mistakes example, and the
# grading page of `make review` (taken by its browser test).
docs: setup-test
	$(HW2) pdf --example-page docs/graded-page.png
	HW2_UPDATE_DOCS=1 $(PY) -m pytest -q tests/test_review_browser.py -k grade_one_answer

# Benchmarks against nbgrader and otter, side by side (hw2 bench run --help).
# They need this checkout's examples/ and tests/ (so: from its root).
BENCH_ARGS ?=
bench: setup-test
	$(HW2) bench run $(BENCH_ARGS)
	$(HW2) bench review
	$(HW2) bench cluster  # issue 22: the Dask path against --jobs 2

# Grading time per submission at each isolation level against the full level (as root).
bench-isolation: setup-test
	$(HW2) bench isolation $(BENCH_ARGS)

# The small version CI runs so the script cannot rot (about 2 minutes).
bench-ci: setup-test
	$(HW2) bench run --n 10 --otter-sample 3 --scale 10 --speed-n 4 --out out/bench-ci.json
	$(HW2) bench review --n 50 --pages 10 --out out/review-bench-ci.json

# Integrations: an nbgrader course, an otter-assign master notebook, a Gradescope zip.
DEST ?= out/nbgrader-course
OTTER_DEST ?= out/otter
nbgrader-course: setup-test
	$(HW2) nbgrader-course $(DEST) --generate

otter: setup-test
	$(HW2) otter $(OTTER_DEST) --assign

gradescope: setup
	$(HW2) gradescope out/gradescope

lint: setup-test
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

format: setup-test
	$(PY) -m ruff format . && $(PY) -m ruff check --fix .

clean:
	rm -rf $(OUT) .pytest_cache
