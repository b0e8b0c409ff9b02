"""Hidden graders for Part 1: the network ŷ = W2 σ(W1 x) and its backward pass."""

import numpy as np

from autograder.grade.checks import (
    Feedback,
    Problem,
    as_array,
    as_number,
    as_tuple,
    expect_close,
    explain_mismatch,
    is_close,
    to_array,
)
from autograder.grade.marks import item, weight
from autograder.grade.student import Objective, StudentError
from autograder.graders import graph
from autograder.graders.problems import backward_mistakes, network

# -- computational_graph (Question 1's drawing, as data) -----------------------------


@item("computational_graph")
def test_computational_graph(student, ref, rng):
    """computational_graph: its edges are those of ŷ = W2 σ(W1 x) and L"""
    graph.compare(graph.edges(student.computational_graph()))


def _strict(student, fn, *args):
    """Call ``fn`` with numpy warnings raised, as the notebook's self-check runs it."""
    try:
        return student.call(fn, *args, fp="raise").value
    except StudentError as exc:
        if exc.exc_type != "FloatingPointError":
            raise
        return None


# -- sigmoid -------------------------------------------------------------------------


@item("sigmoid")
@weight(2)
def test_sigmoid_values(student, ref, rng):
    """sigmoid: values on a 4×3 array of moderate z"""
    z = rng.normal(scale=3.0, size=(4, 3))
    got = as_array(student.sigmoid(z), "sigmoid(z)", z.shape)
    expect_close(
        got,
        ref.sigmoid(z),
        "sigmoid(z)",
        mistakes={
            "it looks like σ(−z): σ(z) = 1 / (1 + e^(−z)).": ref.sigmoid(-z),
            "it looks like σ'(z), not σ(z).": ref.sigmoid_grad(z),
        },
    )


@item("sigmoid")
def test_sigmoid_extremes(student, ref, rng):
    """sigmoid: stable at z = ±1000 (no nan, no overflow warning)"""
    z = np.array([-1000.0, -60.0, -1.0, 0.0, 1.0, 60.0, 1000.0])
    raw = _strict(student, "sigmoid", z)
    if raw is None:
        raise Feedback(
            "sigmoid(z) is not numerically stable at z = ±1000: numpy warns of an overflow "
            "or an invalid value (e^(−z) overflows for very negative z). Compute σ so that "
            "no exponential overflows, e.g. with e^(−|z|) and two cases for the sign of z."
        )
    got = as_array(raw, "sigmoid(z)", z.shape, finite=False)
    if not np.all(np.isfinite(got)):
        raise Feedback(
            "sigmoid(z) returns nan or inf for large |z|: e^(−z) overflows. "
            "Compute σ without overflow, e.g. with e^(−|z|) and two cases for the sign of z."
        )
    expect_close(got, ref.sigmoid(z), "sigmoid(z) at large |z|")


# -- sigmoid_grad --------------------------------------------------------------------


@item("sigmoid_grad")
@weight(2)
def test_sigmoid_grad_values(student, ref, rng):
    """sigmoid_grad: values on a 3×5 array"""
    z = rng.normal(scale=2.0, size=(3, 5))
    got = as_array(student.sigmoid_grad(z), "sigmoid_grad(z)", z.shape)
    s = ref.sigmoid(z)
    expect_close(
        got,
        ref.sigmoid_grad(z),
        "sigmoid_grad(z)",
        mistakes={
            "it looks like σ(z) itself; σ'(z) = σ(z)(1 − σ(z)).": s,
            "it looks like σ(z)(1 + σ(z)); σ'(z) = σ(z)(1 − σ(z)).": s * (1 + s),
            "it looks like z(1 − z): apply the formula to σ(z), not to z.": z * (1 - z),
        },
    )


