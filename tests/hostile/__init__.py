"""The hostile and broken submissions: one file per case, each with its expected outcome.

A case file defines ``CASE = Case(...)``. To add a case, add a file; the suite
(tests/test_hostile.py) picks it up, builds its notebook, grades it with the
others in one batch and checks the expectation plus the global guarantees.

A built notebook is the solved answer cells (from the instructor notebook), with
``overrides`` replacing answer cells by function name and ``extra`` code cells
run first, right after the imports. ``raw`` replaces the whole file instead.
``{PORT}`` in any source is replaced by the port of a listener the suite opens.

Some cases are not notebook bytes but a file-system entry: ``filename`` gives the
entry's name (any bytes; default ``<case>.ipynb``) and ``entry(path, notebook)``
creates it at ``path`` (a link, a FIFO, a device, a folder, a sparse file, an
extracted zip, …), given the bytes the case would otherwise have written. The
suite finds a case's row by the ``source:`` line of each log: the row whose source
is the entry or lies inside it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import nbformat

from autograder.rubric import load_rubric
from examples.build_examples import solutions
from tests.mutations import dependents

ALL = frozenset({"*"})


def callers(*functions: str) -> frozenset[str]:
    """Everything that calls any of ``functions``, directly or not."""
    return frozenset(set().union(*(dependents(f) - {f} for f in functions)))


@dataclass(frozen=True)
class Case:
    doc: str
    overrides: dict[str, str] = field(default_factory=dict)
    extra: tuple[str, ...] = ()
    raw: bytes | None = None
    zero: frozenset[str] = frozenset()  # functions that must score 0; ALL for every one
    hurt: frozenset[str] = frozenset()  # their callers: may lose points (they call a broken one)
    status: str = "graded"
    reason: str = ""  # must appear in the row's reason or notebook errors
    message: str = ""  # must appear in the feedback of one of its results.json tests
    filename: bytes | None = None  # the entry's name in the folder; default <case>.ipynb
    entry: Callable[[Path, bytes], None] | None = None  # makes the entry at a path

    def path(self, folder: Path, name: str) -> Path:
        return folder / os.fsdecode(self.filename or f"{name}.ipynb".encode())

    def create(self, folder: Path, name: str, port: int) -> Path:
        """Put this case into ``folder``; returns the path of its entry."""
        path = self.path(folder, name)
        if self.entry is not None:
            self.entry(path, self.build(port))
        else:
            path.write_bytes(self.build(port))
        return path

    network: bool = False  # it may reach the suite's listener (only where a level allows it)
    # Per isolation level (full, rootless, uid), fields that differ there, with the why:
    # at={"uid": {"zero": ALL, "why": "…"}}.
    at: dict[str, dict[str, Any]] = field(default_factory=dict)

    def at_level(self, level: str) -> Case:
        """This case's expectation at ``level``."""
        changes = {k: v for k, v in self.at.get(level, {}).items() if k != "why"}
        return replace(self, **changes) if changes else self

    def build(self, port: int) -> bytes:
        if self.raw is not None:
            return self.raw
        answers = solutions()
        cells = ["import math\nimport numpy as np\nimport matplotlib.pyplot as plt\n"]
        cells += [src.replace("{PORT}", str(port)) for src in self.extra]
        for fn in (i.id for i in load_rubric().auto):
            src = self.overrides.get(fn, answers[fn])
            cells.append(src.replace("{PORT}", str(port)))
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        return nbformat.writes(nb).encode()
