"""Release: the instructor (source) notebook → the student notebook.

`release()` runs small nbconvert preprocessors in order (see preprocessors.py) and
writes the result deterministically, so the committed `assignment/hw2.ipynb` can be
checked byte for byte against a fresh release.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode

from autograder.files import write_atomic
from autograder.release.preprocessors import (
    CheckNoMarkers,
    ClearOutputs,
    ClearSolutions,
    LockCells,
    NormalizeMetadata,
    ReleaseError,
)

__all__ = ["ReleaseError", "release", "student_notebook", "to_bytes"]

# CheckNoMarkers runs last: it guards whatever the earlier steps produced.
PIPELINE: tuple[type[Preprocessor], ...] = (
    ClearSolutions,
    ClearOutputs,
    LockCells,
    NormalizeMetadata,
    CheckNoMarkers,
)


def student_notebook(source_nb: NotebookNode) -> NotebookNode:
    """Return the student version of an instructor notebook (the input is not modified)."""
    nb = nbformat.from_dict(source_nb)  # a deep copy
    resources: dict = {}
    for step in PIPELINE:
        nb, resources = step().preprocess(nb, resources)
    nbformat.validate(nb)
    return nb


def to_bytes(nb: NotebookNode) -> bytes:
    """Serialise as `nbformat.write` does (sorted keys, indent 1, trailing newline)."""
    return (nbformat.writes(nb, version=4) + "\n").encode("utf-8")


def release(source: Path, dest: Path) -> Path:
    """Write the student notebook for `source` to `dest`, atomically, and return `dest`.

    Raises ReleaseError if a solution or hidden-test marker would reach students; `dest`
    is then left as it was.
    """
    source, dest = Path(source), Path(dest)
    data = to_bytes(student_notebook(nbformat.read(source, as_version=4)))
    # Atomic: readers never see a half-written notebook, and a failed release leaves
    # no debris behind. 644: the student notebook is meant to be shared.
    write_atomic(dest, data, mode=0o644)
    return dest
