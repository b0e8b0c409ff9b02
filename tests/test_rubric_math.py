"""Rubric texts and comments reach students typeset (PDF) or in Unicode (results.json), never
as raw LaTeX; only known math commands are ever passed to LaTeX."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest

from autograder.grade.outcome import SubmissionResult
from autograder.grade.outcome import TestOutcome as Check
from autograder.report.mathtext import md_with_math, safe_math, to_unicode
from autograder.report.results_json import results_json
from autograder.review.render import model_answers
from autograder.rubric import load_rubric
from examples.build_examples import submission

RUBRIC = load_rubric()
BACKWARD = "$\\partial L/\\partial \\hat y = 2(\\hat y - y)$. (+0.25)"
SEEDED = [t for m in model_answers().values() for _, t in m.rubric_items]


def _result(tmp_path: Path | None = None) -> SubmissionResult:
    source = ""
    if tmp_path is not None:
        source = str(tmp_path / "ann.ipynb")
        nbformat.write(submission(), source)
    r = SubmissionResult("ann", source, "graded", "", tests=[
        Check("sigmoid", "sigmoid: values", 1, "after_published", True)])  # fmt: skip
    r.manual = {"q1_backward": 0.25}
    r.manual_notes = {"q1_backward": {"rubric": [BACKWARD], "comment": "see $W_2^\\top \\delta$"}}
    return r


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        (BACKWARD, "∂L/∂ŷ = 2(ŷ − y). (+0.25)"),
        ("$\\rho_1 = 1-\\eta a$, $\\rho_2 = 1-\\eta b$", "ρ₁ = 1−ηa, ρ₂ = 1−ηb"),
        ("combined: $0 < \\eta < 2/\\max(a,b)$", "combined: 0 < η < 2/max(a,b)"),
        ("$\\frac{\\partial L}{\\partial W_1} = \\delta u^\\top$", "∂L/∂W₁ = δuᵀ"),
        ("costs $20 and $30", "costs $20 and $30"),  # dollars, not math (pandoc's rule)
    ],
)
def test_math_is_written_in_unicode(tex, text):
    assert to_unicode(tex) == text


def test_every_seeded_rubric_text_loses_its_latex():
    assert any("$" in t for t in SEEDED)
    for text in SEEDED:
        plain = to_unicode(text)
        assert "\\" not in plain and "$" not in plain, (text, plain)
        assert all(safe_math(tex) for kind, tex in _math(text)), text


def _math(text: str):
    from autograder.report.mathtext import segments

    return [(k, t) for k, t in segments(text) if k == "math"]


@pytest.mark.parametrize(
    "tex",
    ["\\input{/etc/passwd}", "^^5cinput{x}", "a % b", "\\def\\x{1}", "x}{", "\\csname x\\endcsname",
     "a \\write18{ls}", "a # b", "a & b"],
)  # fmt: skip
def test_only_known_math_reaches_latex(tex):
    assert not safe_math(tex)
    md = md_with_math(f"before ${tex}$ after")
    assert f"${tex}$" not in md and md.startswith("before \\$")


def test_results_json_carries_rubric_texts_and_comments_without_latex():
    test = next(t for t in results_json(_result(), RUBRIC)["tests"] if "q1_backward" in t["tags"])
    assert test["output"].splitlines() == [
        "Graded by hand: 0.25",
        "- ∂L/∂ŷ = 2(ŷ − y). (+0.25)",
        "Comment: see W₂ᵀδ",
    ]


@pytest.mark.slow
def test_the_graded_pdfs_score_page_typesets_rubric_math(tmp_path):
    from autograder.report import pdf

    outcome = pdf.render_graded_pdf(_result(tmp_path), RUBRIC, tmp_path / "ann.ipynb",
                                    tmp_path / "ann.pdf")  # fmt: skip
    assert outcome.produced and not outcome.degraded, outcome.reason
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "3", str(outcome.path), "-"],
                          capture_output=True, check=True, text=True).stdout  # fmt: skip
    start = text.index("rubric items and comments")
    page = text[start : text.index("Score page, made by the autograder", start)]  # its footer
    assert "\\partial" not in page and "$" not in page and "\\hat" not in page, page[:600]
    assert "∂L/∂" in page and "(+0.25)" in page and "Comment: see W2" in page, page[:600]
