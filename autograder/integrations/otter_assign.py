"""An otter-assign master notebook generated from the instructor notebook.

    python -m autograder.integrations.otter_assign DEST [--assign]

writes ``DEST/hw2.ipynb``, an otter-grader 7 master notebook (and, with ``--assign``, runs
``otter assign DEST/hw2.ipynb DEST/dist``, which writes ``dist/student/hw2.ipynb`` and
``dist/autograder/hw2-autograder_*.zip``). The layout:

* a raw ``# ASSIGNMENT CONFIG`` cell (tests in otter's exception-based format);
* **one otter question per student function**, named after the function (``sigmoid``,
  ``backward``, …) and worth its rubric points::

      raw  # BEGIN QUESTION / name: backward / points: 0.75
      raw  # BEGIN SOLUTION
      code the answer cell, with its own # BEGIN SOLUTION / # END SOLUTION body
      raw  # END SOLUTION
      raw  # BEGIN TESTS
      code the visible test: the self-check cell check_backward, as a test function
      code hidden tests (# HIDDEN): the hidden graders' cases, with reference values
           precomputed from solutions/hw2.py on the same fixed inputs
      raw  # END TESTS
      raw  # END QUESTION

* one **manual** otter question per written answer (rubric id, points), its model answer
  in a SOLUTION block, so it never reaches the student notebook;
* every other cell (text, imports, figures) as it is.

The hidden tests are our graders' checks re-expressed for otter: the same inputs (drawn
from the same seeds), the same order of checks (numeric array, float64, exact shape,
finite, close with rtol = 1e-4 relative to the largest entry; 1e-7 for
numerical_gradient, exact for steps_to_tolerance). Under otter they run inside the
student's own kernel, so they are only as trustworthy as otter's model allows: a hostile
notebook can defeat them (see the README); our sandboxed grader is the reference.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import math
import re
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
from nbformat import NotebookNode

from autograder import PACKAGE_DIR, REPO_DIR
from autograder.integrations import venv_env
from autograder.rubric import load_rubric

SOURCE_NB = REPO_DIR / "solutions" / "hw2_instructor.ipynb"
REFERENCE = REPO_DIR / "solutions" / "hw2.py"

ASSIGNMENT_CONFIG = """\
# ASSIGNMENT CONFIG
name: {assignment}
init_cell: true
check_all_cell: false
export_cell: false
run_tests: {run_tests}
generate:
  pdf: false
  show_stdout: false
  show_hidden: false
tests:
  files: false
  ok_format: false
"""


# -- literals --------------------------------------------------------------------------


def lit(value: Any) -> str:
    """Python source that rebuilds ``value`` exactly (floats via repr, which round-trips)."""
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return f"np.array({lit(float(value))})"
        return f"np.array({lit(value.astype(np.float64).tolist())})"
    if isinstance(value, tuple):
        return "(" + "".join(f"{lit(v)}, " for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(lit(v) for v in value) + "]"
    if isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        if math.isinf(v):
            return "math.inf" if v > 0 else "-math.inf"
        return repr(v)
    raise TypeError(f"no literal for {type(value).__name__}")


# The checks every hidden test starts with: our checks.py, in otter's kernel.
CHECKS = """\
import math
import numpy as np

def as_array(value, what, shape, finite=True):
    assert isinstance(value, np.ndarray) and value.dtype.kind in "biuf", (
        f"{what} should be a numeric numpy array.")
    arr = value.astype(np.float64)
    assert arr.shape == tuple(shape), f"{what} has shape {arr.shape} but should have {shape}."
    assert not finite or np.all(np.isfinite(arr)), f"{what} contains nan or inf."
    return arr

def as_number(value, what, finite=True):
    if isinstance(value, np.ndarray):
        return float(as_array(value, what, (), finite))
    assert isinstance(value, int | float | np.number) and not isinstance(value, bool), (
        f"{what} should be a number.")
    value = float(value)
    assert not finite or math.isfinite(value), f"{what} is nan or inf."
    return value

def as_tuple(value, what, length):
    assert isinstance(value, tuple) and len(value) == length, (
        f"{what} should return a tuple of {length} values.")
    return value

def close(got, want, what, rtol=1e-4):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    atol = rtol * max(scale, 1e-12)
    ok = got.shape == want.shape and np.allclose(got, want, rtol=rtol, atol=atol)
    assert ok, f"{what} does not match the expected values."
