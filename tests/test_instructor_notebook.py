"""The instructor (source) notebook: structure, nbgrader metadata, drift from the
reference solution, self-checks that catch mistakes, and a clean run in a real kernel."""

from __future__ import annotations

import ast
import inspect
import math
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from notebooks import (
    FUNCTIONS,
    HEADINGS,
    INSTRUCTOR_NB,
    ITEMS,
    MANUAL,
    by_grade_id,
    execute,
    load_reference,
    nbgrader,
    outputs,
    read,
    solution_namespace,
)

hw2 = load_reference()
NB = read(INSTRUCTOR_NB)
CELLS = by_grade_id(NB)


def test_valid_nbformat_with_python3_kernel():
    nbformat.validate(NB)
    assert NB.metadata.kernelspec.name == "python3"
    assert NB.metadata.language_info.name == "python"


def test_committed_without_outputs():
    for cell in NB.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id


def test_question_headings_in_order():
    lines = [ln for c in NB.cells if c.cell_type == "markdown" for ln in c.source.splitlines()]
    positions = [lines.index(h) for h in HEADINGS]  # ValueError if a heading is missing
    assert positions == sorted(positions)


@pytest.mark.slow  # importing nbgrader takes seconds
def test_nbgrader_accepts_metadata():
    from nbgrader.nbgraderformat import MetadataValidator

    MetadataValidator().validate_nb(NB)


def test_manual_cells_match_rubric():
    for gid in MANUAL:
        cell = CELLS[gid]
        assert cell.cell_type == "markdown"
        assert nbgrader(cell) == {
            "grade": True,
            "solution": True,
            "locked": False,
            "grade_id": gid,
            "points": ITEMS[gid]["points"],
            "schema_version": 3,
        }
        assert "**Model answer.**" in cell.source and "**Rubric:**" in cell.source


def test_every_graded_cell_is_a_rubric_item_and_points_add_up():
    graded = {gid: nbgrader(c)["points"] for gid, c in CELLS.items() if nbgrader(c)["grade"]}
    expected = {gid: ITEMS[gid]["points"] for gid in MANUAL}
    expected |= {f"check_{fn}": ITEMS[fn]["points"] for fn in FUNCTIONS}
    assert graded == expected
    assert sum(graded.values()) == 10


def test_imports_cell_is_read_only():
    assert nbgrader(CELLS["imports"]) == {
        "grade": False,
        "solution": False,
        "locked": True,
        "grade_id": "imports",
        "schema_version": 3,
    }
    imported = {a.name for node in ast.parse(CELLS["imports"].source).body for a in node.names}
    assert imported == {"numpy", "math", "matplotlib.pyplot"}


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_answer_cell_is_one_def_with_the_reference_signature(fn):
    cell = CELLS[fn]
    assert nbgrader(cell) == {
        "grade": False,
        "solution": True,
        "locked": False,
        "grade_id": fn,
        "schema_version": 3,
    }
    (node,) = ast.parse(cell.source).body  # a single top-level statement …
    assert isinstance(node, ast.FunctionDef) and node.name == fn  # … which is the def
    assert ast.get_docstring(node)
    lines = cell.source.split("\n")
    assert sum("# BEGIN SOLUTION" in ln for ln in lines) == 1
    assert sum("# END SOLUTION" in ln for ln in lines) == 1
    assert not any("###" in ln and "SOLUTION" in ln for ln in lines)  # otter needs one '#'
    ns = solution_namespace(NB)
    assert inspect.signature(ns[fn]) == inspect.signature(getattr(hw2, fn)).replace(
        parameters=[
            p.replace(annotation=inspect.Parameter.empty)
            for p in inspect.signature(getattr(hw2, fn)).parameters.values()
        ],
        return_annotation=inspect.Signature.empty,
    )


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_check_cell_follows_answer_cell(fn):
    ids = [c.get("id") for c in NB.cells]
    check = CELLS[f"check_{fn}"]
    assert ids.index(check.id) == ids.index(CELLS[fn].id) + 1
    assert nbgrader(check) == {
        "grade": True,
        "solution": False,
        "locked": True,
        "grade_id": f"check_{fn}",
        "points": ITEMS[fn]["points"],
        "schema_version": 3,
    }
    assert check.source.rstrip().endswith(f'print("{fn}: self-checks passed")')
    assert "hw2" not in check.source and "solutions" not in check.source


# --- drift: the notebook's solutions behave like solutions/hw2.py ----------------------


def same(got, want) -> None:
    assert type(got) is type(want) or (isinstance(got, float) and isinstance(want, float))
    if isinstance(want, tuple):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            same(g, w)
    elif isinstance(want, np.ndarray):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)
    else:
        assert got == want or math.isclose(got, want, rel_tol=1e-12)


