"""`review OUT --export`: merge the manual grades into OUT's reports without regrading.

The same merge `grade` does on a rerun, from the results `grade` cached in
OUT/.state: manual.csv (reconciled with the review database first) → grades.csv,
results/<student>.json (points, applied rubric items, comment), lms.csv when `grade`
wrote one (its roster columns are read back from it), and the graded PDFs, re-rendered
only where the manual grades or their feedback changed.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from autograder.files import write_atomic
from autograder.inert import counted, from_csv_cell
from autograder.report.gradebook import gradebook_csv
from autograder.report.lms import lms_csv
from autograder.report.manual import read_manual
from autograder.report.pdf_status import update_pdfs
from autograder.report.student_files import write_student_files
from autograder.review.db import Store, load_results, read_feedback
from autograder.rubric import Rubric, load_rubric


def _roster_from_lms(path: Path) -> dict[str, dict[str, str]]:
    """The roster `grade --roster` used, read back from the lms.csv it wrote (every cell
    through from_csv_cell: the file guards ids like -carol as '-carol)."""
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    return {
        from_csv_cell(r["student"]): {
            "lms_id": from_csv_cell(r["lms_id"] or ""),
            "name": from_csv_cell(r["name"] or ""),
        }
        for r in rows
        if r.get("student") and "not in the roster" not in (r.get("note") or "")
    }


def export(out: Path, jobs: int = 1, rubric: Rubric | None = None) -> list[str]:
    """Write grades.csv, results/*.json, lms.csv and the PDFs with the current manual grades.

    Returns the students exported. Raises db.Refused for a hand-edited manual.csv that
    cannot be imported (nothing is written then)."""
    rubric = rubric or load_rubric()
    store = Store(out, rubric)
    try:
        store.load(log=lambda m: print(f"review: {m}", file=sys.stderr))
    finally:
        store.close()
    cached = load_results(out)
    manual = read_manual(out / "manual.csv", rubric)
    notes = read_feedback(out, rubric, manual)
    results = []
    for student, (_, r) in sorted(cached.items()):
        r.manual = manual.get(student, {})
        r.manual_notes = notes.get(student, {})
        write_student_files(out, r, rubric)
        results.append(r)
    write_atomic(out / "grades.csv", gradebook_csv(results, rubric))
    if (out / "lms.csv").exists():
        write_atomic(out / "lms.csv", lms_csv(results, rubric, _roster_from_lms(out / "lms.csv")))
    if (out / "pdf").is_dir():
        keys = {s: key for s, (key, _) in cached.items()}
        update_pdfs(results, rubric, out, keys, jobs=jobs)
    print(f"review: exported the manual grades of {counted(len(results), 'student')} into {out}")
    return [r.student for r in results]
