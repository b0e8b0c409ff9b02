"""One Gradescope-style results.json per student.

Top level: ``score``, ``execution_time`` (the seconds grading the submission took),
``output``, ``visibility``, ``stdout_visibility``, ``extra_data``, ``tests[]``; each test:
``name``, ``number``, ``score``, ``max_score``, ``status``, ``output``, ``visibility``,
``tags``, all made by :func:`entry`. Each hidden grader test is
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
from autograder.report.mathtext import to_unicode
from autograder.rubric import Item, Rubric

UNSAFE_NOTE = "WARNING: graded with --unsafe-no-sandbox; student code was not isolated."


def _fmt(x: float) -> str:
    return f"{x:g}"


def entry(
    it: Item, name: str, *, score: float, max_score: float, passed: bool, output: str,
    visibility: str = "after_published",
) -> dict[str, Any]:  # fmt: skip
    """One entry of ``tests[]`` for rubric item ``it`` (its ``number`` is set by
    :func:`numbered`). Every entry, here and in autograder.integrations.gradescope, is
    made by this function."""
    return {
        "name": name,
        "max_score": max_score,
        "score": score,
        "status": "passed" if passed else "failed",
        "output": output,
        "visibility": visibility,
        "tags": [it.question, it.kind, it.id],
    }


def not_graded_entry(it: Item, reason: str) -> dict[str, Any]:
    """Item ``it`` scored 0 because the submission could not be graded, and why."""
    return entry(it, f"{it.id}: not graded", score=0.0, max_score=it.points, passed=False,
                 output=f"Not graded: {reason}")  # fmt: skip


def numbered(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``tests`` with ``number`` "1", "2", … in order."""
    return [{**t, "number": str(n)} for n, t in enumerate(tests, start=1)]


def _auto_entries(result: SubmissionResult, rubric: Rubric) -> list[dict[str, Any]]:
    entries = []
    for it in rubric.auto:
        tests = [t for t in result.tests if t.item == it.id]
        total = sum(t.weight for t in tests)
        if result.status != "graded" or not tests:
            entries.append(not_graded_entry(it, result.reason or "the notebook could not be run"))
            continue
        for t in tests:
            share = round(it.points * t.weight / total, 6)
            entries.append(
                entry(it, t.name, score=share if t.passed else 0.0, max_score=share,
                      passed=t.passed, output="Passed." if t.passed else t.message,
                      visibility=t.visibility)
            )  # fmt: skip
    return entries


def _manual_output(result: SubmissionResult, item_id: str) -> str:
    """The points ("Graded by hand: 1.25"), then the applied rubric items and the comment
    entered in `review` (autograder/review/db.py)."""
    lines = [f"Graded by hand: {_fmt(result.manual[item_id])}"]
    notes = result.manual_notes.get(item_id, {})
    # Plain text on Gradescope, which typesets no TeX: the graders' math in Unicode.
    lines += [f"- {to_unicode(text)}" for text in notes.get("rubric", [])]
    if notes.get("comment"):
        lines.append(f"Comment: {to_unicode(notes['comment'])}")
    return "\n".join(lines)


def results_json(result: SubmissionResult, rubric: Rubric) -> dict[str, Any]:
    tests = _auto_entries(result, rubric)
    for it in rubric.manual:
        got = result.manual.get(it.id)
        tests.append(
            entry(it, f"{it.question} (written): {it.title}",
                  score=got if got is not None else 0.0, max_score=it.points,
                  passed=got == it.points,
                  output="Pending manual grading." if got is None
                  else _manual_output(result, it.id))
        )  # fmt: skip
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
        "execution_time": result.seconds,
        "output": "\n".join(output),
        "output_format": "text",
        "visibility": "after_published",
        "stdout_visibility": "hidden",
        "extra_data": {
            "status": result.status,
            "unsafe": result.unsafe,
            "isolation": result.isolation,
        },
        "tests": numbered(tests),
    }


def dumps(data: dict[str, Any]) -> str:
    return json_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)) + "\n"
