"""The terminal side: a progress bar while grading and a summary table at the end."""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import TextIO

from autograder.grade.outcome import SubmissionResult, TestOutcome
from autograder.inert import visible
from autograder.rubric import Rubric


class Progress:
    """``[#####.....] 12/40 alice`` on a terminal; one line per submission otherwise."""

    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.tty = stream.isatty()
        self.start = time.monotonic()

    def update(self, result: SubmissionResult) -> None:
        self.done += 1
        width = 30
        filled = width * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (width - filled)
        line = visible(f"[{bar}] {self.done}/{self.total} {result.student} ({result.status})")
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if self.done == self.total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _gist(test: TestOutcome) -> str:
    """The kind of failure, for grouping (TestOutcome.gist; the message in older results)."""
    gist = test.gist or test.message
    return gist if len(gist) <= 70 else gist[:69] + "…"


def summary_table(results: list[SubmissionResult], rubric: Rubric) -> str:
    """Per-student totals, per-item means, and failures grouped by reason.

    Every line is passed through ``visible``: notes and reasons carry student strings.
    """
    lines = []
    auto_max = sum(i.points for i in rubric.auto)
    name_w = max([len("student"), *(len(r.student) for r in results)])
    lines.append(f"{'student':<{name_w}}  {'auto':>6}  {'status':<10}  note")
    for r in sorted(results, key=lambda r: r.student):
        note = r.reason or (r.notebook_errors[0] if r.notebook_errors else "")
        note = f"{r.note}. {note}" if r.note else note
        lines.append(
            f"{r.student:<{name_w}}  {r.auto_total(rubric):>6g}  {r.status:<10}  {note[:60]}"
        )
    lines.append(f"(auto points out of {auto_max:g}; written answers are graded by hand)")
    lines.append("")
    lines.append("mean score per autograded item:")
    graded = [r for r in results if r.status == "graded"] or results
    for it in rubric.auto:
        mean = sum(r.item_score(it.id, it.points) for r in graded) / max(len(graded), 1)
        lines.append(f"  {it.id:<22} {mean:6.3f} / {it.points:g}")
    reasons = Counter()
    for r in results:
        if r.status != "graded":
            reasons[r.reason] += 1
        for t in r.tests:
            if not t.passed:
                reasons[f"{t.item}: {_gist(t)}"] += 1
    if reasons:
        lines.append("")
        lines.append("failed checks by reason:")
        for reason, n in reasons.most_common(12):
            lines.append(f"  {n:4d}  {reason}")
    return "\n".join(visible(line) for line in lines)
