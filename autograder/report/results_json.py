"""One Gradescope-style results.json per student.

Top level: ``score``, ``output``, ``visibility``, ``stdout_visibility``,
``tests[]``; each test: ``name``, ``number``, ``score``, ``max_score``,
``status``, ``output``, ``visibility``, ``tags``. Each hidden grader test is
one entry: its name (the grader's docstring) starts with the student function
it grades, its max_score is its weighted share of that rubric item, and its
output is the feedback. A submission whose graders could not run gets one
entry per auto item with the reason. Written answers appear as entries
pending manual grading. Hidden test code and reference values
never appear: feedback strings are written for students by the graders.
"""

from __future__ import annotations

import json
from typing import Any

from autograder.grade.outcome import SubmissionResult
from autograder.inert import json_text
from autograder.rubric import Rubric

UNSAFE_NOTE = "WARNING: graded with --unsafe-no-sandbox; student code was not isolated."


def _fmt(x: float) -> str:
    return f"{x:g}"


def _auto_entries(result: SubmissionResult, rubric: Rubric) -> list[dict[str, Any]]:
    entries = []
    for it in rubric.auto:
        tests = [t for t in result.tests if t.item == it.id]
        total = sum(t.weight for t in tests)
        if result.status != "graded" or not tests:
            reason = result.reason or "the notebook could not be run"
            tests, total = [], 0.0
            entries.append({
                "name": f"{it.id}: not graded",
                "max_score": it.points,
                "score": 0.0,
                "status": "failed",
                "output": f"Not graded: {reason}",
                "visibility": "after_published",
                "tags": [it.question, "auto", it.id],
            })  # fmt: skip
        for t in tests:
            share = round(it.points * t.weight / total, 6)
            entries.append({
                "name": t.name,
                "max_score": share,
                "score": share if t.passed else 0.0,
                "status": "passed" if t.passed else "failed",
                "output": "Passed." if t.passed else t.message,
                "visibility": t.visibility,
                "tags": [it.question, "auto", it.id],
            })  # fmt: skip
    return entries


def _manual_output(result: SubmissionResult, item_id: str) -> str:
    """The points ("Graded by hand: 1.25"), then the applied rubric items and the comment
    entered in `review` (autograder/review/db.py)."""
    lines = [f"Graded by hand: {_fmt(result.manual[item_id])}"]
    notes = result.manual_notes.get(item_id, {})
    lines += [f"- {text}" for text in notes.get("rubric", [])]
    if notes.get("comment"):
        lines.append(f"Comment: {notes['comment']}")
    return "\n".join(lines)


def results_json(result: SubmissionResult, rubric: Rubric) -> dict[str, Any]:
    tests = _auto_entries(result, rubric)
    for it in rubric.manual:
        got = result.manual.get(it.id)
        tests.append({
            "name": f"{it.question} (written): {it.title}",
            "max_score": it.points,
            "score": got if got is not None else 0.0,
            "status": "passed" if got == it.points else "failed",
            "output": "Pending manual grading." if got is None else _manual_output(result, it.id),
            "visibility": "after_published",
            "tags": [it.question, "manual", it.id],
        })  # fmt: skip
    for n, entry in enumerate(tests, start=1):
        entry["number"] = str(n)
    output = [f"Student: {result.student}"]
    if result.status != "graded":
        output.append(f"Not graded: {result.reason}")
    if result.notebook_errors:
        output.append("Errors while running your notebook:")
        output += [f"  {e}" for e in result.notebook_errors]
    if result.unsafe:
        output.append(UNSAFE_NOTE)
    manual_pending = any(result.manual.get(i.id) is None for i in rubric.manual)
    output.append(
        f"Autograded: {_fmt(result.auto_total(rubric))} / "
        f"{_fmt(sum(i.points for i in rubric.auto))}"
        + ("; written answers pending manual grading." if manual_pending else ".")
    )
    return {
        "score": result.total(rubric),
        "output": "\n".join(output),
        "output_format": "text",
        "visibility": "after_published",
        "stdout_visibility": "hidden",
        "extra_data": {
            "status": result.status,
            "unsafe": result.unsafe,
            "isolation": result.isolation,
        },
        "tests": tests,
    }


def dumps(data: dict[str, Any]) -> str:
    return json_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)) + "\n"
