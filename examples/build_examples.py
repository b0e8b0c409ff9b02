"""Builds submissions from the student notebook: the bundled examples and test fixtures.

A submission is assignment/hw2.ipynb with some answer cells filled in. The
correct body of each function is taken from the instructor notebook's solution
cells (markers removed); ``overrides`` replaces whole answer cells by grade_id.

    python examples/build_examples.py      # rewrites examples/submissions/*.ipynb
"""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
STUDENT_NB = REPO / "assignment" / "hw2.ipynb"
INSTRUCTOR_NB = REPO / "solutions" / "hw2_instructor.ipynb"
EXAMPLES = REPO / "examples" / "submissions"
_MARKER = re.compile(r"^[ \t]*# (BEGIN|END) SOLUTION[ \t]*\n", re.M)


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solutions() -> dict[str, str]:
    """grade_id → the instructor's answer cell with the solution markers removed."""
    nb = nbformat.read(INSTRUCTOR_NB, as_version=4)
    return {
        grade_id(c): _MARKER.sub("", c.source)
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }


def submission(overrides: dict[str, str] | None = None, *, solved: bool = True):
    """The student notebook with every answer cell solved (or left as a stub), then overridden."""
    nb = copy.deepcopy(nbformat.read(STUDENT_NB, as_version=4))
    answers = solutions() if solved else {}
    overrides = overrides or {}
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in overrides:
            cell.source = overrides[gid]
        elif gid in answers and cell.cell_type == "code":
            cell.source = answers[gid]
        elif gid in answers and cell.cell_type == "markdown":
            cell.source = "(A student's written answer would go here.)"
    return nb


TYPICAL_MISTAKES = {
    "backward": """def backward(x, y, W1, W2):
    Z, u, y_hat = forward(x, W1, W2)
    delta = y_hat - y  # forgot the 2 from d/dŷ (ŷ − y)²
    dW2 = delta @ u.T
    dZ = (W2.T @ delta) * sigmoid(Z)  # σ where σ' belongs
    return dZ @ x.T, dW2
""",
    "squared_error": """def squared_error(y_hat, y):
    return float(np.mean((y_hat - y) ** 2))
""",
    "max_stable_lr": """def max_stable_lr(a, b):
    return 1.0 / max(a, b)
""",
}


def main() -> int:
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    for name, nb in {
        "correct": submission(),
        "typical_mistakes": submission(TYPICAL_MISTAKES),
        "stub": submission(solved=False),
    }.items():
        nbformat.write(nb, EXAMPLES / f"{name}.ipynb")
        print(f"wrote {EXAMPLES / name}.ipynb")
    return 0


if __name__ == "__main__":
    sys.exit(main())
