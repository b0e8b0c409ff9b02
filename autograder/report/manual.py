"""Manual grades: OUT/manual.csv, a template the instructor fills in for the written answers.

`grade` writes one row per student and one column per manual rubric item. An
instructor types points into it and reruns `grade`: the points are merged into
grades.csv, results.json and the PDFs. A bad file is refused as a whole with a
message naming the cell (row, column, value), and is never overwritten, so no
entered grade is lost. Rows of students who are not in this run are grades too:
they are kept as they are.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from autograder.files import write_atomic
from autograder.inert import csv_cell, csv_text, from_csv_cell
from autograder.rubric import Rubric


class ManualGradesError(Exception):
    """manual.csv has a bad value, a repeated or empty student, or an unknown column."""


def read_manual(path: Path, rubric: Rubric) -> dict[str, dict[str, float]]:
    """student → {manual item id → points}; blank cells are "not graded yet".

    Every student row is returned, also for students with no submission in this run.
    """
    if not path.exists():
        return {}
    items = {i.id: i for i in rubric.manual}
    try:
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ManualGradesError(f"{path}: cannot be read as CSV ({exc})") from None
    if not rows:
        return {}
    unknown = [c for c in rows[0] if c not in items and c != "student"]
    if "student" not in rows[0] or unknown:
        raise ManualGradesError(
            f"{path}: unknown column(s) {', '.join(map(repr, unknown)) or ''}"
            f"{'' if 'student' in rows[0] else ' and no student column'}; "
            f"expected student, {', '.join(items)}"
        )
    grades: dict[str, dict[str, float]] = {}
    for line, row in enumerate(rows, start=2):
        student = from_csv_cell((row.get("student") or "").strip())
        if not student:
            raise ManualGradesError(f"{path}, line {line}: no student id")
        if student in grades:
            raise ManualGradesError(f"{path}, line {line}: {student!r} appears twice")
        grades[student] = {}
        for item_id, item in items.items():
            raw = (row.get(item_id) or "").strip()
            if not raw:
                continue
            try:
                value = float(raw)
            except ValueError:
                value = math.nan
            if not (0 <= value <= item.points):
                raise ManualGradesError(
                    f"{path}, line {line}, {item_id}: {raw!r} is not a number from 0 to "
                    f"{item.points:g}"
                )
            grades[student][item_id] = value
    return grades


def write_manual_template(
    path: Path, rubric: Rubric, students: list[str], grades: dict[str, dict[str, float]]
) -> None:
    """Rewrite manual.csv with a row per student, keeping every grade already entered."""
    rows = []
    for student in sorted(set(students) | set(grades)):
        entered = grades.get(student, {})
        cells = [f"{entered[i.id]:g}" if i.id in entered else "" for i in rubric.manual]
        rows.append([csv_cell(student), *cells])
    write_atomic(path, csv_text(["student", *(i.id for i in rubric.manual)], rows))
