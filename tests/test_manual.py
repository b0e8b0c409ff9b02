"""Manual grades (OUT/manual.csv) and the LMS export (--roster)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from autograder.grade.outcome import SubmissionResult, TestOutcome
from autograder.report.lms import lms_csv, question_scores, read_roster
from autograder.report.manual import ManualGradesError, read_manual, write_manual_template
from autograder.rubric import load_rubric
from tests.conftest import REPO

RUBRIC = load_rubric()
MANUAL = [i.id for i in RUBRIC.manual]


def _write(path, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)


def test_template_round_trip_keeps_entered_grades(tmp_path):
    path = tmp_path / "manual.csv"
    write_manual_template(path, RUBRIC, ["bob", "ann"], {"ann": {"q1_graph": 0.25}})
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["student", *MANUAL]
    assert [r[0] for r in rows[1:]] == ["ann", "bob"]
    assert read_manual(path, RUBRIC) == {"ann": {"q1_graph": 0.25}, "bob": {}}


@pytest.mark.parametrize(
    "row, message",
    [
        (["ann", "0.9"], "'0.9' is not a number from 0 to 0.25"),
        (["ann", "-1"], "is not a number"),
        (["ann", "half"], "is not a number"),
        (["ann", "nan"], "is not a number"),
        (["", "0.5"], "no student id"),
    ],
)
def test_bad_manual_grades_are_refused(tmp_path, row, message):
    path = tmp_path / "manual.csv"
    _write(path, [["student", "q1_graph"], row])
    with pytest.raises(ManualGradesError, match=message):
        read_manual(path, RUBRIC)


def test_rows_of_absent_students_are_kept_and_formula_ids_round_trip(tmp_path):
    # A student with no submission this run (a late one graded alone, a withdrawn one)
    # keeps the grades entered for them; an id like +A1 is written as '+A1 and read back.
    path = tmp_path / "manual.csv"
    write_manual_template(path, RUBRIC, ["+A1"], {"zed": {"q1_graph": 0.25}, "+A1": {}})
    rows = list(csv.reader(open(path)))
    assert [r[0] for r in rows[1:]] == ["'+A1", "zed"]
    assert read_manual(path, RUBRIC) == {"+A1": {}, "zed": {"q1_graph": 0.25}}


def test_unknown_manual_column_is_refused(tmp_path):
    path = tmp_path / "manual.csv"
    _write(path, [["student", "q9_bonus"], ["ann", "1"]])
    with pytest.raises(ManualGradesError, match="unknown column"):
        read_manual(path, RUBRIC)


def _result(student, passed, manual=None):
    tests = [TestOutcome(item=i.id, name=f"{i.id}: t", weight=1, visibility="visible",
                         passed=passed) for i in RUBRIC.auto]  # fmt: skip
    return SubmissionResult(student, f"{student}.ipynb", "graded", tests=tests,
                            manual=manual or {})  # fmt: skip


def test_question_scores_and_lms_export(tmp_path):
    full_manual = {i.id: i.points for i in RUBRIC.manual}
    done, pending = _result("ann", True, full_manual), _result("bob", False)
    assert question_scores(done, RUBRIC) == {"Q1": 3.0, "Q2": 3.0, "Q3": 4.0}
    assert question_scores(pending, RUBRIC) == {"Q1": None, "Q2": None, "Q3": 0.0}
    roster_path = tmp_path / "roster.csv"
    _write(roster_path, [["student", "lms_id", "name"], ["ann", "7", "Ann, A."], ["cy", "9", "Cy"]])
    rows = list(csv.DictReader(lms_csv([done, pending], RUBRIC, read_roster(roster_path))
                               .splitlines()))  # fmt: skip
    by = {r["student"]: r for r in rows}
    assert by["ann"] == {"lms_id": "7", "name": "Ann, A.", "student": "ann", "Q1": "3",
                         "Q2": "3", "Q3": "4", "total": "10", "note": ""}  # fmt: skip
    assert by["cy"]["note"] == "no submission" and by["cy"]["total"] == "0"
    assert by["bob"]["Q1"] == "" and "not in the roster" in by["bob"]["note"]


@pytest.mark.slow
def test_manual_grades_merge_into_every_report(tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "autograder", "grade", "examples/submissions", "--out", str(out),
           "--no-pdf"]  # fmt: skip
    first = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    rows = list(csv.reader(open(out / "manual.csv")))
    assert rows[0] == ["student", *MANUAL] and len(rows) == 4
    _write(
        out / "manual.csv", [["student", *MANUAL], ["correct", *(i.points for i in RUBRIC.manual)]]
    )
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    grades = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    manual_max = f"{sum(i.points for i in RUBRIC.manual):g}"  # Q1's graph is an auto item
    assert grades["correct"]["manual_total"] == manual_max and grades["correct"]["total"] == "10"
    assert grades["stub"]["manual_total"] == ""
    data = json.loads((out / "results" / "correct.json").read_text())
    assert data["score"] == 10
    assert all("Graded by hand" in t["output"] for t in data["tests"] if "manual" in t["tags"])
    # A bad value is refused, and the file with the instructor's grades is left as it was.
    _write(out / "manual.csv", [["student", "q1_graph"], ["correct", "5"]])
    before = (out / "manual.csv").read_bytes()
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert p.returncode == 2 and "'5' is not a number from 0 to 0.25" in p.stderr
    assert (out / "manual.csv").read_bytes() == before
