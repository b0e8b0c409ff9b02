"""Question 1's computational graph: the student's graph data → a set of edges.

The student's ``computational_graph()`` returns operations ``(output, operation,
inputs)``. Names are hostile strings: they reach this module only as
:class:`~autograder.grade.checks.Text` tokens, already bounded and normalised by
``autograder.grade.student``. Here they are matched liberally against the graph's
eight values (``y_hat``, ``ŷ`` and ``yhat`` are all ŷ) and never shown: feedback
names only the true graph's values.
"""

from __future__ import annotations

from typing import Any

from autograder.grade.checks import Feedback, Problem, Text, describe

# value → the spellings accepted for it, after lowering case and dropping \ { } _ $
ALIASES: dict[str, set[str]] = {
    "x": {"x", "input"},
    "W1": {"w1"},
    "Z": {"z"},
    "u": {"u", "σ(z)", "sigma(z)"},
    "W2": {"w2"},
    "ŷ": {"ŷ", "yhat", "haty", "y^", "ypred", "prediction"},
    "y": {"y", "target", "ytrue"},
    "L": {"l", "loss", "mathcall"},
}
TRUE_EDGES = frozenset(
    {("x", "Z"), ("W1", "Z"), ("Z", "u"), ("u", "ŷ"), ("W2", "ŷ"), ("ŷ", "L"), ("y", "L")}
)
MAX_OPS, MAX_INPUTS = 64, 8
_CANON = {spelling: name for name, spellings in ALIASES.items() for spelling in spellings}


def canonical(token: Text) -> str | None:
    """The graph value a name stands for, or None for a name of the student's own."""
    key = token.norm.lower()
    for ch in "\\{}_$":
        key = key.replace(ch, "")
    return _CANON.get(key)


def edges(value: Any) -> set[tuple[str, str]]:
    """The edges between the graph's named values, through any helper nodes of the student's.

    A student may split a step (ŷ − y, then its square): an edge a → b is counted when
    b is reached from a through values of the student's own naming only.
    """
    what = "computational_graph()"
    if not isinstance(value, tuple) or not 0 < len(value) <= MAX_OPS:
        raise Feedback(
            f"{what} should return a list of operations but returned {describe(value)}.",
            what=what, problem=Problem.FORM,
        )  # fmt: skip
    inputs_of: dict[str, set[str]] = {}
    for n, op in enumerate(value):
        if not (isinstance(op, tuple) and len(op) == 3 and isinstance(op[0], Text)) or not (
            isinstance(op[1], Text)
        ):
            raise Feedback(
                f"{what}: operation {n} should be a tuple (output name, operation label, "
                f"list of input names) but is {describe(op)}.",
                what=what, problem=Problem.FORM,
            )  # fmt: skip
        names = op[2] if isinstance(op[2], tuple) else (op[2],)
        if not 0 < len(names) <= MAX_INPUTS or not all(isinstance(i, Text) for i in names):
            raise Feedback(
                f"{what}: the inputs of operation {n} should be a list of 1 to {MAX_INPUTS} "
                f"names but is {describe(op[2])}.",
                what=what, problem=Problem.FORM,
            )  # fmt: skip
        out = _node(op[0])
        inputs_of.setdefault(out, set()).update(_node(i) for i in names)
    found: set[tuple[str, str]] = set()
    for target in inputs_of:
        if target.startswith("?"):
            continue
        seen, stack = set(), list(inputs_of[target])
        while stack:
            src = stack.pop()
            if src in seen:
                continue
            seen.add(src)
            if src.startswith("?"):
                stack.extend(inputs_of.get(src, ()))
            else:
                found.add((src, target))
    return found


def _node(token: Text) -> str:
    name = canonical(token)
    return name if name is not None else "?" + token.norm


def compare(found: set[tuple[str, str]]) -> None:
    """Raise Feedback unless ``found`` is exactly the true graph's edge set."""
    if found == TRUE_EDGES:
        return
    missing, extra = TRUE_EDGES - found, found - TRUE_EDGES
    wrong = sorted({dst for _, dst in missing | extra}, key=list(ALIASES).index)
    parts = []
    if missing:
        parts.append(f"{len(missing)} of its {len(TRUE_EDGES)} edges are missing")
    if extra:
        parts.append(f"{len(extra)} edge{'s are' if len(extra) > 1 else ' is'} not in it")
    raise Feedback(
        "computational_graph() is not the graph of ŷ = W2 σ(W1 x) and L: "
        + " and ".join(parts)
        + f". Check the inputs of {', '.join(wrong)}."
    )
