"""An LMS-import CSV: the roster's ids and names with one score column per question."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from autograder.grade.outcome import SubmissionResult
from autograder.inert import csv_cell, csv_text
from autograder.rubric import Rubric


class RosterError(Exception):
    """The roster file is unreadable or lacks the student, lms_id and name columns."""


def read_roster(path: Path) -> dict[str, dict[str, str]]:
    """student id → {"lms_id", "name"} from a CSV with columns student, lms_id, name."""
    try:
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RosterError(f"{path}: cannot be read as CSV ({exc})") from None
    if not rows or not {"student", "lms_id", "name"} <= set(rows[0]):
        raise RosterError(f"{path}: needs the columns student, lms_id, name")
    roster = {}
    for line, row in enumerate(rows, start=2):
        student = row["student"].strip()
        if not student or student in roster:
            raise RosterError(f"{path}, line {line}: empty or repeated student id {student!r}")
        roster[student] = {"lms_id": row["lms_id"].strip(), "name": row["name"].strip()}
    return roster


def question_scores(result: SubmissionResult, rubric: Rubric) -> dict[str, float | None]:
    """Points per question: auto items plus entered manual items; None while manual is pending."""
    auto = result.auto_scores(rubric)
    scores: dict[str, float | None] = {}
    for q in rubric.questions:
        items = [i for i in rubric.items if i.question == q]
        if any(i.kind == "manual" and i.id not in result.manual for i in items):
            scores[q] = None
            continue
        total = sum(auto[i.id] if i.kind == "auto" else result.manual[i.id] for i in items)
        scores[q] = round(total, 6)
    return scores


def lms_csv(
    results: list[SubmissionResult], rubric: Rubric, roster: dict[str, dict[str, str]]
) -> str:
    """One row per roster student (and per submission missing from the roster, lms_id empty).

    A roster student without a submission gets 0 for every question and the note
    "no submission"; a question still pending manual grading is left empty.
    """
    rows = []
    by_student = {r.student: r for r in results}
    for student in sorted(set(roster) | set(by_student)):
        who = roster.get(student, {"lms_id": "", "name": ""})
        r = by_student.get(student)
        if r is None:
            rows.append([csv_cell(who["lms_id"]), csv_cell(who["name"]), csv_cell(student),
                         *("0" for _ in rubric.questions), "0", "no submission"])  # fmt: skip
            continue
        scores = question_scores(r, rubric)
        cells = ["" if v is None else f"{v:g}" for v in scores.values()]
        note = "" if student in roster else "not in the roster"
        if any(v is None for v in scores.values()):
            note = (note + "; " if note else "") + "manual grading pending"
        rows.append([csv_cell(who["lms_id"]), csv_cell(who["name"]), csv_cell(student), *cells,
                     f"{r.total(rubric):g}", csv_cell(note)])  # fmt: skip
    return csv_text(["lms_id", "name", "student", *rubric.questions, "total", "note"], rows)
