"""The release step and the student notebook it produces."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat
import pytest
from notebooks import (
    FUNCTIONS,
    INSTRUCTOR_NB,
    MANUAL,
    STUDENT_NB,
    by_grade_id,
    execute,
    nbgrader,
    outputs,
    read,
    solution_bodies,
)

from autograder.release import ReleaseError, release, student_notebook, to_bytes

STUDENT = read(STUDENT_NB)


def test_release_is_deterministic_and_committed_copy_is_current(tmp_path: Path):
    first = release(INSTRUCTOR_NB, tmp_path / "a" / "hw2.ipynb").read_bytes()
    second = release(INSTRUCTOR_NB, tmp_path / "b" / "hw2.ipynb").read_bytes()
    assert first == second
    assert first.endswith(b"}\n")
    assert STUDENT_NB.read_bytes() == first, "assignment/hw2.ipynb is stale: run `make release`"


def test_release_ignores_outputs_and_run_metadata(tmp_path: Path):
    nb = read(INSTRUCTOR_NB)
    for n, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = n + 1
        cell.outputs = [nbformat.v4.new_output("stream", text="secret output\n")]
        cell.metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00"}
    nb.metadata["language_info"]["version"] = "3.11.9"
    nb.metadata["widgets"] = {"state": {}}
    executed = tmp_path / "executed.ipynb"
    nbformat.write(nb, executed)
    assert release(executed, tmp_path / "hw2.ipynb").read_bytes() == STUDENT_NB.read_bytes()


@pytest.mark.slow  # importing nbgrader takes seconds
def test_clear_solutions_matches_nbgrader(tmp_path: Path):
    """Our stubs are exactly what nbgrader 0.9.6's own ClearSolutions writes."""
    from nbgrader.preprocessors import ClearSolutions

    theirs, _ = ClearSolutions().preprocess(read(INSTRUCTOR_NB), {})
    ours = student_notebook(read(INSTRUCTOR_NB))
    assert [c.source for c in ours.cells] == [c.source for c in theirs.cells]


def test_student_notebook_has_no_instructor_content():
    text = STUDENT_NB.read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "Rubric", "Model answer"):
        assert marker not in text
    instructor = read(INSTRUCTOR_NB)
    sources = "\n".join(c.source for c in STUDENT.cells)
    leaked = [
        line.strip()
        for body in solution_bodies(instructor).values()
        for line in body
        if len(line.strip()) > 12 and line.strip() in sources
    ]
    assert not leaked
    for gid in MANUAL:
        instructor_text = by_grade_id(instructor)[gid].source
        assert instructor_text not in sources
    # The manual answers' text, sentence by sentence, appears nowhere either.
    for gid in MANUAL:
        for sentence in by_grade_id(instructor)[gid].source.split(". "):
            if len(sentence) > 40:
                assert sentence not in sources, sentence


def test_answer_cells_are_stubs_and_manual_cells_are_empty():
    cells = by_grade_id(STUDENT)
    for gid in MANUAL:
        assert cells[gid].source == "YOUR ANSWER HERE"
    for fn in FUNCTIONS:
        (node,) = ast.parse(cells[fn].source).body
        assert isinstance(node, ast.FunctionDef) and node.name == fn
        *doc, stmt = node.body
        assert len(doc) == 1 and ast.get_docstring(node)  # docstring + raise, nothing else
        assert ast.unparse(stmt) == "raise NotImplementedError()"
        assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in cells[fn].source


def test_student_metadata_kept_and_locks_set():
    instructor = by_grade_id(read(INSTRUCTOR_NB))
    for gid, cell in by_grade_id(STUDENT).items():
        assert nbgrader(cell) == nbgrader(instructor[gid])
        assert cell.metadata["deletable"] is False
        assert cell.metadata.get("editable", True) is (nbgrader(cell)["solution"])
    for cell in STUDENT.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_student_notebook_imports_only_numpy_matplotlib_stdlib():
    allowed = set(sys.stdlib_module_names) | {"numpy", "matplotlib"}
    found = set()
    for cell in STUDENT.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                found.add((node.module or "").split(".")[0])
    assert found and found <= allowed, found - allowed


@pytest.mark.slow
def test_nbgrader_accepts_student_metadata():
    from nbgrader.nbgraderformat import MetadataValidator
    from nbgrader.preprocessors import CheckCellMetadata

    MetadataValidator().validate_nb(STUDENT)
    CheckCellMetadata().preprocess(read(STUDENT_NB), {})


def _write(nb, path: Path) -> Path:
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize(
    ("source", "nbgrader_meta"),
    [
        ("x = 1\n# BEGIN HIDDEN TESTS\nassert x\n# END HIDDEN TESTS", None),
        ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION", None),  # region outside a solution cell
        (
            "def f():\n    # BEGIN SOLUTION\n    return 1",  # no END SOLUTION
            {"grade": False, "solution": True, "locked": False, "grade_id": "f"},
        ),
    ],
)
def test_release_refuses_leaks_and_leaves_dest_alone(tmp_path: Path, source, nbgrader_meta):
    cell = nbformat.v4.new_code_cell(source)
    if nbgrader_meta:
        cell.metadata["nbgrader"] = {**nbgrader_meta, "schema_version": 3}
    nb = nbformat.v4.new_notebook(cells=[cell])
    dest = tmp_path / "out" / "hw2.ipynb"
    dest.parent.mkdir()
    dest.write_bytes(b"old")
    with pytest.raises(ReleaseError):
        release(_write(nb, tmp_path / "src.ipynb"), dest)
    assert dest.read_bytes() == b"old"
    assert [p.name for p in dest.parent.iterdir()] == ["hw2.ipynb"]  # no temp file left


def test_to_bytes_is_nbformat_canonical():
    nb = read(STUDENT_NB)
    assert to_bytes(nb) == (nbformat.writes(nb) + "\n").encode()


@pytest.mark.slow
def test_student_notebook_runs_to_the_end_with_only_stub_errors(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb, _ = execute(read(STUDENT_NB), tmp_path, allow_errors=True)
    errors = outputs(nb, "error")
    assert errors, "the stubs should raise"
    assert {out.ename for _, out in errors} == {"NotImplementedError"}
    failing = {cell_id for cell_id, _ in errors}
    assert {"imports", "fig_graph"}.isdisjoint(failing)
    assert {f"check_{fn}" for fn in FUNCTIONS} <= failing
    assert nb.cells[-1].cell_type == "markdown"  # nothing after the last cell went unrun
    last_code = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert last_code.execution_count is not None
