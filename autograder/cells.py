"""nbgrader's marks on a notebook cell: its metadata, read the one way every step reads
it, and the stubs that stand for a solution.

Cells come from the instructor notebook (``nbformat.NotebookNode``) and from student
notebooks parsed as plain JSON. A student's file is hostile data: its ``metadata`` or
``metadata.nbgrader`` may be missing or of any JSON type, so nothing here assumes a dict.
"""

from __future__ import annotations

from typing import Any

# What a solution becomes in the student notebook: nbgrader's own stubs, so a released
# notebook matches `nbgrader generate_assignment` and an untouched answer is recognised.
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"


def nbgrader_meta(cell: object) -> dict[str, Any]:
    """``cell.metadata.nbgrader`` when it is a dict (the cell's own, so edits stay in the
    notebook), else an empty dict."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbgrader if isinstance(nbgrader, dict) else {}


def grade_id(cell: object) -> str:
    """The cell's nbgrader ``grade_id``; "" when it has none or it is not a string."""
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else ""
