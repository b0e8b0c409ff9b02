"""One Gradescope-style results.json per student.

Top level: ``score``, ``output``, ``visibility``, ``stdout_visibility``,
``tests[]``; each test: ``name``, ``number``, ``score``, ``max_score``,
``status``, ``output``, ``visibility``, ``tags``. A test here is one rubric
item: its name starts with the student function's name, its output lists the
hidden checks it passed and the feedback of those it failed. Written answers
appear as items pending manual grading. Hidden test code and reference values
never appear: feedback strings are written for students by the graders.
"""

from __future__ import annotations

import json
from typing import Any

from autograder.grade.outcome import SubmissionResult
from autograder.rubric import Rubric

UNSAFE_NOTE = "WARNING: graded with --unsafe-no-sandbox; student code was not isolated."


def _fmt(x: float) -> str:
    return f"{x:g}"


def item_output(result: SubmissionResult, item_id: str) -> str:
    lines = []
    for t in (t for t in result.tests if t.item == item_id):
        lines.append(("✓ " if t.passed else "✗ ") + t.name)
        if not t.passed and t.message:
            lines.append("    " + t.message)
    return "\n".join(lines)


def results_json(result: SubmissionResult, rubric: Rubric) -> dict[str, Any]:
    scores = result.auto_scores(rubric)
    tests = []
    for n, it in enumerate(rubric.items, start=1):
        entry: dict[str, Any] = {
            "name": f"{it.id}: {it.title}" if it.kind == "auto" else f"{it.question} {it.title}",
            "number": f"{it.question[1:]}.{n}",
            "max_score": it.points,
            "tags": [it.question, it.kind],
            "visibility": "after_published",
        }
        if it.kind == "manual":
            got = result.manual.get(it.id)
            entry["score"] = got if got is not None else 0.0
            entry["status"] = "passed" if got == it.points else "failed"
            entry["output"] = (
                "Pending manual grading." if got is None else f"Graded by hand: {_fmt(got)}"
            )
        else:
            entry["score"] = scores[it.id]
            entry["status"] = "passed" if scores[it.id] == it.points else "failed"
            entry["output"] = item_output(result, it.id) or (
                result.reason or "Not graded: the notebook could not be run."
            )
        tests.append(entry)
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
        "extra_data": {"status": result.status, "unsafe": result.unsafe},
        "tests": tests,
    }


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