@item("sigmoid_grad")
def test_sigmoid_grad_extremes(student, ref, rng):
    """sigmoid_grad: stable at z = ±1000 (no nan, no overflow warning)"""
    z = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    raw = _strict(student, "sigmoid_grad", z)
    if raw is None:
        culprit = (
            "your sigmoid overflows there, and sigmoid_grad calls it: fix sigmoid first"
            if _strict(student, "sigmoid", z) is None
            else "compute it from a stable σ instead of raw exponentials"
        )
        raise Feedback(f"sigmoid_grad(z) is not numerically stable at z = ±1000: {culprit}.")
    got = as_array(raw, "sigmoid_grad(z)", z.shape)
    expect_close(got, ref.sigmoid_grad(z), "sigmoid_grad(z) at large |z|")


# -- forward ---------------------------------------------------------------------------


def _check_forward(student, ref, x, W1, W2):
    Z, u, y_hat = ref.forward(x, W1, W2)
    got = as_tuple(student.forward(x, W1, W2), "forward", 3)
    got_Z = as_array(got[0], "Z = W1 x", Z.shape)
    got_u = as_array(got[1], "u = σ(Z)", u.shape)
    got_y = as_array(got[2], "ŷ = W2 u", y_hat.shape)
    expect_close(got_Z, Z, "Z = W1 x")
    expect_close(got_u, u, "u = σ(Z)", mistakes={"u should be σ(Z), not Z.": Z})
    expect_close(
        got_y,
        y_hat,
        "ŷ = W2 u",
        mistakes={
            "an activation was applied to the output; ŷ = W2 u is linear.": ref.sigmoid(y_hat),
            "it looks like W2 Z: the output layer takes u = σ(Z).": W2 @ Z,
        },
    )


@item("forward")
@weight(2)
def test_forward_batch(student, ref, rng):
    """forward: (Z, u, ŷ) on a batch of 4 with d=5, h=7, k=3"""
    x, _, W1, W2 = network(rng, d=5, h=7, k=3, n=4)
    try:
        _check_forward(student, ref, x, W1, W2)
    except Feedback as exc:
        try:
            _check_forward(student, ref, x[:, :1], W1, W2)
        except Feedback:
            raise exc from None
        raise Feedback(
            f"{exc} It is right for n = 1 but not for a batch of columns.",
            what=exc.what, problem=exc.problem, mistake=exc.mistake,
        ) from None  # fmt: skip


@item("forward")
def test_forward_single(student, ref, rng):
    """forward: (Z, u, ŷ) on one example (n = 1) with d=3, h=2, k=1"""
    x, _, W1, W2 = network(rng, d=3, h=2, k=1, n=1)
    _check_forward(student, ref, x, W1, W2)


# -- squared_error ---------------------------------------------------------------------


def _check_squared_error(student, ref, y_hat, y):
    want = ref.squared_error(y_hat, y)
    got = as_number(student.squared_error(y_hat, y), "squared_error(ŷ, y)")
    mistakes = {
        "it looks like the mean over all entries; L sums them.": want / y.size,
        "it has a factor ½ that this homework's L = ‖ŷ − y‖² does not have.": want / 2,
        "it looks like ‖ŷ − y‖, the norm, not its square.": np.sqrt(want),
    }
    if y.shape[1] > 1:
        mistakes["it looks like the mean over the n examples; L sums them."] = want / y.shape[1]
    expect_close(np.array(got), np.array(want), "squared_error(ŷ, y)", mistakes=mistakes)


@item("squared_error")
@weight(2)
def test_squared_error_batch(student, ref, rng):
    """squared_error: L = ‖ŷ − y‖² summed over a 3×5 batch"""
    _check_squared_error(student, ref, rng.normal(size=(3, 5)), rng.normal(size=(3, 5)))


@item("squared_error")
def test_squared_error_single(student, ref, rng):
    """squared_error: one example, k=2"""
    _check_squared_error(student, ref, rng.normal(size=(2, 1)), rng.normal(size=(2, 1)))


# -- backward --------------------------------------------------------------------------


def _check_backward(student, ref, x, y, W1, W2):
    dW1, dW2 = ref.backward(x, y, W1, W2)
    m1, m2 = backward_mistakes(ref, x, y, W1, W2)
    got = as_tuple(student.backward(x, y, W1, W2), "backward", 2)
    got_dW1 = as_array(got[0], "dW1 = ∂L/∂W1", dW1.shape)
    got_dW2 = as_array(got[1], "dW2 = ∂L/∂W2", dW2.shape)
    expect_close(got_dW2, dW2, "dW2 = ∂L/∂W2", mistakes=m2)
    expect_close(got_dW1, dW1, "dW1 = ∂L/∂W1", mistakes=m1)


