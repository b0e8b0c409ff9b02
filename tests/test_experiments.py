"""Locked experiment cells (``fig_*``) are not run while grading (autograder.grade.student,
``experiment_cells``), and a student's code that needs a name only they define still
earns its marks: the notebook is run again with every cell."""

from __future__ import annotations

import csv
import subprocess
import sys

import nbformat
import pytest

from autograder.grade.student import experiment_cells
from tests.conftest import REPO
from tests.notebooks import by_grade_id, read

CORRECT = REPO / "examples" / "submissions" / "correct.ipynb"
# fig_contours defines `ratios`; each variant needs it in a different place.
IN_A_CALL = """def optimal_lr(a, b):
    assert len(ratios) == 3  # defined only by the experiment cell fig_contours
    return 2.0 / (a + b)
"""
AT_TOP_LEVEL = """_three = len(ratios)  # defined only by the experiment cell fig_contours


def optimal_lr(a, b):
    return _three * 2.0 / (3 * (a + b))
"""


def test_the_released_experiment_cells_are_known():
    figs = [c for gid, c in by_grade_id(read(CORRECT)).items() if gid.startswith("fig_")]
    assert len(figs) >= 5
    assert {c.source for c in figs} <= experiment_cells()


@pytest.mark.slow
def test_a_function_needing_an_experiment_global_keeps_its_marks(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    for name, source in (("in_a_call", IN_A_CALL), ("at_top_level", AT_TOP_LEVEL)):
        nb = read(CORRECT)
        cells = by_grade_id(nb)
        cells["optimal_lr"].source = source
        # The experiment cell comes after the answer in the notebook; a top-level use of
        # its name must come after it too, as it would for the student running it.
        if name == "at_top_level":
            nb.cells.remove(cells["optimal_lr"])
            nb.cells.insert(nb.cells.index(cells["fig_contours"]) + 1, cells["optimal_lr"])
        nbformat.write(nb, folder / f"{name}.ipynb")
    nbformat.write(read(CORRECT), folder / "correct.ipynb")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(folder), "--out", str(out),
         "--no-pdf", "--jobs", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))}
    assert rows["in_a_call"]["optimal_lr"] == rows["correct"]["optimal_lr"] != "0"
    assert rows["at_top_level"]["optimal_lr"] == rows["correct"]["optimal_lr"]
    assert rows["in_a_call"]["auto_total"] == rows["correct"]["auto_total"]
    assert rows["at_top_level"]["auto_total"] == rows["correct"]["auto_total"]
