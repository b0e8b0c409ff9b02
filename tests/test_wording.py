"""The words of the reports: places named one way, no dangling colons, counts of students,
aligned columns, the real error kept in view, singular and plural."""

from __future__ import annotations

import nbformat
import pytest

from autograder.bench.review_class import make_out
from autograder.grade.outcome import KEPT_NOTE, SubmissionResult, TestOutcome
from autograder.report.pdf_worker import degraded_cells
from autograder.report.summary import STUDENTS_BY_REASON, summary_table
from autograder.review.db import Store
from autograder.rubric import load_rubric
from examples.build_examples import submission

RUBRIC = load_rubric()


def _failed(item: str, gist: str) -> TestOutcome:
    return TestOutcome(item, f"{item}: a check", 1.0, "visible", False, gist, gist=gist)


def _row(student: str, *tests: TestOutcome, auto: float | None = None, **kw) -> SubmissionResult:
    r = SubmissionResult(student, f"{student}.ipynb", "graded", tests=list(tests), **kw)
    return r


def test_summary_counts_students_not_checks_and_never_repeats_the_item():
    three = [_failed("backward", "a factor 2 is missing.") for _ in range(3)]
    own = _failed("train", "train: should return the tuple (W1, W2, losses)")
    table = summary_table([_row("ada", *three, own), _row("bob", three[0])], RUBRIC)
    reasons = table.split(f"{STUDENTS_BY_REASON}:\n", 1)[1].splitlines()
    assert "     2  backward: a factor 2 is missing." in reasons  # ada and bob, not 4 checks
    assert "     1  train: should return the tuple (W1, W2, losses)" in reasons
    assert "train: train:" not in table


def test_summary_columns_stay_aligned_on_long_scores():
    # 11 of 12 equal-weight sigmoid checks: a score with many digits (0.229167).
    tests = [TestOutcome("sigmoid", f"sigmoid: {k}", 1.0, "visible", k > 0) for k in range(12)]
    table = summary_table([_row("ada", *tests), _row("bo", *tests[1:])], RUBRIC)
    header, ada, bo = table.splitlines()[:3]
    column = header.index("status")
    assert ada.index("graded") == bo.index("graded") == column, table


def test_the_real_error_comes_before_the_kept_from_an_earlier_run_note():
    kept = _row("ada", notebook_errors=["cell 25 (sigmoid): NameError: name 'np' is not defined"],
                note=KEPT_NOTE)  # fmt: skip
    table = summary_table([kept, _row("bob")], RUBRIC)
    line = next(x for x in table.splitlines() if x.startswith("ada"))
    assert "graded*" in line and "NameError" in line and "kept from" not in line
    assert f"(* {KEPT_NOTE})" in table


def test_places_in_the_pdf_are_numbered_over_all_cells_with_the_item():
    cells = [
        {"n": 10, "kind": "markdown", "grade_id": "q1_backward", "label": "answer to Q1(c)"},
        {"n": 12, "kind": "markdown", "grade_id": ""},
        {"n": 60, "kind": "code", "grade_id": "fig_contours"},
    ]
    notes = {10: "shown as source (LaTeX error)", 12: "shown as source (LaTeX error)"}
    got = degraded_cells(cells, notes, {60: 1})  # labels: set by label_answers
    assert [label for _, label, _ in got] == [
        "cell 11 (answer to Q1(c))",
        "cell 13",
        "outputs of cell 61",
    ]


def test_one_notebook_is_one_notebook(tmp_path):
    out = make_out(tmp_path / "out", {"ann": {"q2_gradient": "mine"}})
    said: list[str] = []
    store = Store(out, RUBRIC)
    store.load(log=said.append)
    store.close()
    assert "read the written answers of 1 notebook" in said


@pytest.mark.slow
def test_a_stub_names_each_cell_by_its_number_and_item_with_no_dangling_colon(tmp_path):
    from autograder.grade.batch import grade_all
    from autograder.run.sandbox import Limits, default_runtime
    from autograder.submissions import discover

    nb = submission(solved=False)
    nbformat.write(nb, tmp_path / "stub.ipynb")
    (result,) = grade_all(discover([tmp_path]), runtime=default_runtime(), jobs=1,
                          limits=Limits(), unsafe=False)  # fmt: skip
    number = 1 + next(
        k
        for k, c in enumerate(nb.cells)
        if c.metadata.get("nbgrader", {}).get("grade_id") == "check_sigmoid"
    )
    assert f"cell {number} (check_sigmoid): NotImplementedError" in result.notebook_errors
    assert not any(e.endswith(":") or e.endswith(": ") for e in result.notebook_errors)
    assert not any("code cell" in e for e in result.notebook_errors)