@item("backward")
@weight(3)
def test_backward_batch(student, ref, rng):
    """backward: dW1 and dW2 on a batch of 4 with d=5, h=7, k=3 (h ≠ d)"""
    x, y, W1, W2 = network(rng, d=5, h=7, k=3, n=4)
    try:
        _check_backward(student, ref, x, y, W1, W2)
    except Feedback as exc:
        try:
            _check_backward(student, ref, x[:, :1], y[:, :1], W1, W2)
        except Feedback:
            raise exc from None
        raise Feedback(
            f"{exc} It is right for n = 1 but not for a batch: the gradient of a summed loss "
            "is the sum of the per-example gradients, which the matrix products give directly.",
            what=exc.what, problem=exc.problem, mistake=exc.mistake,
        ) from None  # fmt: skip


@item("backward")
def test_backward_single(student, ref, rng):
    """backward: dW1 and dW2 on one example (n = 1) with d=4, h=3, k=2"""
    _check_backward(student, ref, *network(rng, d=4, h=3, k=2, n=1))


@item("backward")
def test_backward_square(student, ref, rng):
    """backward: dW1 and dW2 with d = h = k = 3 (a transpose would fit the shape)"""
    _check_backward(student, ref, *network(rng, d=3, h=3, k=3, n=2))


# -- numerical_gradient ----------------------------------------------------------------


def _one_sided(f: Objective, W: np.ndarray, eps: float) -> np.ndarray:
    g = np.zeros_like(W)
    for i in np.ndindex(W.shape):
        Wp = W.copy()
        Wp[i] += eps
        g[i] = (f(Wp) - f(W)) / eps
    return g


@item("numerical_gradient")
@weight(2)
def test_numerical_gradient_accuracy(student, ref, rng):
    """numerical_gradient: central differences on a 3×4 W"""
    W = rng.uniform(-0.5, 0.5, size=(3, 4))
    f = Objective(c=rng.uniform(0.5, 1.5, size=W.shape), scale=3.0)
    got = as_array(student.numerical_gradient(f, W), "numerical_gradient(f, W)", W.shape)
    # Central differences are accurate to ~1e-10 here; a one-sided one only to ~1e-5.
    if is_close(got, f.gradient(W), rtol=1e-7):
        return
    explain_mismatch(
        got,
        "numerical_gradient(f, W)",
        mistakes={
            "it looks like a one-sided difference (f(W + ε) − f(W)) / ε; the central "
            "difference (f(W + ε) − f(W − ε)) / (2ε) is far more accurate.": _one_sided(f, W, 1e-5),
            "it is twice the gradient: divide by 2ε, not ε.": 2 * f.gradient(W),
            "it is half the gradient: divide by 2ε, not 4ε.": 0.5 * f.gradient(W),
        },
        default="is not accurate enough: central differences in float64 agree with the "
        "exact gradient to about 1e-7 (relative) here.",
    )


@item("numerical_gradient")
def test_numerical_gradient_restores_W(student, ref, rng):
    """numerical_gradient: W holds its original values when the call returns"""
    W = rng.uniform(-0.5, 0.5, size=(2, 3))
    f = Objective(c=rng.uniform(0.5, 1.5, size=W.shape), scale=1.0)
    reply = student.watch.numerical_gradient(f, W)
    got = as_array(reply.value, "numerical_gradient(f, W)", W.shape)
    after = reply.arg_after(1)
    changed = not isinstance(after, np.ndarray) or not is_close(after, W, rtol=1e-12)
    if changed:
        raise Feedback(
            "numerical_gradient(f, W) left W changed: restore each entry after perturbing it "
            "(or perturb a copy)."
        )
    # A side condition earns its point only with a right answer: doing nothing keeps W too.
    if not is_close(got, f.gradient(W), rtol=1e-6):
        raise Feedback("numerical_gradient(f, W): W is checked once the gradient is right.")


