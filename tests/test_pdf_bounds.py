"""Hostile notebooks on the PDF path (issue 10, findings 1 and 13), with the PDF stage on.

Each used to stop the class: a pandoc hang past 4.8 GiB, 383 s in pygments for one
code line, 116 s for many big outputs, 114 s and 2.6 GiB for 1.7 M markdown cells.
Now every parse runs in the PDF worker's sandbox under rlimits and a deadline, so
each gives a PDF (degraded, saying so) within a bound, and the rest of the class
gets its rows. The bounds asserted here are security bounds (the deadlines in
pdf.py), not speed claims: those live in autograder/bench/pdf_bench.py.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.grade.outcome import SubmissionResult
from autograder.report import pdf
from autograder.rubric import load_rubric
from tests.conftest import REPO
from tests.notebooks import answer

RUBRIC = load_rubric()
BOMB = "[" * 20 + "]" * 20  # pandoc's inline parser backtracks exponentially on it
# The worst a PDF may take: the notebook's deadline, then the score page's.
BOUND = pdf.PDF_DEADLINE + pdf.FALLBACK_DEADLINE + 30
pytestmark = pytest.mark.slow


def text_of(path: Path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


def render(tmp_path: Path, name: str, raw: bytes, jobs: int = 1) -> pdf.PdfOutcome:
    path = tmp_path / f"{name}.ipynb"
    path.write_bytes(raw)
    result = SubmissionResult(name, str(path), "graded", "", tests=[])
    t0 = time.monotonic()
    [outcome] = pdf.render_graded_pdfs([result], RUBRIC, tmp_path / "out", jobs=jobs)
    assert time.monotonic() - t0 < BOUND, outcome
    assert outcome.produced, outcome.reason
    return outcome


def bomb_notebook() -> bytes:
    md_out = nbformat.v4.new_output("display_data", data={"text/markdown": BOMB,
                                                           "text/plain": "md"})  # fmt: skip
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Before: $\\eta = 0.1$."),
        answer(BOMB, "q1_graph"),
        nbformat.v4.new_code_cell("show()", outputs=[md_out]),
        nbformat.v4.new_markdown_cell("After the bomb."),
    ])  # fmt: skip
    return nbformat.writes(nb).encode()


def test_pandoc_bomb_degrades_its_cell_only(tmp_path):
    outcome = render(tmp_path, "bomb", bomb_notebook())
    assert "answer to Q1(a)" in outcome.degraded and "pandoc" in outcome.degraded
    text = text_of(outcome.path)
    assert "After the bomb." in text and "Before: η = 0.1." in text.replace("η =", "η =")
    assert BOMB in text.replace(" ", "")  # shown as source


def test_a_worker_past_its_deadline_is_killed_and_the_score_page_remains(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "PDF_DEADLINE", 3.0)  # less than pandoc's own timeout
    outcome = render(tmp_path, "slow", bomb_notebook())
    assert outcome.degraded == "notebook omitted: only the score page"
    assert "within the PDF limits" in outcome.reason or "longer than" in outcome.reason
    assert "Scores" in text_of(outcome.path)


def test_ten_megabyte_code_line_is_cut(tmp_path):
    line = "x = [" + "1, " * ((10 << 20) // 3) + "]"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(line)])
    outcome = render(tmp_path, "longline", nbformat.writes(nb).encode())
    assert outcome.degraded == ""
    assert "cut for the PDF" in text_of(outcome.path)


def test_thousands_of_big_outputs_are_capped(tmp_path):
    outs = [nbformat.v4.new_output("stream", name="stdout", text="y" * 20_000)] * 4400
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("spam()", outputs=outs)])
    outcome = render(tmp_path, "outputs", nbformat.writes(nb).encode())
    text = text_of(outcome.path)
    assert "further outputs omitted from the PDF" in text
    info = subprocess.run(["pdfinfo", str(outcome.path)], capture_output=True, text=True).stdout
    assert int(info.split("Pages:")[1].split()[0]) < 80


def test_millions_of_markdown_cells(tmp_path):
    cell = {"cell_type": "markdown", "metadata": {}, "source": "a"}
    raw = json.dumps({"cells": [cell] * 1_700_000, "metadata": {}, "nbformat": 4,
                      "nbformat_minor": 5}).encode()  # fmt: skip
    outcome = render(tmp_path, "cells", raw)
    if outcome.degraded:  # the worker's memory cap may be what stops it: then it says so
        assert outcome.degraded == "score page only" and "memory" in outcome.reason
    else:
        assert "more cells omitted from the PDF" in text_of(outcome.path)


def test_grade_with_pdfs_survives_the_bomb(tmp_path):
    """`grade` with the PDF stage on: the bomb and a correct notebook both get their rows."""
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "bomber.ipynb").write_bytes(bomb_notebook())
    (subs / "correct.ipynb").write_bytes((REPO / "examples/submissions/correct.ipynb").read_bytes())
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out),
           "--jobs", "2"]  # fmt: skip
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    grades = {r["student"] for r in csv.DictReader(open(out / "grades.csv"))}
    assert grades == {"bomber", "correct"}
    status = {r["student"]: r for r in csv.DictReader(open(out / "pdf" / "status.csv"))}
    assert status["correct"]["produced"] == "yes" and status["correct"]["degraded"] == ""
    assert status["bomber"]["produced"] == "yes"
    assert "answer to Q1(a)" in status["bomber"]["degraded"]
