"""Graded PDFs: score page, feedback in place, plots, hostile markdown, bounds, no toolchain."""

from __future__ import annotations

import base64
import io
import re
import secrets
import subprocess
from pathlib import Path

import nbformat
import pytest

from autograder.grade.outcome import SubmissionResult
from autograder.grade.outcome import TestOutcome as Check
from autograder.report import pdf
from autograder.rubric import load_rubric
from tests.conftest import REPO

RUBRIC = load_rubric()
EXAMPLES = REPO / "examples" / "submissions"


def text_of(path: Path) -> str:
    """The PDF's text, whitespace collapsed (pdftotext breaks lines where LaTeX did)."""
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


def squash(s: str) -> str:
    return " ".join(s.split())


def notebook(*cells, outputs=()) -> nbformat.NotebookNode:
    """A small submission: markdown strings, code strings, and raw cells given as ("raw", src)."""
    nb = nbformat.v4.new_notebook()
    for c in cells:
        if isinstance(c, tuple):
            nb.cells.append(nbformat.v4.new_raw_cell(c[1], metadata={"format": "text/latex"}))
        elif c.lstrip().startswith(("def ", "import ", "print")):
            nb.cells.append(nbformat.v4.new_code_cell(c, outputs=list(outputs)))
        else:
            nb.cells.append(nbformat.v4.new_markdown_cell(c))
    return nb


def fake_result(student: str, path: Path, status="graded", reason="") -> SubmissionResult:
    wrong = "it uses σ(Z) where σ'(Z) belongs: ∂L/∂Z = ∂L/∂u ⊙ σ'(Z), ‖ŷ − y‖² ≠ 0 ✗ $\\input{x}"
    tests = [
        Check("sigmoid", "sigmoid: values on a 4×3 array", 2, "after_published", True),
        Check("sigmoid", "sigmoid: stable at z = ±1000", 1, "after_published", False, wrong),
    ]
    return SubmissionResult(student, str(path), status, reason, tests=tests)


# -- fast: pure functions and the missing toolchain --------------------------------------------
def test_markdown_escaping_leaves_no_latex_commands():
    from nbconvert.filters import markdown2latex

    hostile = r"a_b*c $x$ \input{/etc/hostname} {unbalanced # % & ~ ^ `code` | <b>"
    latex = markdown2latex(pdf.md_text(hostile))
    assert "\\input{" not in latex  # it became \textbackslash{}input\{...\}
    assert "$" not in latex.replace("\\$", "")
    assert "textbackslash" in latex


def test_missing_toolchain_says_what_is_missing(monkeypatch, tmp_path):
    real = pdf.shutil.which
    monkeypatch.setattr(pdf.shutil, "which", lambda t: None if t == "xelatex" else real(t))
    assert pdf.pdf_toolchain_missing() == ["xelatex (Debian package texlive-xetex)"]
    nb_path = tmp_path / "s1.ipynb"
    nbformat.write(notebook("# hi"), nb_path)
    [outcome] = pdf.render_graded_pdfs([fake_result("s1", nb_path)], RUBRIC, tmp_path, jobs=2)
    assert not outcome.produced and outcome.path is None
    assert "xelatex (Debian package texlive-xetex)" in outcome.reason
    assert not (tmp_path / "pdf" / "s1.pdf").exists()


def test_huge_outputs_are_truncated_with_a_note():
    from autograder.report import pdf_worker

    lines = "".join(f"step {i}: loss 0.5\n" for i in range(10_000))
    big = "x" * (10 << 20)
    outs = [
        nbformat.v4.new_output("stream", name="stdout", text=lines),
        nbformat.v4.new_output("execute_result", data={"text/plain": big}, execution_count=1),
    ]
    raw = nbformat.writes(notebook("print(1)", outputs=outs)).encode()
    [cell] = pdf_worker.parse_notebook(raw)[0]
    stream, result = pdf_worker.bound_outputs(cell, pdf_worker.Images(), [10**9, 10**9], 0)
    for text in (stream["text"], result["data"]["text/plain"]):
        assert len(text) < pdf_worker.MAX_TEXT_CHARS + 500
        assert "truncated" in text
    assert "10,000 lines" in stream["text"]


# -- slow: real grading and real xelatex ------------------------------------------------------
@pytest.fixture(scope="module")
def typical(tmp_path_factory):
    """typical_mistakes graded by the real grader, and its graded PDF's text."""
    from autograder.grade.batch import grade_all
    from autograder.run.sandbox import Limits, default_runtime
    from autograder.submissions import discover

    subs = discover([EXAMPLES / "typical_mistakes.ipynb"])
    [result] = grade_all(subs, runtime=default_runtime(), jobs=1, limits=Limits(), unsafe=False)
    dest = tmp_path_factory.mktemp("typical") / "typical_mistakes.pdf"
    outcome = pdf.render_graded_pdf(result, RUBRIC, subs[0].path, dest)
    assert outcome.produced, outcome.reason
    return result, outcome, text_of(dest)


@pytest.mark.slow
def test_graded_pdf_has_score_page_and_feedback(typical):
    result, outcome, text = typical
    assert outcome.degraded == "" and outcome.reason == ""
    assert "Student: typical_mistakes" in text
    assert f"Total: {result.total(RUBRIC):g} / {RUBRIC.max_points:g}" in text
    for n in (1, 2, 3):
        assert f"Question {n}" in text
    assert "pending" in text
    wrong = [t for t in result.tests if not t.passed and t.item == "squared_error"]
    assert wrong, "typical_mistakes should lose points on squared_error"
    assert squash(wrong[0].message) in text
    # the feedback sits right after the cell defining the function, before the next function
    at_feedback = text.index("Autograder feedback, squared_error")
    assert text.rindex("def squared_error", 0, at_feedback) > text.rfind(
        "def forward", 0, at_feedback
    )


