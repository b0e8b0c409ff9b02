"""The reference solution (solutions/hw2.py) against finite differences and closed forms."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from notebooks import load_reference

hw2 = load_reference()
FAST = settings(max_examples=40, deadline=None)
dims = st.integers(1, 5)
seeds = st.integers(0, 2**32 - 1)


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """CS231n's relative error, the worst entry."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def central_differences(f, W: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """Fourth-order central differences, independent of hw2.numerical_gradient (under test).

    The plain (f(W+ε) − f(W−ε))/2ε leaves about 1e-7 of rounding noise on small entries,
    right at the 1e-7 bar; this stencil's O(ε⁴) error allows ε = 1e-3 and ~1e-12 noise.
    """
    grad = np.zeros_like(W)
    for i in np.ndindex(W.shape):
        values = []
        for step in (2, 1, -1, -2):
            V = W.copy()
            V[i] += step * eps
            values.append(f(V))
        grad[i] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * eps)
    return grad


def network(d: int, h: int, k: int, n: int, seed: int):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(d, n)),
        rng.normal(size=(k, n)),
        rng.normal(size=(h, d)),
        rng.normal(size=(k, h)),
    )


def loss(x, y, W1, W2) -> float:
    return float(np.sum((W2 @ (1 / (1 + np.exp(-(W1 @ x)))) - y) ** 2))


# --- Part 1 --------------------------------------------------------------------------


@FAST
@given(d=dims, h=dims, k=dims, n=dims, seed=seeds)
@example(d=3, h=4, k=2, n=1, seed=0)  # one example, h ≠ d, k > 1
@example(d=1, h=1, k=1, n=1, seed=1)
def test_backward_matches_finite_differences(d, h, k, n, seed):
    x, y, W1, W2 = network(d, h, k, n, seed)
    dW1, dW2 = hw2.backward(x, y, W1, W2)
    assert dW1.shape == (h, d) and dW2.shape == (k, h)
    assert rel_error(dW1, central_differences(lambda W: loss(x, y, W, W2), W1)) <= 1e-7
    assert rel_error(dW2, central_differences(lambda W: loss(x, y, W1, W), W2)) <= 1e-7


@FAST
@given(d=dims, h=dims, k=dims, n=st.integers(2, 6), seed=seeds)
def test_backward_sums_per_example_gradients(d, h, k, n, seed):
    x, y, W1, W2 = network(d, h, k, n, seed)
    parts = [hw2.backward(x[:, [j]], y[:, [j]], W1, W2) for j in range(n)]
    dW1, dW2 = hw2.backward(x, y, W1, W2)
    np.testing.assert_allclose(dW1, sum(p[0] for p in parts), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dW2, sum(p[1] for p in parts), rtol=1e-10, atol=1e-12)


@FAST
@given(d=dims, h=dims, k=dims, n=dims, seed=seeds)
def test_forward_and_loss_closed_form(d, h, k, n, seed):
    x, y, W1, W2 = network(d, h, k, n, seed)
    Z, u, y_hat = hw2.forward(x, W1, W2)
    assert (Z.shape, u.shape, y_hat.shape) == ((h, n), (h, n), (k, n))
    for j in range(n):  # column j is example j
        z_j = W1 @ x[:, j]
        np.testing.assert_allclose(Z[:, j], z_j, rtol=1e-12, atol=1e-12)
        # atol too: a sum whose terms cancel keeps only its absolute rounding (about 1e-17)
        np.testing.assert_allclose(
            y_hat[:, j], W2 @ (1 / (1 + np.exp(-z_j))), rtol=1e-12, atol=1e-12
        )
    L = hw2.squared_error(y_hat, y)
    assert type(L) is float
    assert math.isclose(L, loss(x, y, W1, W2), rel_tol=1e-12)


@FAST
@given(shape=st.sampled_from([(), (1,), (3,), (2, 3), (1, 4, 2)]), seed=seeds)
def test_numerical_gradient_closed_forms(shape, seed):
    rng = np.random.default_rng(seed)
    A, W = rng.normal(size=shape), rng.normal(size=shape)
    W_before = W.copy()
    grad = hw2.numerical_gradient(lambda V: np.sum(A * np.sin(V)), W)
    assert grad.shape == np.shape(W)
    assert np.array_equal(W, W_before), "W must not be modified"
    # Absolute as well as relative: entries near 0 keep ~1e-11 of rounding noise. A one-sided
    # difference (error ~ε = 1e-5) would fail this.
    np.testing.assert_allclose(grad, A * np.cos(W), rtol=1e-7, atol=1e-9)


def test_sigmoid_closed_form_and_symmetry():
    z = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(hw2.sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-14)
    np.testing.assert_allclose(hw2.sigmoid(z) + hw2.sigmoid(-z), 1.0, rtol=1e-15)
    zs = np.linspace(-8, 8, 161)  # beyond that σ rounds to 0 or 1 and differences lose all digits
    numeric = (hw2.sigmoid(zs + 1e-5) - hw2.sigmoid(zs - 1e-5)) / 2e-5
    assert rel_error(hw2.sigmoid_grad(zs), numeric) < 1e-7
    # σ' = σ(z) σ(−z); absolute tolerance because 1 − σ(z) loses digits as σ(z) → 1.
    np.testing.assert_allclose(hw2.sigmoid_grad(z), hw2.sigmoid(z) * hw2.sigmoid(-z), atol=1e-15)


@pytest.mark.parametrize("fn", ["sigmoid", "sigmoid_grad"])
def test_sigmoid_stable_at_large_arguments(fn):
    z = np.array([-1000.0, -745.0, -50.0, 0.0, 50.0, 710.0, 1000.0])
    # Underflow to 0 is the right answer; overflow or nan is not.
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out = getattr(hw2, fn)(z)
    assert np.all(np.isfinite(out))
    expected = [0, 0, 0, 0.5, 1, 1, 1] if fn == "sigmoid" else [0, 0, 0, 0.25, 0, 0, 0]
    np.testing.assert_allclose(out, expected, atol=1e-20)


def test_train_decreases_loss_and_keeps_inputs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 20))
    y = rng.normal(size=(2, 5)) @ hw2.sigmoid(rng.normal(size=(5, 3)) @ x)
    W1, W2 = 0.5 * rng.normal(size=(5, 3)), 0.5 * rng.normal(size=(2, 5))
    before = [a.copy() for a in (x, y, W1, W2)]
    V1, V2, losses = hw2.train(x, y, W1, W2, lr=0.005, num_steps=200)
    assert all(np.array_equal(a, b) for a, b in zip((x, y, W1, W2), before, strict=True))
    assert len(losses) == 201 and V1.shape == W1.shape and V2.shape == W2.shape
    assert losses[0] == pytest.approx(loss(x, y, W1, W2), rel=1e-12)
    assert losses[-1] == pytest.approx(loss(x, y, V1, V2), rel=1e-12)
    assert losses[-1] < 0.2 * losses[0]
    assert np.all(np.diff(losses) <= 1e-12), "a small step size should decrease L every step"
    _, _, none = hw2.train(x, y, W1, W2, lr=0.005, num_steps=0)
    assert len(none) == 1


# --- Part 2 --------------------------------------------------------------------------

positive = st.floats(0.01, 100.0)


@FAST
@given(a=positive, b=positive, lr=st.floats(0.0, 1.0), w1=st.floats(-5, 5), w2=st.floats(-5, 5))
def test_quadratic_closed_forms(a, b, lr, w1, w2):
    w = np.array([w1, w2])
    assert hw2.quadratic_loss(w, a, b) == pytest.approx(0.5 * (a * w1**2 + b * w2**2))
    np.testing.assert_allclose(hw2.quadratic_grad(w, a, b), [a * w1, b * w2])
    rho1, rho2 = hw2.contraction_factors(a, b, lr)
    assert (rho1, rho2) == pytest.approx((1 - lr * a, 1 - lr * b))
    np.testing.assert_allclose(hw2.gd_step(w, a, b, lr), [rho1 * w1, rho2 * w2], atol=1e-12)
    traj = hw2.gd_trajectory(w, a, b, min(lr, 1 / max(a, b)), 7)
    r = np.array(hw2.contraction_factors(a, b, min(lr, 1 / max(a, b))))
    assert traj.shape == (8, 2)
    np.testing.assert_allclose(traj, r ** np.arange(8)[:, None] * w, rtol=1e-10, atol=1e-12)


@FAST
@given(a=positive, b=positive)
def test_learning_rate_closed_forms(a, b):
    eta_max, eta_opt = hw2.max_stable_lr(a, b), hw2.optimal_lr(a, b)
    assert eta_max == pytest.approx(2 / max(a, b)) and eta_opt == pytest.approx(2 / (a + b))

    def worst(lr):
        return max(abs(r) for r in hw2.contraction_factors(a, b, lr))

    assert worst(0.999 * eta_max) < 1 < worst(1.001 * eta_max)
    grid = np.linspace(0, eta_max, 2001)
    assert worst(eta_opt) <= min(worst(lr) for lr in grid) + 1e-12
    assert worst(eta_opt) == pytest.approx(abs(a - b) / (a + b))


def brute_force_steps(w0, a, b, lr, tol, cap=20_000):
    """Run GD step by step. A run that diverges counts as never converging (math.inf), even
    if it passes within tol on the way: that is the contract the reference implements."""
    w = np.asarray(w0, dtype=float)
    if np.linalg.norm(w) <= tol:
        return 0
    rho = np.abs(hw2.contraction_factors(a, b, lr))
    if np.any(rho[w != 0] > 1):
        return math.inf
    for t in range(1, cap + 1):
        w = hw2.gd_step(w, a, b, lr)
        if np.linalg.norm(w) <= tol:
            return t
    return math.inf if np.any(rho[w != 0] >= 1) else None  # None: beyond the cap


@settings(max_examples=50, deadline=None)
@given(seed=seeds, scale=st.sampled_from([0.5, 1.0, 1.5, 2.2]))
def test_steps_to_tolerance_matches_brute_force(seed, scale):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.1, 10, size=2)
    lr = scale * rng.uniform(0, 1) * 2 / max(a, b)  # scale 2.2 allows divergence
    w0 = rng.normal(size=2)
    tol = float(np.linalg.norm(w0) * 10.0 ** rng.uniform(-8, 0.3))
    got = hw2.steps_to_tolerance(w0, a, b, lr, tol)
    want = brute_force_steps(w0, a, b, lr, tol)
    if want is None:
        assert 20_000 < got < math.inf
    else:
        assert got == want
        assert isinstance(got, int) or got == math.inf


@pytest.mark.parametrize(
    ("w0", "a", "b", "lr", "tol", "want"),
    [
        ([1.0, 1.0], 1.0, 1.0, 0.5, 2.0, 0),  # tol ≥ ‖w0‖
        ([3.0, 4.0], 1.0, 1.0, 0.5, 5.0, 0),  # tol = ‖w0‖ exactly
        ([0.0, 0.0], 1.0, 1.0, 0.5, 0.0, 0),
        ([1.0, 1.0], 1.0, 3.0, 1.0, 1e-3, math.inf),  # ρ2 = −2: diverges
        ([1.0, 1.0], 1.0, 2.0, 1.0, 0.5, math.inf),  # ρ2 = −1: oscillates
        ([1.0, 1.0], 1.0, 1.0, 0.0, 0.5, math.inf),  # η = 0: never moves
        ([1.0, 1.0], 2.0, 2.0, 0.5, 1e-9, 1),  # ρ = 0
        ([1.0, 0.0], 1.0, 1.0, 0.5, 0.25, 2),
    ],
)
def test_steps_to_tolerance_edge_cases(w0, a, b, lr, tol, want):
    assert hw2.steps_to_tolerance(np.array(w0), a, b, lr, tol) == want


def test_steps_to_tolerance_ill_conditioned_is_fast_and_exact():
    # a/b = 10⁶ with η = 1/a: ρ1 = 0 and ‖w(t)‖ = ρ2^t from t = 1 on.
    t = hw2.steps_to_tolerance(np.array([1.0, 1.0]), 1e6, 1.0, 1e-6, 1e-3)
    rho2 = 1 - 1e-6
    assert rho2**t <= 1e-3 < rho2 ** (t - 1)


# Edge cases found in review: zero coordinates and tolerances whose square underflows.
def test_steps_to_tolerance_ignores_zero_coordinates():
    # w2 = 0 stays 0 although ρ2 = −49; ‖w(t)‖ = 0.5^t first reaches 1e-100 at t = 333.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert hw2.steps_to_tolerance(np.array([1.0, 0.0]), 1.0, 100.0, 0.5, 1e-100) == 333


def test_steps_to_tolerance_tiny_tolerance():
    assert hw2.steps_to_tolerance(np.array([1.0, 1.0]), 1.0, 1.0, 0.5, 1e-300) == 998
