"""report.student_files: OUT/results/<student>.json and the instructor's log."""

from __future__ import annotations

import json
from pathlib import Path

from autograder.grade.outcome import SubmissionResult, TestOutcome
from autograder.report.student_files import log_text, write_student_files
from autograder.rubric import load_rubric


def test_both_files_are_written_and_the_log_is_inert(tmp_path: Path):
    test = TestOutcome("sigmoid", "sigmoid: values", 1.0, "visible", False, "σ is wrong",
                       debug="\x1b[31mboom\r")  # fmt: skip
    r = SubmissionResult("ada", "ada\x1b]0;x\x07.ipynb", "graded", tests=[test], seconds=2.5,
                         notebook_errors=["cell 3: \x1b[2JNameError"])  # fmt: skip
    write_student_files(tmp_path, r, load_rubric())
    data = json.loads((tmp_path / "results" / "ada.json").read_text())
    assert any(t["name"] == "sigmoid: values" for t in data["tests"])
    log = (tmp_path / "logs" / "ada.txt").read_text()
    assert log == log_text(r)
    assert "seconds: 2.5" in log and "NameError" in log and "boom" in log
    assert not any(c in log for c in "\x1b\r\x07")  # nothing reaches a terminal raw
