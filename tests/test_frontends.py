"""Notebooks as Colab, VS Code and JupyterLab save them (tests/frontends.py) go through
`grade` (with graded PDFs) and the review page in a real browser, every answer found.

Colab's answers each hold a ~300 KB pasted photo inline; VS Code's have no cell metadata
and one answer split over two cells; JupyterLab's have attachments and a duplicated cell.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.rubric import load_rubric
from tests.frontends import FRONTS, NAMES, answer_text, write
from tests.notebooks import MANUAL, REPO
from tests.test_review_browser import Tab, browser, serve  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("xelatex"), reason="no TeX: no graded PDFs"),
]
RUBRIC = load_rubric()
PICTURES = {"colab": len(MANUAL), "vscode": 0, "jupyterlab": len(MANUAL) - 1}


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fronts")
    subs = root / "subs"
    subs.mkdir()
    for front, make in FRONTS.items():
        write(make(MANUAL), subs / f"{front}.ipynb", front)
    out = root / "out"
    run = [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out)]
    done = subprocess.run(run, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "degraded" not in done.stderr, done.stderr
    return out


def _pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


def _pictures(path: Path) -> int:
    rows = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True,
                          check=True).stdout.splitlines()[2:]  # fmt: skip
    return sum(1 for r in rows if r.split()[2] == "image" and r.split()[3] == "316")


@pytest.mark.parametrize("front", FRONTS)
def test_graded_with_every_answer_in_its_pdf(graded, front):
    with open(graded / "grades.csv", newline="", encoding="utf-8") as fh:
        row = {r["student"]: r for r in csv.DictReader(fh)}[front]
    assert float(row["auto_total"]) == sum(i.points for i in RUBRIC.auto), row
    with open(graded / "pdf" / "status.csv", newline="", encoding="utf-8") as fh:
        status = {r["student"]: r for r in csv.DictReader(fh)}[front]
    assert (status["produced"], status["degraded"]) == ("yes", ""), status
    text = _pdf_text(graded / "pdf" / f"{front}.pdf")
    assert "Answers not found" not in text and "Shown as source" not in text
    for item in MANUAL:
        assert answer_text(NAMES[front], item).split(":")[0] in text, item
    assert _pictures(graded / "pdf" / f"{front}.pdf") == PICTURES[front]


@pytest.mark.parametrize("front", FRONTS)
def test_every_answer_is_on_the_review_page(graded, browser, serve, front):  # noqa: F811
    out = graded / f"review-{front}"
    shutil.copytree(graded, out, ignore=shutil.ignore_patterns("review.sqlite*", "review-*"))
    tab = Tab(browser, serve(out))
    tab.open("/")
    cells = tab.page.locator("table.items tbody tr td:nth-child(4)").all()
    unanswered = [c.inner_text() for c in cells]
    assert unanswered == ["0"] * len(MANUAL), unanswered
    for item in MANUAL:
        tab.open(f"/item/{item}/{front}")
        shown = tab.page.inner_text("#answer")
        assert f"{NAMES[front]} answers {item}" in shown, (item, shown[:300])
        assert "YOUR ANSWER HERE" not in shown and "base64" not in shown
        assert tab.page.locator(".warn").count() == 0, tab.page.inner_text(".warn")
        imgs = tab.page.locator("#answer img, figure.attached img")
        sizes = [i.evaluate("i => i.complete && i.naturalWidth") for i in imgs.all()]
        pictured = front == "colab" or (front == "jupyterlab" and item != "q2_slow")
        assert sizes == ([316] if pictured else []), item
    assert tab.external == [] and tab.dialogs == []
    state = json.loads((out / ".state" / f"{front}.json").read_text())
    assert state["result"]["student"] == front


def test_the_nbgrader_route_sees_every_answer(tmp_path):
    """Without placing: nbgrader autograde zeroes Colab's q1_forward (its graded cell still
    holds the stub; the answer is in the cell below), refuses VS Code's notebook (no
    metadata: "an old version of the nbgrader metadata format") and warns of JupyterLab's
    duplicated q2_slow. `--place-answers` first: every answer is in its graded cell."""
    from nbgrader.api import Gradebook

    from autograder import cli
    from autograder.integrations import nbgrader_course

    course = nbgrader_course.write_course(tmp_path / "course")
    p = nbgrader_course.nbgrader(course, "generate_assignment", "hw2", "--force", timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    for front, make in FRONTS.items():
        (course / "submitted" / front / "hw2").mkdir(parents=True)
        write(make(MANUAL), course / "submitted" / front / "hw2" / "hw2.ipynb", front)
    assert cli.main(["nbgrader-course", str(course), "--place-answers"]) == 0
    assert cli.main(["nbgrader-course", str(course), "--place-answers"]) == 0  # rerun: safe
    kept = course / "submitted" / "colab" / "hw2" / "hw2.ipynb.submitted"
    assert "Colab answers q1_forward" in kept.read_text()
    p = nbgrader_course.nbgrader(course, "autograde", "hw2", "--force", timeout=900)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "exists multiple times" not in p.stdout + p.stderr
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for front in FRONTS:
            nb = gb.find_submission_notebook("hw2", "hw2", front)
            pending = {g.name: g.needs_manual_grade for g in nb.grades if g.name in MANUAL}
            assert pending == dict.fromkeys(MANUAL, True), (front, pending)
    graded = json.loads((course / "autograded" / "vscode" / "hw2" / "hw2.ipynb").read_text())
    by_id = {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in graded["cells"]}
    for item in MANUAL:
        assert f"VS Code answers {item}" in "".join(by_id[item]["source"])
