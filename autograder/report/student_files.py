"""The files of one graded student in OUT: results/<student>.json and logs/<student>.txt.

The results file is Gradescope's results.json format (``results_json``), for the
student. The log is for the instructor: where the notebook came from, how it ended,
how long it took, the errors its cells raised and what each failed check saw. Every
student string in it goes through ``inert.visible``, since instructors read it in a
terminal.
"""

from __future__ import annotations

from pathlib import Path

from autograder.files import write_atomic
from autograder.grade.outcome import SubmissionResult
from autograder.inert import path_text, visible
from autograder.report.results_json import dumps, results_json
from autograder.rubric import Rubric


def log_text(result: SubmissionResult) -> str:
    """The instructor's log of one submission, control characters made visible."""
    r = result
    debug = [f"{t.name}\n{t.debug}" for t in r.tests if t.debug]
    lines = [
        f"student: {r.student}",
        f"source: {path_text(r.source)}",
        f"status: {r.status}",
        f"reason: {r.reason}",
        f"note: {r.note}",
        f"seconds: {r.seconds}",
        "phases: " + " ".join(f"{k}={v}" for k, v in r.phases.items()),
        *r.notebook_errors,
        *debug,
    ]
    return visible("\n".join(lines), keep="\n") + "\n"


def write_student_files(out: Path, result: SubmissionResult, rubric: Rubric) -> None:
    """Write OUT/results/<student>.json and OUT/logs/<student>.txt, each atomically."""
    write_atomic(out / "results" / f"{result.student}.json", dumps(results_json(result, rubric)))
    write_atomic(out / "logs" / f"{result.student}.txt", log_text(result))
