"""Shared helpers for the notebook tests: paths, the rubric, cell lookup, execution."""

from __future__ import annotations

import ast
import time
import tomllib
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

REPO = Path(__file__).resolve().parents[1]

# The tests name the repo's files and read cells as the package does (re-exported).
from autograder import INSTRUCTOR_NB, STUDENT_NB  # noqa: E402, F401
from autograder.cells import grade_id  # noqa: E402
from autograder.cells import nbgrader_meta as nbgrader  # noqa: E402, F401
from autograder.reference import load_reference  # noqa: E402, F401

RUBRIC = tomllib.loads((REPO / "autograder" / "rubric.toml").read_text(encoding="utf-8"))
ITEMS = {item["id"]: item for item in RUBRIC["item"]}
FUNCTIONS = [i for i, item in ITEMS.items() if item["kind"] == "auto"]
MANUAL = [i for i, item in ITEMS.items() if item["kind"] == "manual"]
HEADINGS = (
    "## Question 1: Backpropagation",
    "## Question 2: Gradient descent on a quadratic",
    "## Question 3: The notebook",
)


def read(path: Path) -> NotebookNode:
    return nbformat.read(path, as_version=4)


def by_grade_id(nb: NotebookNode) -> dict[str, NotebookNode]:
    return {gid: c for c in nb.cells if (gid := grade_id(c))}


def solution_bodies(nb: NotebookNode) -> dict[str, list[str]]:
    """grade_id → the lines between `# BEGIN SOLUTION` and `# END SOLUTION`."""
    bodies: dict[str, list[str]] = {}
    for gid, cell in by_grade_id(nb).items():
        inside, lines = False, []
        for line in cell.source.split("\n"):
            if "END SOLUTION" in line:
                inside = False
            if inside:
                lines.append(line)
            if "BEGIN SOLUTION" in line:
                inside = True
        if lines:
            bodies[gid] = lines
    return bodies


def solution_namespace(nb: NotebookNode) -> dict[str, Any]:
    """Run the imports cell and every answer cell: the notebook's own functions."""
    cells = by_grade_id(nb)
    ns: dict[str, Any] = {}
    exec(compile(cells["imports"].source, "imports", "exec"), ns)
    for fn in FUNCTIONS:
        exec(compile(cells[fn].source, fn, "exec"), ns)
    return ns


def top_level_defs(source: str) -> list[ast.stmt]:
    return list(ast.parse(source).body)


def execute(
    nb: NotebookNode, cwd: Path, allow_errors: bool = False, timeout: int = 120
) -> tuple[NotebookNode, float]:
    """Execute in a fresh python3 kernel (nbclient); returns the notebook and wall time."""
    from nbclient import NotebookClient

    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=timeout,
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
    )
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def outputs(nb: NotebookNode, output_type: str) -> list[tuple[str, NotebookNode]]:
    return [
        (cell.get("id", ""), out)
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.output_type == output_type
    ]


def answer(source: str, grade_id: str) -> NotebookNode:
    """A written-answer markdown cell with nbgrader metadata (manual grade, ``grade_id``)."""
    meta = {"nbgrader": {"grade": True, "solution": True, "locked": False,
                         "grade_id": grade_id, "points": 1, "schema_version": 3}}  # fmt: skip
    return nbformat.v4.new_markdown_cell(source, metadata=meta)
