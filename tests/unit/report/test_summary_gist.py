"""summary_table groups failures by TestOutcome.gist, never by parsing the message."""

from __future__ import annotations

from autograder.grade.outcome import SubmissionResult, TestOutcome
from autograder.report.summary import STUDENTS_BY_REASON, summary_table
from autograder.rubric import load_rubric

RUBRIC = load_rubric()
FN = RUBRIC.auto[0].id


def _result(student: str, *tests: TestOutcome) -> SubmissionResult:
    return SubmissionResult(student, f"{student}.ipynb", "graded", tests=list(tests))


def _failed(message: str, gist: str) -> TestOutcome:
    return TestOutcome(FN, f"{FN}: a check", 1.0, "after_published", False, message, gist=gist)


def _reasons(table: str) -> list[str]:
    return [line.strip() for line in table.split(f"{STUDENTS_BY_REASON}:\n", 1)[1].splitlines()]


def test_failures_are_grouped_by_gist():
    a = _failed("∂L/∂W1 is wrong: a factor 2 is missing.", "a factor 2 is missing.")
    b = _failed("∂L/∂W2 is wrong: a factor 2 is missing.", "a factor 2 is missing.")
    # A message that merely contains " is wrong: " is not split: its gist is what counts.
    c = _failed("x is wrong: y is wrong: z", "x is wrong: y is wrong: z")
    table = summary_table([_result("ada", a), _result("bob", b), _result("cy", c)], RUBRIC)
    assert _reasons(table) == [
        f"2  {FN}: a factor 2 is missing.",
        f"1  {FN}: x is wrong: y is wrong: z",
    ]


def test_results_from_before_gist_fall_back_to_the_message():
    data = {**_failed("w is wrong somehow.", "").__dict__}
    old = TestOutcome(**data)
    assert _reasons(summary_table([_result("ada", old)], RUBRIC)) == [
        f"1  {FN}: w is wrong somehow."
    ]


def test_a_long_gist_is_cut_and_control_characters_never_reach_the_terminal():
    t = _failed("m", "\x1b[2J" + "g" * 100)
    (line,) = _reasons(summary_table([_result("ada", t)], RUBRIC))
    assert "\x1b" not in line and line.endswith("…") and len(line.split(": ", 1)[1]) <= 75