def random_calls(rng: np.random.Generator):
    """(function name, args) pairs covering every function, with varied shapes."""
    d, h, k, n = rng.integers(1, 6, size=4)
    x, y = rng.normal(size=(d, n)), rng.normal(size=(k, n))
    W1, W2 = rng.normal(size=(h, d)), rng.normal(size=(k, h))
    z = rng.normal(scale=20, size=rng.integers(1, 5, size=2))
    a, b = rng.uniform(0.1, 20, size=2)
    lr = rng.uniform(0, 2.5) / max(a, b)
    w = rng.normal(size=2)
    tol = float(np.linalg.norm(w) * 10 ** rng.uniform(-9, 0.5))
    yield "computational_graph", ()
    yield "sigmoid", (z,)
    yield "sigmoid_grad", (z,)
    yield "forward", (x, W1, W2)
    yield "squared_error", (W2 @ hw2.sigmoid(W1 @ x), y)
    yield "backward", (x, y, W1, W2)
    yield "numerical_gradient", (lambda V: float(np.sum(np.tanh(V) * W1)), W1, 1e-4)
    yield "train", (x, y, W1, W2, 0.01, int(rng.integers(0, 6)))
    yield "quadratic_loss", (w, a, b)
    yield "quadratic_grad", (w, a, b)
    yield "gd_step", (w, a, b, lr)
    yield "gd_trajectory", (w, a, b, lr, int(rng.integers(0, 30)))
    yield "contraction_factors", (a, b, lr)
    yield "max_stable_lr", (a, b)
    yield "optimal_lr", (a, b)
    yield "steps_to_tolerance", (w, a, b, lr, tol)
    yield "steps_to_tolerance", (w, a, a * 10 ** rng.uniform(2, 6), 1 / a, 1e-6)


def test_solution_cells_behave_like_the_reference():
    ns = solution_namespace(NB)
    rng = np.random.default_rng(20240)
    seen = set()
    for _ in range(40):
        for fn, args in random_calls(rng):
            same(ns[fn](*args), getattr(hw2, fn)(*args))
            seen.add(fn)
    assert seen == set(FUNCTIONS)
    for args in [(0.0,), (-1000.0,), (np.array([1000.0]),)]:
        same(ns["sigmoid"](*args), hw2.sigmoid(*args))


