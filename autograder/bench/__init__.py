"""Benchmarks, run as `hw2 bench run|review|isolation|pdf` (options in autograder.cli).

They build their classes with the repository's own helpers (examples/build_examples.py,
tests/mutations.py, tests/levels.py), so they run from a checkout: `make bench` or
`python -m autograder bench …` in the repository root. Results go to bench/*.json.
"""
