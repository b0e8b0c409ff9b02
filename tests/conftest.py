"""Shared fixtures: graded batches of built submissions.

`autograder` is the installed (editable) package; tests/ and examples/ import from the
repo root, which pytest puts on sys.path (pyproject.toml: pythonpath).
"""

from __future__ import annotations

from pathlib import Path

import pytest

# pytester: the unit tests of GradingPlugin run an inner pytest session over fake graders.
pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
# The autograded points examples/submissions/typical_mistakes.ipynb earns (of 4): the local
# grade (test_grader) says so, and every other route (rootless, Gradescope) must agree.
TYPICAL_MISTAKES_AUTO = 2.875


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    """The run's last lines, after -ra's list and before the counts: how many tests were
    skipped, by reason (as an ordinary user, those that need root; docs/setup.md).

    A wrapper called first is the outermost, so this runs after the terminal reporter's own
    summary (its short test summary comes last of its own).
    """
    from collections import Counter

    yield

    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    if reasons:
        total = sum(reasons.values())
        terminalreporter.section(f"{total} skipped, by reason", sep="-")
        for reason, n in reasons.most_common():
            terminalreporter.write_line(f"{n:4d}  {reason}")