def test_drift_check_can_fail():
    with pytest.raises(AssertionError):
        same(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    with pytest.raises(AssertionError):
        same(1, 1.0)  # steps_to_tolerance must return an int


# --- the self-checks accept the solution and reject typical mistakes -------------------


def run_check(fn: str, **replace) -> None:
    ns = solution_namespace(NB)
    for name, src in replace.items():
        exec(src, ns)
        assert callable(ns[name])
    exec(compile(CELLS[f"check_{fn}"].source, f"check_{fn}", "exec"), ns)


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_self_check_passes_on_the_solution(fn, capsys):
    run_check(fn)
    assert f"{fn}: self-checks passed" in capsys.readouterr().out


MISTAKES = {
    "computational_graph": (  # edges as pairs: not the (output, operation, inputs) format
        "def computational_graph():\n"
        "    return [('x', 'Z'), ('W1', 'Z'), ('Z', 'u'), ('u', 'y_hat'), ('W2', 'y_hat')]"
    ),
    "sigmoid": "def sigmoid(z):\n    return 1 / (1 + np.exp(-np.asarray(z, dtype=float)))",
    "sigmoid_grad": "def sigmoid_grad(z):\n    return sigmoid(z) * (1 + sigmoid(z))",
    "forward": (
        "def forward(x, W1, W2):\n    Z = (W1 @ x).T\n    return Z, sigmoid(Z), W2 @ sigmoid(Z).T"
    ),
    "squared_error": "def squared_error(y_hat, y):\n    return float(np.mean((y_hat - y) ** 2))",
    "backward": (
        "def backward(x, y, W1, W2):\n"
        "    Z, u, y_hat = forward(x, W1, W2)\n"
        "    delta = 2 * (y_hat - y)\n"
        "    return (W2.T @ delta) @ x.T, delta @ u.T  # forgets σ'(Z)"
    ),
    "numerical_gradient": (
        "def numerical_gradient(f, W, eps=1e-5):\n"
        "    W = np.array(W, dtype=float)\n"
        "    g = np.zeros_like(W)\n"
        "    for i in np.ndindex(W.shape):\n"
        "        V = W.copy(); V[i] += eps\n"
        "        g[i] = (f(V) - f(W)) / eps  # one-sided\n"
        "    return g"
    ),
    "train": (
        "def train(x, y, W1, W2, lr, num_steps):\n"
        "    losses = []\n"
        "    for _ in range(num_steps):\n"
        "        dW1, dW2 = backward(x, y, W1, W2)\n"
        "        W1 -= lr * dW1; W2 -= lr * dW2  # modifies the caller's arrays\n"
        "        losses.append(squared_error(forward(x, W1, W2)[2], y))\n"
        "    return W1, W2, np.array(losses)"
    ),
    "quadratic_loss": (
        "def quadratic_loss(w, a, b):\n    return float(a * w[0] ** 2 + b * w[1] ** 2)"  # no ½
    ),
    "quadratic_grad": "def quadratic_grad(w, a, b):\n    return np.array([a * w[0], a * w[1]])",
    "gd_step": "def gd_step(w, a, b, lr):\n    return w + lr * quadratic_grad(w, a, b)",
    "gd_trajectory": (
        "def gd_trajectory(w0, a, b, lr, num_steps):\n"
        "    out = [np.asarray(w0, dtype=float)]\n"
        "    for _ in range(num_steps - 1):\n"
        "        out.append(gd_step(out[-1], a, b, lr))\n"
        "    return np.array(out)"
    ),
    "contraction_factors": "def contraction_factors(a, b, lr):\n    return 1 - lr * b, 1 - lr * a",
    "max_stable_lr": "def max_stable_lr(a, b):\n    return 2 / min(a, b)",
    "optimal_lr": "def optimal_lr(a, b):\n    return 1 / max(a, b)",
    "steps_to_tolerance": (
        "def steps_to_tolerance(w0, a, b, lr, tol):\n"
        "    w, t = np.asarray(w0, dtype=float), 0\n"
        "    while np.linalg.norm(w) > tol and t < 10**4:  # gives up too early\n"
        "        w, t = w * np.abs(contraction_factors(a, b, lr)), t + 1\n"
        "    return t if np.linalg.norm(w) <= tol else math.inf"
    ),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # some mistakes overflow on purpose
@pytest.mark.parametrize("fn", FUNCTIONS)
def test_self_check_catches_a_typical_mistake(fn):
    with pytest.raises(AssertionError, match=f"^{fn}: "):
        run_check(fn, **{fn: MISTAKES[fn]})


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(
    ("guess", "below", "above"),
    [
        ("8 / max(a, b)", "grows (× 6.920 per step)", "grows (× 7.080 per step)"),  # |ρ| ≈ 7
        ("1 / max(a, b)", "shrinks (× 0.753 per step)", "shrinks (× 0.748 per step)"),
    ],
)
def test_max_stable_lr_self_check_says_grows_or_shrinks_as_the_factor_does(guess, below, above):
    with pytest.raises(AssertionError) as err:
        run_check("max_stable_lr", max_stable_lr=f"def max_stable_lr(a, b):\n    return {guess}")
    message = str(err.value)
    assert f"{below} at 0.99 η'" in message and f"{above} at 1.01 η'" in message, message


def test_steps_to_tolerance_self_check_catches_a_bound_without_giving_the_count():
    from tests.mutations import MUTATIONS

    # The same student approximation the hidden tests are checked against (steps_from_a_bound).
    approximation = next(code for name, _, code, *_ in MUTATIONS if name == "steps_from_a_bound")
    with pytest.raises(AssertionError, match=r"^steps_to_tolerance: ") as err:
        run_check("steps_to_tolerance", steps_to_tolerance=approximation)
    assert "needs fewer steps than 3" in str(err.value) and "over-counts" in str(err.value)
    assert "needs 2" not in str(err.value)


# --- a clean run in a fresh kernel ----------------------------------------------------


@pytest.mark.slow
def test_executes_cleanly_fast_with_figures(tmp_path: Path, monkeypatch):
    from jupyter_client.kernelspec import KernelSpecManager

    # The kernel must be this venv's ipykernel, not some python3 found elsewhere.
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert Path(spec.resource_dir).is_relative_to(sys.prefix)
    assert spec.argv[0] in ("python", "python3", sys.executable)  # jupyter_client maps these
    # An MPLBACKEND from the environment (CI often sets Agg) would suppress inline figures.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb, seconds = execute(read(INSTRUCTOR_NB), tmp_path)
    assert not outputs(nb, "error")
    # A hang guard, not a speed claim (about 5 s on a quiet machine; a loaded one doubles it).
    assert seconds < 30, f"instructor notebook took {seconds:.1f} s"
    pngs = [o for _, o in outputs(nb, "display_data") if "image/png" in o.get("data", {})]
    assert len(pngs) >= 5
    printed = "".join(o.get("text", "") for _, o in outputs(nb, "stream"))
    for fn in FUNCTIONS:
        assert f"{fn}: self-checks passed" in printed
    assert "backward / forward =" in printed
