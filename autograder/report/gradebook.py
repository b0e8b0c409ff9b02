"""grades.csv: one row per submission, one column per rubric item (written with csv)."""

from __future__ import annotations

from autograder.grade.outcome import SubmissionResult
from autograder.inert import csv_cell, csv_text
from autograder.rubric import Rubric


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def gradebook_csv(results: list[SubmissionResult], rubric: Rubric) -> str:
    """Columns: student, every rubric item, auto_total, manual_total, total, max, status, note,
    isolation (the level student code ran at: full, rootless, uid or none).

    Manual items and manual_total stay empty until manual grades are entered. Score
    cells are numbers; text cells (student, status, note) go through csv_cell, so
    nothing from student data is an escape sequence or a spreadsheet formula.
    """
    header = ["student", *(i.id for i in rubric.items), "auto_total", "manual_total", "total",
              "max", "status", "note", "isolation"]  # fmt: skip
    rows = []
    for r in sorted(results, key=lambda r: r.student):
        scores = r.auto_scores(rubric)
        row = [csv_cell(r.student)]
        row += [_num(scores[i.id]) if i.kind == "auto" else _num(r.manual.get(i.id))
                for i in rubric.items]  # fmt: skip
        note = r.reason or ("; ".join(r.notebook_errors[:3]) if r.notebook_errors else "")
        note = "; ".join(x for x in (note, r.note) if x)  # the row's own error first
        if r.unsafe:
            note = ("UNSAFE: not sandboxed. " + note).strip()
        row += [_num(r.auto_total(rubric)), _num(r.manual_total()), _num(r.total(rubric)),
                _num(rubric.max_points), r.status, csv_cell(note[:500]), r.isolation]  # fmt: skip
        rows.append(row)
    return csv_text(header, rows)