"""


def _rng(test_name: str) -> np.random.Generator:
    """The same generator as the hidden graders' `rng` fixture for that test."""
    return np.random.default_rng(zlib.crc32(test_name.encode()))


def _network(rng: np.random.Generator, d: int, h: int, k: int, n: int):
    from autograder.graders.problems import network

    return network(rng, d=d, h=h, k=k, n=n)


def _grader_constant(filename: str, name: str) -> Any:
    """A literal module constant of a grader file (read, not imported: importing applies
    pytest marks that only the graders' own session registers)."""
    tree = ast.parse((PACKAGE_DIR / "graders" / filename).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [
            name
        ]:
            return ast.literal_eval(node.value)
    raise LookupError(f"{name} not found in {filename}")


def _objective(c: np.ndarray, scale: float) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    """f(W) = Σ c ⊙ exp(scale·W) + ½(ΣW)² as source, and its exact gradient (trusted side)."""
    f = f"lambda W: float(np.sum(c * np.exp({scale!r} * W)) + 0.5 * np.sum(W) ** 2)"
    src = f"c = {lit(c)}\nf = {f}"
    return src, lambda W: scale * c * np.exp(scale * W) + np.sum(W)


def hidden_tests(ref: Any) -> dict[str, list[tuple[str, str]]]:
    """function → [(test name, body)]: our graders' cases with precomputed reference values.

    Each body is the inside of a test function: the inputs as literals, the call, the checks.
    """
    t: dict[str, list[tuple[str, str]]] = {}

    def add(fn: str, name: str, body: str) -> None:
        t.setdefault(fn, []).append((name, textwrap.dedent(body).strip("\n")))

    # sigmoid, sigmoid_grad
    z = _rng("test_sigmoid_values").normal(scale=3.0, size=(4, 3))
    add(
        "sigmoid",
        "test_sigmoid_values",
        f"""
        z = {lit(z)}
        close(as_array(sigmoid(z), "sigmoid(z)", {z.shape}), {lit(ref.sigmoid(z))}, "sigmoid(z)")
    """,
    )
    z = np.array([-1000.0, -60.0, -1.0, 0.0, 1.0, 60.0, 1000.0])
    add(
        "sigmoid",
        "test_sigmoid_extremes",
        f"""
        z = {lit(z)}
        got = as_array(sigmoid(z), "sigmoid(z) at large |z|", {z.shape})
        close(got, {lit(ref.sigmoid(z))}, "sigmoid(z) at large |z|")
    """,
    )
    z = _rng("test_sigmoid_grad_values").normal(scale=2.0, size=(3, 5))
    add(
        "sigmoid_grad",
        "test_sigmoid_grad_values",
        f"""
        z = {lit(z)}
        got = as_array(sigmoid_grad(z), "sigmoid_grad(z)", {z.shape})
        close(got, {lit(ref.sigmoid_grad(z))}, "sigmoid_grad(z)")
    """,
    )
    z = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    add(
        "sigmoid_grad",
        "test_sigmoid_grad_extremes",
        f"""
        z = {lit(z)}
        got = as_array(sigmoid_grad(z), "sigmoid_grad(z) at large |z|", {z.shape})
        close(got, {lit(ref.sigmoid_grad(z))}, "sigmoid_grad(z) at large |z|")
    """,
    )

    # forward
    for name, dims in (("batch", (5, 7, 3, 4)), ("single", (3, 2, 1, 1))):
        x, _, W1, W2 = _network(_rng(f"test_forward_{name}"), *dims)
        Z, u, y_hat = ref.forward(x, W1, W2)
        add(
            "forward",
            f"test_forward_{name}",
            f"""
            x, W1, W2 = {lit(x)}, {lit(W1)}, {lit(W2)}
            got = as_tuple(forward(x, W1, W2), "forward", 3)
            close(as_array(got[0], "Z", {Z.shape}), {lit(Z)}, "Z = W1 x")
            close(as_array(got[1], "u", {u.shape}), {lit(u)}, "u = σ(Z)")
            close(as_array(got[2], "ŷ", {y_hat.shape}), {lit(y_hat)}, "ŷ = W2 u")
        """,
        )

    # squared_error
    for name, shape in (("batch", (3, 5)), ("single", (2, 1))):
        rng = _rng(f"test_squared_error_{name}")
        y_hat, y = rng.normal(size=shape), rng.normal(size=shape)
        add(
            "squared_error",
            f"test_squared_error_{name}",
            f"""
            y_hat, y = {lit(y_hat)}, {lit(y)}
            got = as_number(squared_error(y_hat, y), "squared_error(ŷ, y)")
            close(got, {lit(ref.squared_error(y_hat, y))}, "squared_error(ŷ, y)")
        """,
        )

    # backward
    for name, dims in (("batch", (5, 7, 3, 4)), ("single", (4, 3, 2, 1)), ("square", (3, 3, 3, 2))):
        x, y, W1, W2 = _network(_rng(f"test_backward_{name}"), *dims)
        dW1, dW2 = ref.backward(x, y, W1, W2)
        add(
            "backward",
            f"test_backward_{name}",
            f"""
            x, y, W1, W2 = {lit(x)}, {lit(y)}, {lit(W1)}, {lit(W2)}
            got = as_tuple(backward(x, y, W1, W2), "backward", 2)
            close(as_array(got[1], "dW2", {dW2.shape}), {lit(dW2)}, "dW2 = ∂L/∂W2")
            close(as_array(got[0], "dW1", {dW1.shape}), {lit(dW1)}, "dW1 = ∂L/∂W1")
        """,
        )

    # numerical_gradient: an objective with a known exact gradient
    for name, shape, scale, rtol in (
        ("accuracy", (3, 4), 3.0, 1e-7),
        ("vector", (5,), 2.0, 1e-6),
    ):
        rng = _rng(f"test_numerical_gradient_{name}")
        W = rng.uniform(-0.5, 0.5, size=shape)
        src, grad = _objective(rng.uniform(0.5, 1.5, size=W.shape), scale)
        add(
            "numerical_gradient",
            f"test_numerical_gradient_{name}",
            f"""
            {textwrap.indent(src, " " * 12).lstrip()}
            W = {lit(W)}
            got = as_array(numerical_gradient(f, W), "numerical_gradient(f, W)", {W.shape})
            close(got, {lit(grad(W))}, "numerical_gradient(f, W)", rtol={rtol!r})
        """,
        )
    rng = _rng("test_numerical_gradient_restores_W")
    W = rng.uniform(-0.5, 0.5, size=(2, 3))
    src, _ = _objective(rng.uniform(0.5, 1.5, size=W.shape), 1.0)
    add(
        "numerical_gradient",
        "test_numerical_gradient_restores_W",
        f"""
        {textwrap.indent(src, " " * 8).lstrip()}
        W = {lit(W)}
        as_array(numerical_gradient(f, W), "numerical_gradient(f, W)", {W.shape})
        assert np.array_equal(W, {lit(W)}), "numerical_gradient(f, W) left W changed."
    """,
    )

    # train
    def train_problem(test_name: str):
        x, y, W1, W2 = _network(_rng(test_name), 3, 4, 2, 6)
        return x, 0.5 * y, 0.5 * W1, 0.5 * W2

    x, y, W1, W2 = train_problem("test_train_trajectory")
    want_W1, want_W2, want_losses = ref.train(x, y, W1, W2, 0.02, 15)
    add(
        "train",
        "test_train_trajectory",
        f"""
        x, y, W1, W2 = {lit(x)}, {lit(y)}, {lit(W1)}, {lit(W2)}
        got = as_tuple(train(x, y, W1, W2, 0.02, 15), "train", 3)
        close(as_array(got[2], "losses", {want_losses.shape}), {lit(want_losses)}, "losses")
        close(as_array(got[0], "W1", {W1.shape}), {lit(want_W1)}, "W1 after training")
        close(as_array(got[1], "W2", {W2.shape}), {lit(want_W2)}, "W2 after training")
    """,
    )
    x, y, W1, W2 = train_problem("test_train_leaves_inputs")
    add(
        "train",
        "test_train_leaves_inputs",
        f"""
        x, y, W1, W2 = {lit(x)}, {lit(y)}, {lit(W1)}, {lit(W2)}
        train(x, y, W1, W2, 0.02, 3)
        assert np.array_equal(W1, {lit(W1)}), "train changed the caller's W1 in place."
        assert np.array_equal(W2, {lit(W2)}), "train changed the caller's W2 in place."
    """,
    )
    x, y, W1, W2 = train_problem("test_train_zero_steps")
    loss0 = ref.squared_error(ref.forward(x, W1, W2)[2], y)
    add(
        "train",
        "test_train_zero_steps",
        f"""
        x, y, W1, W2 = {lit(x)}, {lit(y)}, {lit(W1)}, {lit(W2)}
        got = as_tuple(train(x, y, W1, W2, 0.02, 0), "train", 3)
        close(as_array(got[2], "losses for num_steps = 0", (1,)), [{loss0!r}], "losses[0]")
        close(as_array(got[0], "W1", {W1.shape}), {lit(W1)}, "W1 after 0 steps")
    """,
    )

    # Part 2
    CASES = _grader_constant("test_part2_descent.py", "CASES")

    for fn in ("quadratic_loss", "quadratic_grad", "gd_step"):
        rng = _rng(f"test_{fn}")
        lines = []
        for a, b, lr in CASES:
            w = rng.normal(size=2)
            if fn == "quadratic_loss":
                call, want = f"quadratic_loss(w, {a!r}, {b!r})", ref.quadratic_loss(w, a, b)
                lines.append(f"got = as_number({call}, 'quadratic_loss(w, a, b)')")
            else:
                args = f"w, {a!r}, {b!r}" + (f", {lr!r}" if fn == "gd_step" else "")
                want = getattr(ref, fn)(w, a, b, *([lr] if fn == "gd_step" else []))
                lines.append(f"got = as_array({fn}({args}), '{fn}', (2,))")
            lines[-1:] = [f"w = {lit(w)}", lines[-1], f"close(got, {lit(want)}, '{fn}')"]
        add(fn, f"test_{fn}", "\n".join(lines))

    a, b, lr = CASES[1]
    w0 = _rng("test_gd_trajectory").normal(size=2)
    want = ref.gd_trajectory(w0, a, b, lr, 25)
    add(
        "gd_trajectory",
        "test_gd_trajectory",
        f"""
        w0 = {lit(w0)}
        got = as_array(gd_trajectory(w0, {a!r}, {b!r}, {lr!r}, 25), "gd_trajectory", {want.shape})
        close(got, {lit(want)}, "gd_trajectory(w0, a, b, lr, num_steps)")
    """,
    )
    w0 = _rng("test_gd_trajectory_zero_steps").normal(size=2)
    add(
        "gd_trajectory",
        "test_gd_trajectory_zero_steps",
        f"""
        w0 = {lit(w0)}
        got = as_array(gd_trajectory(w0, 1.0, 2.0, 0.1, 0), "gd_trajectory(…, 0)", (1, 2))
        close(got, {lit(w0[None, :])}, "gd_trajectory(…, 0)")
    """,
    )
    lines = []
    for a, b, lr in CASES:
        want = ref.contraction_factors(a, b, lr)
        lines += [
            f"got = as_tuple(contraction_factors({a!r}, {b!r}, {lr!r}), 'contraction_factors', 2)",
            f"close([as_number(g, 'ρ') for g in got], {lit(list(want))}, '(ρ1, ρ2)')",
        ]
    add("contraction_factors", "test_contraction_factors", "\n".join(lines))
    for fn, pairs in (
        ("max_stable_lr", [(3.0, 0.5), (0.2, 5.0), (2.0, 2.0)]),
        ("optimal_lr", [(3.0, 0.5), (0.2, 5.0), (100.0, 1.0)]),
    ):
        lines = [
            f"close(as_number({fn}({a!r}, {b!r}), '{fn}(a, b)'), "
            f"{getattr(ref, fn)(a, b)!r}, '{fn}(a, b)')"
            for a, b in pairs
        ]
        add(fn, f"test_{fn}", "\n".join(lines))
    lines = []
    for w0, a, b, lr, tol in [
        ((1.0, 1.0), 1.0, 0.1, 1.0, 1e-3),
        ((0.5, -2.0), 100.0, 1.0, 0.01, 1e-4),
        ((3.0, 0.2), 2.0, 1.5, 0.4, 0.05),
    ]:
        want = ref.steps_to_tolerance(np.array(w0), a, b, lr, tol)
        lines += [
            f"got = steps_to_tolerance(np.array({list(w0)!r}), {a!r}, {b!r}, {lr!r}, {tol!r})",
            "got = as_number(got, 'steps_to_tolerance', finite=False)",
            f"assert got == {lit(want)}, 'steps_to_tolerance does not match the expected number.'",
        ]
    add("steps_to_tolerance", "test_steps_to_tolerance_converging", "\n".join(lines))
    lr = 1.1 * ref.max_stable_lr(4.0, 1.0)
    add(
        "steps_to_tolerance",
        "test_steps_to_tolerance_edges",
        f"""
        got = steps_to_tolerance(np.array([0.01, 0.0]), 1.0, 1.0, 0.5, 0.1)
        assert as_number(got, "steps_to_tolerance", finite=False) == 0, (
            "steps_to_tolerance should be 0 when ‖w0‖ ≤ tol already.")
        got = as_number(steps_to_tolerance(np.array([1.0, 1.0]), 4.0, 1.0, {lr!r}, 1e-3),
                        "steps_to_tolerance", finite=False)
        assert got == math.inf, "steps_to_tolerance should return math.inf when GD diverges."
    """,
    )
    return t


def load_reference() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("hw2_reference", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- test cells ------------------------------------------------------------------------


def free_names(source: str) -> list[str]:
    """Names a cell reads but never binds (its inputs from the notebook), sorted."""
    tree = ast.parse(source)
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return sorted(loaded - bound - set(dir(builtins)))


def _test_function(name: str, body: str, params: list[str]) -> str:
    return f"def test_{name}({', '.join(params)}):\n{textwrap.indent(body, '    ')}\n"


def visible_test(fn: str, check_source: str) -> str:
    """The self-check cell check_<fn> as an otter exception-based test (a function whose
    parameters are the notebook names the cell reads)."""
    return _test_function(f"check_{fn}", check_source.rstrip(), free_names(check_source))


def hidden_test(name: str, body: str) -> str:
    """A hidden otter test named after its grader (``test_backward_batch``)."""
    source = CHECKS + "\n" + body
    return "# HIDDEN\n" + _test_function(name.removeprefix("test_"), source, free_names(source))


def grader_tests() -> dict[str, tuple[str, float]]:
    """Every hidden grader test (autograder/graders/test_*.py) → (its item, its weight).

    Read from the source (the @item / @weight decorators), without importing the graders.
    """
    found = {}
    for path in sorted((PACKAGE_DIR / "graders").glob("test_*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
                continue
            marks = {
                d.func.id: ast.literal_eval(d.args[0])
                for d in node.decorator_list
                if isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.args
            }
            if "item" in marks:
                found[node.name] = (marks["item"], float(marks.get("weight", 1.0)))
    return found


def question_points(fn: str, points: float, hidden: list[str]) -> list[float]:
    """Otter points per test case: 0 for the visible self-check (feedback only, as in our
    grader), then each hidden test's weighted share of the item, as in results.json.

    Raises ValueError unless the hidden tests are exactly the item's graders.
    """
    weights = {n: w for n, (i, w) in grader_tests().items() if i == fn}
    if sorted(weights) != sorted(hidden):
        raise ValueError(
            f"{fn}: otter hidden tests {sorted(hidden)} do not match the graders {sorted(weights)}"
        )
    total = sum(weights.values())
    return [0.0, *(points * weights[n] / total for n in hidden)]


# -- the master notebook ---------------------------------------------------------------


def _raw(text: str) -> NotebookNode:
    return nbformat.v4.new_raw_cell(text)


def _clean(cell: NotebookNode) -> NotebookNode:
    cell = nbformat.from_dict(cell)
    cell.metadata.pop("nbgrader", None)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def _nbgrader(cell: NotebookNode) -> dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {})


def master_notebook(source: Path = SOURCE_NB, *, run_tests: bool = False) -> NotebookNode:
    """The otter-assign master notebook for the instructor notebook at ``source``."""
    rubric = load_rubric()
    tests = hidden_tests(load_reference())
    nb = nbformat.read(source, as_version=4)
    cells = nb.cells
    checks = {_nbgrader(c).get("grade_id"): c for c in cells}
    config = ASSIGNMENT_CONFIG.format(
        assignment=rubric.assignment, run_tests="true" if run_tests else "false"
    )
    out = [_raw(config)]
    i = 0
    while i < len(cells):
        cell, meta = cells[i], _nbgrader(cells[i])
        gid = meta.get("grade_id")
        nxt = _nbgrader(cells[i + 1]) if i + 1 < len(cells) else {}
        if cell.cell_type == "markdown" and not meta and nxt.get("solution") and nxt.get("grade"):
            # A written question: its prompt, then the model answer (manual in otter).
            item = rubric.item(nxt["grade_id"])
            out += [
                _raw(f"# BEGIN QUESTION\nname: {item.id}\nmanual: true\npoints: {item.points}"),
                _clean(cell),
                _raw("# BEGIN SOLUTION"),
                _clean(cells[i + 1]),
                _raw("# END SOLUTION"),
                _raw("# END QUESTION"),
            ]
            i += 2
            continue
        if meta.get("solution") and cell.cell_type == "code":
            item = rubric.item(gid)
            check = checks[f"check_{gid}"]
            pts = question_points(gid, item.points, [n for n, _ in tests[gid]])
            out += [
                _raw(f"# BEGIN QUESTION\nname: {gid}\npoints: {pts!r}"),
                _raw("# BEGIN SOLUTION"),
                _clean(cell),
                _raw("# END SOLUTION"),
                _raw("# BEGIN TESTS"),
                nbformat.v4.new_code_cell(visible_test(gid, check.source)),
                *(nbformat.v4.new_code_cell(hidden_test(n, b)) for n, b in tests[gid]),
                _raw("# END TESTS"),
                _raw("# END QUESTION"),
            ]
            i += 1
            continue
        if gid and gid.startswith("check_") and gid[6:] in tests:
            i += 1  # it became the question's visible test
            continue
        if meta.get("solution"):
            raise ValueError(f"solution cell {gid} has no otter equivalent")
        out.append(_clean(cell))
        i += 1
    master = nbformat.v4.new_notebook(cells=out, metadata=nbformat.from_dict(nb.metadata))
    nbformat.validate(master)
    return master


def write_master(dest: Path, source: Path = SOURCE_NB, *, run_tests: bool = False) -> Path:
    """Write DEST/<assignment>.ipynb and return its path."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{load_rubric().assignment}.ipynb"
    nbformat.write(master_notebook(source, run_tests=run_tests), path)
    return path


def otter(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the venv's ``otter ARGS`` (with an external timeout: otter has none)."""
    exe = str(Path(sys.executable).parent / "otter")
    return subprocess.run(
        [exe, *args], cwd=cwd, env=venv_env(), capture_output=True, text=True, timeout=timeout
    )


def assign(master: Path, dist: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """``otter assign MASTER DIST``; raises CalledProcessError on failure."""
    p = otter("assign", str(master), str(dist), cwd=master.parent, timeout=timeout)
    p.check_returncode()
    return p


# -- submissions in otter's student format ---------------------------------------------

_DEF = re.compile(r"^def (\w+)\(", re.M)


def answer_cells(nb: NotebookNode) -> dict[str, NotebookNode]:
    """function name → its answer cell in an otter student (or master) notebook."""
    found = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            m = _DEF.search(cell.source)
            if m and not cell.source.startswith("def test_"):
                found.setdefault(m.group(1), cell)
    return found


def fill(student_nb: NotebookNode, sources: dict[str, str]) -> NotebookNode:
    """A copy of otter's student notebook with the answer cells of ``sources`` replaced."""
    nb = nbformat.from_dict(student_nb)
    cells = answer_cells(nb)
    for fn, src in sources.items():
        cells[fn].source = src
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.integrations.otter_assign",
        description="Write an otter-assign master notebook for this assignment.",
    )
    parser.add_argument("dest", metavar="DEST", help="folder for the master notebook")
    parser.add_argument(
        "--assign", action="store_true", help="also run `otter assign` into DEST/dist"
    )
    parser.add_argument(
        "--run-tests",
        action="store_true",
        help="set run_tests: true (otter assign then grades the solutions itself)",
    )
    args = parser.parse_args(argv)
    master = write_master(Path(args.dest), run_tests=args.run_tests)
    print(f"wrote {master}")
    if args.assign:
        p = otter("assign", str(master), "dist", cwd=master.parent)
        if p.returncode:
            print(p.stdout + p.stderr, file=sys.stderr)
            return p.returncode
        print(f"otter assign wrote {master.parent / 'dist'}/ (student/ and autograder/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
