"""The hostile and broken submissions: one file per case, each with its expected outcome.

A case file defines ``CASE = Case(...)``. To add a case, add a file; the suite
(tests/test_hostile.py) picks it up, builds its notebook, grades it with the
others in one batch and checks the expectation plus the global guarantees.

A built notebook is the solved answer cells (from the instructor notebook), with
``overrides`` replacing answer cells by function name and ``extra`` code cells
run first, right after the imports. ``raw`` replaces the whole file instead.
``{PORT}`` in any source is replaced by the port of a listener the suite opens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nbformat

from examples.build_examples import solutions
from tests.conftest import REPO

ALL = frozenset({"*"})
# Which student functions call which (the instructor's solution cells).
CALLERS = {
    "sigmoid": {"sigmoid_grad", "forward", "backward", "train"},
    "sigmoid_grad": {"backward", "train"},
    "forward": {"backward", "train"},
    "squared_error": {"train"},
    "backward": {"train"},
    "quadratic_grad": {"gd_step", "gd_trajectory"},
    "gd_step": {"gd_trajectory"},
    "contraction_factors": {"steps_to_tolerance"},
}


def callers(*functions: str) -> frozenset[str]:
    """Everything that calls any of ``functions``, directly or not."""
    return frozenset(set().union(*(CALLERS.get(f, set()) for f in functions)))


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

    def build(self, port: int) -> bytes:
        if self.raw is not None:
            return self.raw
        answers = solutions()
        cells = ["import math\nimport numpy as np\nimport matplotlib.pyplot as plt\n"]
        cells += [src.replace("{PORT}", str(port)) for src in self.extra]
        for fn in _functions():
            src = self.overrides.get(fn, answers[fn])
            cells.append(src.replace("{PORT}", str(port)))
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        return nbformat.writes(nb).encode()


def _functions() -> list[str]:
    import tomllib

    rubric = tomllib.loads((REPO / "autograder" / "rubric.toml").read_text())
    return [i["id"] for i in rubric["item"] if i["kind"] == "auto"]
