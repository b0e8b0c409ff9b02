"""autograder.cells and autograder.reference: the one way to read a cell's nbgrader
marks, and the one loader of the reference solution."""

from __future__ import annotations

import nbformat
import pytest

from autograder import INSTRUCTOR_NB, REFERENCE_PY
from autograder.cells import grade_id, nbgrader_meta
from autograder.reference import load_reference


@pytest.mark.parametrize(
    "cell",
    [
        {},
        {"metadata": None},
        {"metadata": ["nbgrader"]},
        {"metadata": {}},
        {"metadata": {"nbgrader": "grade_id"}},
        {"metadata": {"nbgrader": ["grade_id", "sigmoid"]}},
        {"metadata": {"nbgrader": {"grade_id": 7}}},
        {"metadata": {"nbgrader": {"grade_id": {"$ne": ""}}}},
        "not a cell",
        None,
    ],
)
def test_a_student_cell_of_any_shape_has_no_grade_id(cell):
    assert grade_id(cell) == ""
    assert isinstance(nbgrader_meta(cell), dict)


def test_the_metadata_is_the_cells_own_so_edits_stay():
    cell = nbformat.v4.new_code_cell("", metadata={"nbgrader": {"grade_id": "sigmoid"}})
    assert grade_id(cell) == "sigmoid"
    nbgrader_meta(cell)["points"] = 2
    assert cell.metadata.nbgrader == {"grade_id": "sigmoid", "points": 2}


def test_the_instructor_notebook_is_read_by_grade_id():
    nb = nbformat.read(INSTRUCTOR_NB, as_version=4)
    ids = [gid for c in nb.cells if (gid := grade_id(c))]
    assert "sigmoid" in ids and "check_sigmoid" in ids and len(ids) == len(set(ids))


def test_the_reference_loads_fresh_from_its_one_path():
    first, second = load_reference(), load_reference()
    assert first is not second
    assert first.__file__ == str(REFERENCE_PY)
    assert callable(first.backward)


def test_a_missing_reference_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_reference(tmp_path / "hw2.py")