@pytest.mark.slow
def test_student_markdown_math_is_typeset(typical):
    _, _, text = typical
    assert "\\rho" not in text and "\\hat" not in text  # LaTeX source would mean verbatim
    assert "ρ1" in text  # $\rho_1$ typeset as math


@pytest.mark.slow
def test_plot_is_in_the_pdf(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.semilogy([1, 0.5, 0.25, 0.125])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    png = nbformat.v4.new_output(
        "display_data", data={"image/png": base64.b64encode(buf.getvalue()).decode()}
    )
    nb_path = tmp_path / "plotter.ipynb"
    nbformat.write(
        notebook("Loss with $\\eta = 0.1$:", "import numpy as np", outputs=[png]), nb_path
    )
    outcome = pdf.export_pdf(nb_path, tmp_path / "plotter.pdf")
    assert outcome.produced and outcome.degraded == "", outcome.reason
    images = subprocess.run(["pdfimages", "-list", str(outcome.path)], capture_output=True,
                            text=True, check=True).stdout.splitlines()[2:]  # fmt: skip
    assert len(images) >= 1


SECRET = secrets.token_hex(8)
SECRET_FILE = f"/tmp/hw2-pdf-secret-{SECRET}.tex"  # world-readable on the host during the test
HOSTILE = {
    "input_hostname": ["Look: \\input{/etc/hostname}"],
    "input_secret": [f"\\input{{{SECRET_FILE}}} and $\\input{{{SECRET_FILE}}}$"],
    "include": ["\\include{/etc/hostname}"],
    "openin": ["\\newread\\f \\openin\\f=/etc/hostname \\read\\f to\\x \\x"],
    "write18": [f"\\immediate\\write18{{touch /tmp/hw2-pwned-{SECRET}}} done"],
    "raw_cell": [("raw", f"\\input{{/etc/hostname}}\\input{{{SECRET_FILE}}}")],
    "unbalanced": ["Answer: $\\frac{\\partial L}{\\partial W_1 = {{{ \\left( x"],
    "dollar_soup": ["$$ $ $$ costs $5 and $$$ \\$ $a$b$ \\end{document} $"],
    "unicode_emoji": ["σ, ŷ, ∂, ‖, ², ρ, η, ≠, ×, ⊙, ✓, ✗ and emoji 🎉🔥 \u200b done: ρ2 ≈ 1"],
}  # fmt: skip


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Every hostile submission rendered by render_graded_pdfs with jobs=2."""
    folder = tmp_path_factory.mktemp("hostile")
    secret_file = Path(SECRET_FILE)
    secret_file.write_text(f"SECRET{SECRET}\n")
    secret_file.chmod(0o644)
    results = []
    for name, cells in HOSTILE.items():
        path = folder / f"{name}.ipynb"
        nbformat.write(notebook(*cells, "def sigmoid(z):\n    return z"), path)
        results.append(fake_result(name, path))
    try:
        outcomes = pdf.render_graded_pdfs(results, RUBRIC, folder / "out", jobs=2)
    finally:
        secret_file.unlink()
    return {o.student: o for o in outcomes}


@pytest.mark.slow
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_markdown_still_gets_a_pdf_without_host_files(hostile, name):
    outcome = hostile[name]
    assert outcome.produced, outcome.reason
    assert outcome.path.name == f"{name}.pdf" and outcome.path.parent.name == "pdf"
    text = text_of(outcome.path)
    assert f"Student: {name}" in text
    assert "Autograder feedback, sigmoid" in text
    assert f"SECRET{SECRET}" not in text
    hostname = Path("/etc/hostname").read_text().strip()
    assert not re.search(rf"(?<![\w-]){re.escape(hostname)}(?![\w-])", text), hostname
    assert not Path(f"/tmp/hw2-pwned-{SECRET}").exists()


@pytest.mark.slow
def test_feedback_unicode_is_rendered(hostile):
    text = text_of(hostile["unicode_emoji"].path)
    for ch in "σŷ∂‖²ρη≠×⊙✓✗":
        assert ch in text, ch
    assert "$\\input{x}" in text  # a feedback string stays literal text


@pytest.mark.slow
def test_unreadable_notebook_gets_the_score_page(tmp_path):
    bad = tmp_path / "broken.ipynb"
    bad.write_bytes(b'{"cells": [ this is not json')
    result = fake_result("broken", bad, status="unreadable", reason="the file is not valid JSON")
    outcome = pdf.render_graded_pdf(result, RUBRIC, bad, tmp_path / "broken.pdf")
    assert outcome.produced and outcome.degraded == "score page only"
    assert outcome.reason == "the file is not valid JSON"  # grading's reason: not read again
    text = text_of(outcome.path)
    assert "Student: broken" in text and "Question 3" in text
    assert "Not graded (unreadable): the file is not valid JSON" in text


@pytest.mark.slow
def test_huge_output_pdf_stays_small(tmp_path):
    outs = [nbformat.v4.new_output("stream", name="stdout", text="loss 0.5\n" * 10_000),
            nbformat.v4.new_output("stream", name="stdout", text="y" * (10 << 20))]  # fmt: skip
    nb_path = tmp_path / "chatty.ipynb"
    nbformat.write(notebook("print('loss')", outputs=outs), nb_path)
    outcome = pdf.export_pdf(nb_path, tmp_path / "chatty.pdf")
    assert outcome.produced, outcome.reason
    info = subprocess.run(["pdfinfo", str(outcome.path)], capture_output=True, text=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) <= 15
    assert "output truncated: 10,000 lines" in text_of(outcome.path)
