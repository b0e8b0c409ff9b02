"""results_json.entry builds every tests[] entry: ours, and the Gradescope failure path's."""

from __future__ import annotations

from autograder.grade.outcome import SubmissionResult, TestOutcome
from autograder.integrations import gradescope
from autograder.report import results_json
from autograder.report.results_json import entry, not_graded_entry, numbered
from autograder.rubric import load_rubric

RUBRIC = load_rubric()
AUTO, MANUAL = RUBRIC.auto[0], RUBRIC.manual[0]
KEYS = {"name", "number", "score", "max_score", "status", "output", "visibility", "tags"}


def test_an_entry_has_gradescopes_fields():
    e = entry(AUTO, "a check", score=0.5, max_score=0.5, passed=True, output="Passed.")
    assert e == {
        "name": "a check", "max_score": 0.5, "score": 0.5, "status": "passed",
        "output": "Passed.", "visibility": "after_published",
        "tags": [AUTO.question, "auto", AUTO.id],
    }  # fmt: skip
    assert entry(MANUAL, "w", score=0, max_score=1, passed=False, output="")["tags"] == [
        MANUAL.question, "manual", MANUAL.id]  # fmt: skip
    assert [t["number"] for t in numbered([e, e, e])] == ["1", "2", "3"]
    assert "number" not in e  # numbered copies


def test_not_graded_entries_are_the_same_in_our_results_and_on_gradescope():
    reason = "the autograder could not run; please tell your instructor."
    ours = results_json.results_json(SubmissionResult("s", "s.ipynb", "failed", reason), RUBRIC)
    theirs = gradescope._failure(reason)
    assert theirs["tests"] == gradescope.autograded_part(ours)["tests"]
    assert len(theirs["tests"]) == len(RUBRIC.auto)
    for t, it in zip(theirs["tests"], RUBRIC.auto, strict=True):
        assert set(t) == KEYS
        assert t == {**not_graded_entry(it, reason), "number": t["number"]}
        assert (t["score"], t["max_score"], t["status"]) == (0.0, it.points, "failed")
        assert t["output"] == f"Not graded: {reason}"


def test_every_entry_of_a_graded_result():
    tests = [
        TestOutcome(AUTO.id, f"{AUTO.id}: a", 3.0, "visible", True),
        TestOutcome(AUTO.id, f"{AUTO.id}: b", 1.0, "after_published", False, "b is off."),
    ]
    result = SubmissionResult("s", "s.ipynb", "graded", tests=tests, seconds=2.5,
                              manual={MANUAL.id: MANUAL.points})  # fmt: skip
    data = results_json.results_json(result, RUBRIC)
    assert data["execution_time"] == 2.5  # Gradescope's field for the seconds grading took
    by_name = {t["name"]: t for t in data["tests"]}
    assert all(set(t) == KEYS for t in data["tests"])
    assert [t["number"] for t in data["tests"]] == [
        str(n) for n in range(1, len(data["tests"]) + 1)
    ]
    a, b = by_name[f"{AUTO.id}: a"], by_name[f"{AUTO.id}: b"]
    share = AUTO.points / 4
    assert (a["score"], a["max_score"], a["status"], a["visibility"]) == (
        3 * share, 3 * share, "passed", "visible")  # fmt: skip
    assert (b["score"], b["max_score"], b["status"], b["output"]) == (0.0, share, "failed",
                                                                      "b is off.")  # fmt: skip
    written = by_name[f"{MANUAL.question} (written): {MANUAL.title}"]
    assert (written["score"], written["status"]) == (MANUAL.points, "passed")
    # Items without tests (the other auto items) are "not graded" entries.
    others = [t for t in data["tests"] if t["name"].endswith(": not graded")]
    assert len(others) == len(RUBRIC.auto) - 1
