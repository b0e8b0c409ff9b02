"""Which graded PDFs a run (re)makes, and OUT/pdf/status.csv, the record of each.

A PDF depends on three things: the notebook and its grading (both in the result's
cache key, from ``grade.cache.submission_key``) and the manual grades with their
feedback from `review`. A PDF whose inputs are unchanged since the run that made it
is kept; OUT/.state/<student>.pdf.key holds the hash of those inputs.

status.csv has a row per student (``student, produced, degraded, reason``): whether
the PDF exists, what was given up to make it (a cell shown as source, the notebook
omitted) and why. Rows of students graded by an earlier run into the same OUT stay.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from autograder.files import write_atomic
from autograder.grade.outcome import SubmissionResult
from autograder.inert import csv_cell, csv_text, from_csv_cell, visible
from autograder.rubric import Rubric

if TYPE_CHECKING:
    from autograder.report.pdf import PdfLanes, PdfOutcome

HEADER = ["student", "produced", "degraded", "reason"]


def pdf_key(result: SubmissionResult, key: str) -> str:
    """The hash of a PDF's inputs: the submission's cache ``key`` and its manual grades."""
    manual = json.dumps(result.manual, sort_keys=True)
    if result.manual_notes:  # written-answer feedback from `review`: its text is in the PDF
        manual += json.dumps(result.manual_notes, sort_keys=True)
    return hashlib.sha256(f"{key}|{manual}".encode()).hexdigest()


def read_status(path: Path) -> dict[str, list[str]]:
    """The rows of status.csv whose PDF was produced, by student ({} when there is none)."""
    try:
        rows = list(csv.reader(io.StringIO(path.read_text())))
    except OSError:
        return {}
    rows = [[from_csv_cell(c) for c in r] for r in rows[1:]]
    return {r[0]: r for r in rows if len(r) == len(HEADER) and r[1] == "yes"}


def status_csv(rows: dict[str, list[str]]) -> str:
    return csv_text(HEADER, ([csv_cell(c) for c in rows[s]] for s in sorted(rows)))


def start_lanes(jobs: int) -> PdfLanes | None:
    """PDF lanes started now, in the background, for :func:`update_pdfs` to use later
    (None when the PDF toolchain is missing: the PDF stage then says so itself)."""
    from autograder.report.pdf import PdfLanes, pdf_toolchain_missing

    return None if pdf_toolchain_missing() else PdfLanes(jobs)


def update_pdfs(
    results: list[SubmissionResult],
    rubric: Rubric,
    out: Path,
    keys: dict[str, str],
    *,
    jobs: int,
    force: bool = False,
    lanes: PdfLanes | None = None,
    render: Callable[..., list[PdfOutcome]] | None = None,
) -> list[str]:
    """Render OUT/pdf/<student>.pdf where its inputs changed (all of them with ``force``).

    ``keys`` maps each student to the cache key of its submission. Rewrites status.csv.
    Returns the students whose PDF could not be made (every notebook gets at least its
    score page, so that is the environment's fault: a missing package, a sandbox error).
    ``render`` stands in for ``render_graded_pdfs`` (a cluster's workers make them).
    """
    from autograder.report.pdf import render_graded_pdfs  # lazy: the PDF toolchain

    pdf_dir, state = out / "pdf", out / ".state"
    status_path = pdf_dir / "status.csv"
    previous = read_status(status_path)

    def fresh(r: SubmissionResult) -> bool:
        key_file = state / f"{r.student}.pdf.key"
        return (
            not force
            and r.student in previous
            and (pdf_dir / f"{r.student}.pdf").exists()
            and key_file.exists()
            and key_file.read_text() == pdf_key(r, keys[r.student])
        )

    todo = [r for r in results if not fresh(r)]
    redo = {r.student for r in todo}
    # Students outside this run, and those whose PDF is fresh, keep their rows.
    rows = {s: row for s, row in previous.items() if s not in redo}
    if todo:
        print(f"rendering {len(todo)} graded PDFs …", file=sys.stderr)
    not_made = []
    by_student = {r.student: r for r in todo}
    render = render or render_graded_pdfs
    for outcome in render(todo, rubric, out, jobs, lanes) if todo else []:
        rows[outcome.student] = [
            outcome.student,
            "yes" if outcome.produced else "no",
            outcome.degraded,
            outcome.reason,
        ]
        if outcome.produced:
            r = by_student[outcome.student]
            write_atomic(state / f"{r.student}.pdf.key", pdf_key(r, keys[r.student]))
        else:
            not_made.append(outcome.student)
        if not outcome.produced or outcome.degraded:
            what = "not produced" if not outcome.produced else f"degraded ({outcome.degraded})"
            why = f": {outcome.reason}" if outcome.reason else ""
            print(visible(f"PDF for {outcome.student}: {what}{why}"), file=sys.stderr)
    write_atomic(status_path, status_csv(rows))
    return not_made
