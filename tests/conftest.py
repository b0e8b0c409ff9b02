"""Shared fixtures: graded batches of built submissions.

`autograder` is the installed (editable) package; tests/ and examples/ import from the
repo root, which pytest puts on sys.path (pyproject.toml: pythonpath).
"""

from __future__ import annotations

from pathlib import Path

# pytester: the unit tests of GradingPlugin run an inner pytest session over fake graders.
pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
# The autograded points examples/submissions/typical_mistakes.ipynb earns (of 4): the local
# grade (test_grader) says so, and every other route (rootless, Gradescope) must agree.
TYPICAL_MISTAKES_AUTO = 2.875
