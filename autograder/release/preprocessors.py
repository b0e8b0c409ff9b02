"""nbconvert preprocessors that turn the instructor notebook into the student notebook.

Each one does a single job, nbgrader style, so the pipeline in `release()` reads like
the list of guarantees the student notebook gets. `ClearSolutions` reproduces
nbgrader 0.9.6's `ClearSolutions` output exactly (the tests compare the two), so the
notebook stays interchangeable with `nbgrader generate_assignment`.
"""

from __future__ import annotations

import re
from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode

from autograder.cells import CODE_STUB, TEXT_STUB, nbgrader_meta

BEGIN_SOLUTION = "BEGIN SOLUTION"
END_SOLUTION = "END SOLUTION"
# Markers that mean instructor-only content; none may reach a student.
FORBIDDEN_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
# Cell metadata that records a run or a UI state, not the assignment: it would make the
# student notebook depend on who last executed the source.
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")


class ReleaseError(Exception):
    """The source notebook cannot be released safely (it would leak or is malformed)."""


class ClearSolutions(Preprocessor):
    """Replace `# BEGIN SOLUTION` … `# END SOLUTION` regions by the code stub, and the
    whole source of a solution cell without a region by the stub (markdown answers become
    `YOUR ANSWER HERE`)."""

    def _replace_regions(self, cell: NotebookNode) -> bool:
        stub = (CODE_STUB if cell.cell_type == "code" else TEXT_STUB).split("\n")
        out: list[str] = []
        in_solution = replaced = False
        for line in cell.source.split("\n"):
            if BEGIN_SOLUTION in line:
                if in_solution:
                    raise ReleaseError(f"nested {BEGIN_SOLUTION} in cell {cell.get('id')}")
                in_solution = replaced = True
                # The stub takes the marker's indentation, so it stays inside the def.
                indent = re.match(r"\s*", line).group(0)
                out.extend(indent + s for s in stub)
            elif END_SOLUTION in line:
                in_solution = False
            elif not in_solution:
                out.append(line)
        if in_solution:
            raise ReleaseError(f"{BEGIN_SOLUTION} without {END_SOLUTION} in cell {cell.get('id')}")
        cell.source = "\n".join(out)
        return replaced

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        replaced = self._replace_regions(cell)
        is_solution = bool(nbgrader_meta(cell).get("solution", False))
        if replaced and not is_solution:
            # Graders find answers by grade_id; an unmarked region would be ungradable.
            raise ReleaseError(f"solution region in cell {cell.get('id')}, not a solution cell")
        if is_solution and not replaced:
            cell.source = CODE_STUB if cell.cell_type == "code" else TEXT_STUB
        # Images pasted into a model answer are part of the answer too.
        if is_solution and "attachments" in cell:
            del cell["attachments"]
        return cell, resources


class ClearOutputs(Preprocessor):
    """Drop outputs and execution counts: students start from a clean notebook."""

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        return cell, resources


class LockCells(Preprocessor):
    """Mark read-only and self-check cells non-editable and non-deletable in Jupyter, and
    answer cells non-deletable, as nbgrader's LockCells does with its defaults."""

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            cell.metadata["deletable"] = False
        elif meta.get("grade") or meta.get("locked"):
            cell.metadata["deletable"] = False
            cell.metadata["editable"] = False
        return cell, resources


class NormalizeMetadata(Preprocessor):
    """Keep only metadata that describes the assignment, so releases are reproducible."""

    def preprocess(
        self, nb: NotebookNode, resources: dict[str, Any]
    ) -> tuple[NotebookNode, dict[str, Any]]:
        kept = {k: nb.metadata[k] for k in ("kernelspec", "language_info") if k in nb.metadata}
        if "language_info" in kept:
            # The Python version of whoever executed the source last is not part of it.
            kept["language_info"] = {"name": kept["language_info"].get("name", "python")}
        nb.metadata = NotebookNode(kept)
        return super().preprocess(nb, resources)

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        return cell, resources


class CheckNoMarkers(Preprocessor):
    """Refuse to release if any instructor-only marker survived the other steps."""

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        for marker in FORBIDDEN_MARKERS:
            if marker in cell.source:
                raise ReleaseError(f"{marker!r} left in cell {cell.get('id', index)}")
        return cell, resources