@item("numerical_gradient")
def test_numerical_gradient_vector(student, ref, rng):
    """numerical_gradient: works for a 1-D W of 5 entries"""
    W = rng.uniform(-0.5, 0.5, size=5)
    f = Objective(c=rng.uniform(0.5, 1.5, size=W.shape), scale=2.0)
    got = as_array(student.numerical_gradient(f, W), "numerical_gradient(f, W)", W.shape)
    expect_close(got, f.gradient(W), "numerical_gradient(f, W) for a 1-D W", rtol=1e-6)


# -- train -----------------------------------------------------------------------------


def _train_problem(rng):
    x, y, W1, W2 = network(rng, d=3, h=4, k=2, n=6)
    return x, 0.5 * y, 0.5 * W1, 0.5 * W2


def _train_result(student, ref, x, y, W1, W2, lr, steps, reply=None):
    """Check train's (W1, W2, losses) against the reference; returns the Reply."""
    want_W1, want_W2, want_losses = ref.train(x, y, W1, W2, lr, steps)
    reply = reply or student.watch.train(x, y, W1, W2, lr, steps)
    got = as_tuple(reply.value, "train", 3)
    losses = to_array(got[2])
    if losses is not None and losses.shape == (steps,):
        raise Feedback(
            "losses should have num_steps + 1 entries: losses[0] is the loss before any step.",
            what="losses", problem=Problem.FORM,
        )  # fmt: skip
    losses = as_array(got[2], "losses", want_losses.shape)
    if losses[-1] > losses[0] and want_losses[-1] < want_losses[0]:
        raise Feedback("train makes the loss grow: the update is W ← W − η ∂L/∂W (minus).")
    expect_close(losses, want_losses, "losses")
    expect_close(as_array(got[0], "W1 after training", W1.shape), want_W1, "W1 after training")
    expect_close(as_array(got[1], "W2 after training", W2.shape), want_W2, "W2 after training")
    return reply


@item("train")
@weight(2)
def test_train_trajectory(student, ref, rng):
    """train: weights and losses after 15 steps with lr = 0.02"""
    x, y, W1, W2 = _train_problem(rng)
    _train_result(student, ref, x, y, W1, W2, 0.02, 15)


def _side_condition(check, what: str):
    """Run a main-result check; a side condition earns nothing while it fails."""
    try:
        return check()
    except Feedback:
        raise Feedback(f"train: {what} is checked once train's result is right.") from None


@item("train")
def test_train_leaves_inputs(student, ref, rng):
    """train: the caller's W1 and W2 are left unchanged"""
    x, y, W1, W2 = _train_problem(rng)
    reply = _side_condition(
        lambda: _train_result(student, ref, x, y, W1, W2, 0.02, 3), "leaving W1 and W2 alone"
    )
    for name, i, orig in (("W1", 2, W1), ("W2", 3, W2)):
        a = reply.arg_after(i)
        if not isinstance(a, np.ndarray) or a.shape != orig.shape or not np.array_equal(a, orig):
            raise Feedback(
                f"train changed the caller's {name} in place; update a copy "
                f"({name} = {name} − η ∂L/∂{name} makes a new array, {name} -= … does not)."
            )


@item("train")
def test_train_zero_steps(student, ref, rng):
    """train: num_steps = 0 returns the initial weights and one loss"""
    x, y, W1, W2 = _train_problem(rng)
    _side_condition(lambda: _train_result(student, ref, x, y, W1, W2, 0.02, 2), "num_steps = 0")
    got = as_tuple(student.train(x, y, W1, W2, 0.02, 0), "train", 3)
    losses = as_array(got[2], "losses for num_steps = 0", (1,))
    expect_close(losses, np.array([ref.squared_error(ref.forward(x, W1, W2)[2], y)]), "losses[0]")
    expect_close(as_array(got[0], "W1", W1.shape), W1, "W1 after 0 steps")
    expect_close(as_array(got[1], "W2", W2.shape), W2, "W2 after 0 steps")
