"""report.pdf_status: which PDFs a run remakes, and status.csv (the renderer faked)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from autograder.grade.outcome import SubmissionResult
from autograder.report import pdf, pdf_status
from autograder.report.pdf import PdfOutcome
from autograder.rubric import load_rubric


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Record which students each call renders; write a stand-in PDF for each."""
    calls: list[list[str]] = []

    def fake(results, rubric, out, jobs, lanes=None):
        calls.append([r.student for r in results])
        outcomes = []
        for r in results:
            dest = out / "pdf" / f"{r.student}.pdf"
            if r.student.startswith("bad"):
                outcomes.append(PdfOutcome(r.student, None, False, "", "=HYPERLINK(1)", 0.1))
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(b"%PDF-1.5 stand-in")
            outcomes.append(PdfOutcome(r.student, dest, True, "", "", 0.1))
        return outcomes

    monkeypatch.setattr(pdf, "render_graded_pdfs", fake)
    return calls


def _results(*students: str) -> list[SubmissionResult]:
    return [SubmissionResult(s, f"{s}.ipynb", "graded") for s in students]


def _rows(out: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO((out / "pdf" / "status.csv").read_text())))


def test_only_changed_pdfs_are_remade(tmp_path: Path, renders: list[list[str]]):
    rubric = load_rubric()
    keys = {"ada": "k1", "bob": "k2"}
    results = _results("ada", "bob")
    assert pdf_status.update_pdfs(results, rubric, tmp_path, keys, jobs=1) == []
    assert pdf_status.update_pdfs(results, rubric, tmp_path, keys, jobs=1) == []
    results[1].manual = {"q1_forward": 0.5}  # a manual grade changes bob's score page
    pdf_status.update_pdfs(results, rubric, tmp_path, {**keys, "ada": "k1"}, jobs=1)
    pdf_status.update_pdfs(results, rubric, tmp_path, {**keys, "ada": "k3"}, jobs=1)  # regraded
    pdf_status.update_pdfs(results, rubric, tmp_path, {**keys, "ada": "k3"}, jobs=1, force=True)
    assert renders == [["ada", "bob"], ["bob"], ["ada"], ["ada", "bob"]]


def test_rows_of_others_stay_and_failures_are_returned(tmp_path: Path, renders):
    rubric = load_rubric()
    pdf_status.update_pdfs(_results("ada"), rubric, tmp_path, {"ada": "k"}, jobs=1)
    failed = pdf_status.update_pdfs(_results("bad1"), rubric, tmp_path, {"bad1": "k"}, jobs=1)
    assert failed == ["bad1"]
    rows = _rows(tmp_path)
    assert rows[0] == pdf_status.HEADER
    assert [r[:2] for r in rows[1:]] == [["ada", "yes"], ["bad1", "no"]]
    assert rows[2][3] == "'=HYPERLINK(1)"  # a reason never reaches a spreadsheet as a formula
    # A failed PDF is not "fresh": the next run tries it again.
    pdf_status.update_pdfs(_results("bad1"), rubric, tmp_path, {"bad1": "k"}, jobs=1)
    assert renders[-1] == ["bad1"]


def test_pdf_key_covers_manual_grades_and_review_notes():
    r = SubmissionResult("ada", "ada.ipynb", "graded")
    base = pdf_status.pdf_key(r, "k")
    assert pdf_status.pdf_key(r, "k2") != base
    r.manual = {"q1_forward": 0.5}
    with_grade = pdf_status.pdf_key(r, "k")
    assert with_grade != base
    r.manual_notes = {"q1_forward": {"rubric": [], "comment": "see δ"}}
    assert pdf_status.pdf_key(r, "k") != with_grade


def test_a_degraded_pdf_without_a_reason_ends_without_an_empty_colon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    def fake(results, rubric, out, jobs, lanes=None):
        dest = out / "pdf" / "erin.pdf"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(b"%PDF-1.5 stand-in")
        return [PdfOutcome("erin", dest, True, "answer to Q1(c): shown as source", "", 0.1)]

    monkeypatch.setattr(pdf, "render_graded_pdfs", fake)
    pdf_status.update_pdfs(_results("erin"), load_rubric(), tmp_path, {"erin": "k"}, jobs=1)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line == "PDF for erin: degraded (answer to Q1(c): shown as source)"
