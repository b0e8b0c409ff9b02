# Homework 2 autograder. The two commands a new user needs:
#   make grade   set up, then grade the bundled example submissions into out/
#   make test    set up, then run the whole test suite
SHELL := /bin/bash
PY := .venv/bin/python
SUBMISSIONS ?= examples/submissions
OUT ?= out
GRADE_ARGS ?=

.PHONY: all setup release grade test test-fast lint format clean nbgrader-course otter gradescope pdf docs bench bench-ci bench-isolation

all: grade

setup: .venv/.ready
.venv/.ready: scripts/setup.sh requirements.txt requirements-sandbox.txt
	@bash scripts/setup.sh
	@touch $@

release: setup
	$(PY) -m autograder release

grade: setup
	$(PY) -m autograder grade $(SUBMISSIONS) --out $(OUT) $(GRADE_ARGS)

test: setup
	$(PY) -m pytest -n 2 --dist loadfile tests

test-fast: setup
	$(PY) -m pytest -n 2 --dist loadfile -m "not slow" tests

# A student's own PDF export (no grading): make pdf NB=path/to/hw2.ipynb [PDF=out.pdf]
pdf: setup
	@test -n "$(NB)" || { echo "usage: make pdf NB=path/to/notebook.ipynb [PDF=dest.pdf]" >&2; exit 2; }
	$(PY) -m autograder.report.pdf $(NB) $(PDF)

# The README's picture: page 1 of the graded PDF of the typical_mistakes example.
docs: setup
	$(PY) -m autograder.report.pdf --example-page docs/graded-page.png

# Benchmarks against nbgrader and otter, side by side (bench/run_bench.py --help).
BENCH_ARGS ?=
bench: setup
	$(PY) bench/run_bench.py $(BENCH_ARGS)

# Grading time per submission at each isolation level against the full level (as root).
bench-isolation: setup
	$(PY) bench/isolation_bench.py $(BENCH_ARGS)

# The small version CI runs so the script cannot rot (about 2 minutes).
bench-ci: setup
	$(PY) bench/run_bench.py --n 10 --otter-sample 3 --scale 10 --out out/bench-ci.json

# Integrations: an nbgrader course, an otter-assign master notebook, a Gradescope zip.
DEST ?= out/nbgrader-course
OTTER_DEST ?= out/otter
nbgrader-course: setup
	$(PY) -m autograder.integrations.nbgrader_course $(DEST) --generate

otter: setup
	$(PY) -m autograder.integrations.otter_assign $(OTTER_DEST) --assign

gradescope: setup
	$(PY) -m autograder.integrations.gradescope out/gradescope

lint: setup
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff format . && $(PY) -m ruff check --fix .

clean:
	rm -rf $(OUT) .pytest_cache
