"""The terminal side: a progress bar while grading and a summary table at the end."""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from typing import TextIO

from autograder.grade.outcome import KEPT_NOTE, SubmissionResult, TestOutcome
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


STUDENTS_BY_REASON = "students failing a check, by reason"


def _reason(test: TestOutcome) -> str:
    """ "backward: a factor 2 is missing.": the item, unless the gist already starts with it."""
    gist = _gist(test)
    named = re.match(rf"{re.escape(test.item)}\b", gist) is not None
    return gist if named else f"{test.item}: {gist}"


def summary_table(results: list[SubmissionResult], rubric: Rubric) -> str:
    """Per-student totals, per-item means, and failures grouped by reason.

    Every line is passed through ``visible``: notes and reasons carry student strings.
    """
    lines = []
    auto_max = sum(i.points for i in rubric.auto)
    rows = sorted(results, key=lambda r: r.student)
    autos = [f"{r.auto_total(rubric):.4g}" for r in rows]  # 3.45833 → 3.458
    name_w = max([len("student"), *(len(r.student) for r in rows)])
    auto_w = max([len("auto"), *map(len, autos)])
    lines.append(f"{'student':<{name_w}}  {'auto':>{auto_w}}  {'status':<10}  note")
    kept = False
    for r, auto in zip(rows, autos, strict=True):
        # The row's own error first: a long note about the row must not push it out.
        error = r.reason or (r.notebook_errors[0] if r.notebook_errors else "")
        status = r.status + ("*" if r.note == KEPT_NOTE else "")
        kept |= r.note == KEPT_NOTE
        note = "; ".join(x for x in (error, "" if r.note == KEPT_NOTE else r.note) if x)
        lines.append(f"{r.student:<{name_w}}  {auto:>{auto_w}}  {status:<10}  {note[:60]}")
    if kept:
        lines.append(f"(* {KEPT_NOTE})")
    lines.append(f"(auto points out of {auto_max:g}; written answers are graded by hand)")
    lines.append("")
    lines.append("mean score per autograded item:")
    graded = [r for r in results if r.status == "graded"] or results
    for it in rubric.auto:
        mean = sum(r.item_score(it.id, it.points) for r in graded) / max(len(graded), 1)
        lines.append(f"  {it.id:<22} {mean:6.3f} / {it.points:g}")
    students: dict[str, set[str]] = {}  # reason → the students it applies to
    for r in results:
        if r.status != "graded":
            students.setdefault(r.reason, set()).add(r.student)
        for t in r.tests:
            if not t.passed:
                students.setdefault(_reason(t), set()).add(r.student)
    if students:
        reasons = Counter({reason: len(who) for reason, who in students.items()})
        lines.append("")
        lines.append(f"{STUDENTS_BY_REASON}:")
        for reason, n in reasons.most_common(12):
            lines.append(f"  {n:4d}  {reason}")
    return "\n".join(visible(line) for line in lines)
