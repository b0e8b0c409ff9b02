"""Hidden graders for Part 2: gradient descent on L(w) = ½(a w1² + b w2²)."""

import math
import time

import numpy as np

from autograder.grade.checks import (
    Feedback,
    Problem,
    Unusable,
    as_array,
    as_number,
    as_tuple,
    expect_close,
    is_close,
    to_array,
)
from autograder.grade.marks import item, weight

# (a, b, η) cases: well-conditioned, ill-conditioned (a/b = 50), b > a.
CASES = [(2.0, 0.5, 0.3), (50.0, 1.0, 0.03), (0.4, 3.0, 0.5)]
# "Fast even when the answer is millions of steps": the notebook's self-check allows the
# same time. A closed form takes microseconds, stepping ~10⁷ times takes tens of seconds.
FAST_SECONDS = 2.0


def _number(value, what):
    return np.array(as_number(value, what))


@item("quadratic_loss")
def test_quadratic_loss(student, ref, rng):
    """quadratic_loss: L(w) = ½(a w1² + b w2²) at three points"""
    for a, b, _ in CASES:
        w = rng.normal(size=2)
        want = ref.quadratic_loss(w, a, b)
        got = _number(student.quadratic_loss(w, a, b), "quadratic_loss(w, a, b)")
        expect_close(
            got,
            np.array(want),
            "quadratic_loss(w, a, b)",
            mistakes={
                "it is missing the factor ½.": 2 * want,
                "it swaps a and b.": ref.quadratic_loss(w, b, a),
            },
        )


@item("quadratic_grad")
def test_quadratic_grad(student, ref, rng):
    """quadratic_grad: ∇L(w) = (a w1, b w2) at three points"""
    for a, b, _ in CASES:
        w = rng.normal(size=2)
        want = ref.quadratic_grad(w, a, b)
        got = as_array(student.quadratic_grad(w, a, b), "quadratic_grad(w, a, b)", (2,))
        expect_close(
            got,
            want,
            "quadratic_grad(w, a, b)",
            mistakes={
                "it is half the gradient: ∂/∂w1 of ½ a w1² is a w1.": want / 2,
                "it swaps a and b.": np.array([b * w[0], a * w[1]]),
                "it uses a for both coordinates.": np.array([a * w[0], a * w[1]]),
            },
        )


@item("gd_step")
@weight(2)
def test_gd_step(student, ref, rng):
    """gd_step: w − η ∇L(w) for three (a, b, η)"""
    for a, b, lr in CASES:
        w = rng.normal(size=2)
        want = ref.gd_step(w, a, b, lr)
        got = as_array(student.gd_step(w, a, b, lr), "gd_step(w, a, b, lr)", (2,))
        expect_close(
            got,
            want,
            "gd_step(w, a, b, lr)",
            mistakes={
                "it moves uphill (gradient ascent): w(t+1) = w(t) − η ∇L(w(t)).": w
                + lr * ref.quadratic_grad(w, a, b),
                "it returns the step −η ∇L(w), not the new point w − η ∇L(w).": -lr
                * ref.quadratic_grad(w, a, b),
            },
        )


@item("gd_trajectory")
@weight(2)
def test_gd_trajectory(student, ref, rng):
    """gd_trajectory: 25 steps from a random w0, ill-conditioned a/b = 50"""
    a, b, lr = CASES[1]
    w0, steps = rng.normal(size=2), 25
    want = ref.gd_trajectory(w0, a, b, lr, steps)
    raw = student.gd_trajectory(w0, a, b, lr, steps)
    rows = to_array(raw)
    if rows is not None and rows.shape == (steps, 2):
        raise Feedback(
            "gd_trajectory should have num_steps + 1 rows: row 0 is w0 itself.",
            what="gd_trajectory", problem=Problem.FORM,
        )  # fmt: skip
    got = as_array(raw, "gd_trajectory(w0, a, b, lr, num_steps)", want.shape)
    if not np.allclose(got[0], w0):
        raise Feedback("gd_trajectory: row 0 should be the starting point w0.")
    expect_close(
        got,
        want,
        "gd_trajectory(w0, a, b, lr, num_steps)",
        mistakes={
            "the rows are shifted by one step: row t must be w(t), with row 0 = w0.": np.vstack(
                [want[1:], ref.gd_step(want[-1], a, b, lr)]
            )
        },
    )


@item("gd_step")
def test_gd_step_leaves_w(student, ref, rng):
    """gd_step: the caller's w is left unchanged"""
    a, b, lr = CASES[0]
    w = rng.normal(size=2)
    reply = student.watch.gd_step(w, a, b, lr)
    got = to_array(reply.value)
    # A side condition earns its point only with a right answer: doing nothing keeps w too.
    if got is None or not is_close(got, ref.gd_step(w, a, b, lr)):
        raise Feedback("gd_step: leaving w alone is checked once the step itself is right.")
    if not is_close(to_array(reply.arg_after(0)), w, rtol=1e-12):
        raise Feedback("gd_step modified the caller's w in place; return a new array.")


@item("gd_trajectory")
def test_gd_trajectory_zero_steps(student, ref, rng):
    """gd_trajectory: num_steps = 0 gives just w0, shape (1, 2)"""
    w0 = rng.normal(size=2)
    three = to_array(student.gd_trajectory(w0, 1.0, 2.0, 0.1, 3))
    if three is None or not is_close(three, ref.gd_trajectory(w0, 1.0, 2.0, 0.1, 3)):
        raise Feedback(
            "gd_trajectory: num_steps = 0 is checked once the trajectory itself is right."
        )
    got = as_array(student.gd_trajectory(w0, 1.0, 2.0, 0.1, 0), "gd_trajectory(…, 0)", (1, 2))
    expect_close(got, w0[None, :], "gd_trajectory(…, 0)")


@item("contraction_factors")
def test_contraction_factors(student, ref, rng):
    """contraction_factors: (ρ1, ρ2) = (1 − η a, 1 − η b) for three (a, b, η)"""
    for a, b, lr in CASES:
        want = np.array(ref.contraction_factors(a, b, lr))
        got = as_tuple(student.contraction_factors(a, b, lr), "contraction_factors", 2)
        got = np.array([as_number(g, "ρ") for g in got])
        expect_close(
            got,
            want,
            "(ρ1, ρ2)",
            mistakes={
                "it has the sign of η flipped: ρ_i = 1 − η a_i.": 2 - want,
                "ρ1 and ρ2 are swapped: ρ1 goes with a, ρ2 with b.": want[::-1],
                "it looks like η a and η b; ρ_i = 1 − η a_i.": 1 - want,
            },
        )


@item("max_stable_lr")
def test_max_stable_lr(student, ref, rng):
    """max_stable_lr: 2 / max(a, b) for a > b, a < b and a = b"""
    for a, b in [(3.0, 0.5), (0.2, 5.0), (2.0, 2.0)]:
        want = ref.max_stable_lr(a, b)
        got = _number(student.max_stable_lr(a, b), "max_stable_lr(a, b)")
        expect_close(
            got,
            np.array(want),
            "max_stable_lr(a, b)",
            mistakes={
                "it looks like 1 / max(a, b): |1 − η a| < 1 allows η up to 2/a.": want / 2,
                "it looks like 2 / min(a, b): the larger curvature limits η.": 2 / min(a, b),
                "it looks like 2 / (a + b), the optimal rate, not the stability bound.": 2
                / (a + b),
            },
        )


@item("optimal_lr")
def test_optimal_lr(student, ref, rng):
    """optimal_lr: 2 / (a + b) for three (a, b)"""
    for a, b in [(3.0, 0.5), (0.2, 5.0), (100.0, 1.0)]:
        want = ref.optimal_lr(a, b)
        got = _number(student.optimal_lr(a, b), "optimal_lr(a, b)")
        expect_close(
            got,
            np.array(want),
            "optimal_lr(a, b)",
            mistakes={
                "it looks like 1 / max(a, b), which zeroes one ρ but leaves the other large; "
                "balance |ρ1| = |ρ2| instead.": 1 / max(a, b),
                "it looks like 2 / max(a, b), the edge of stability.": 2 / max(a, b),
                "it looks like 1 / (a + b).": 1 / (a + b),
            },
        )


@item("steps_to_tolerance")
@weight(2)
def test_steps_to_tolerance_converging(student, ref, rng):
    """steps_to_tolerance: converging runs, including a/b = 100 with η = 1/a"""
    for w0, a, b, lr, tol in [
        ((1.0, 1.0), 1.0, 0.1, 1.0, 1e-3),
        ((0.5, -2.0), 100.0, 1.0, 0.01, 1e-4),
        ((3.0, 0.2), 2.0, 1.5, 0.4, 0.05),
    ]:
        w0 = np.array(w0)
        want = ref.steps_to_tolerance(w0, a, b, lr, tol)
        got = as_number(
            student.steps_to_tolerance(w0, a, b, lr, tol), "steps_to_tolerance", finite=False
        )
        if got != want:
            raise _wrong_steps(got, want, w0, a, b, lr, tol)


@item("steps_to_tolerance")
def test_steps_to_tolerance_edges(student, ref, rng):
    """steps_to_tolerance: already converged (t = 0) and divergent (math.inf)"""
    got = as_number(
        student.steps_to_tolerance(np.array([0.01, 0.0]), 1.0, 1.0, 0.5, 0.1),
        "steps_to_tolerance when ‖w0‖ ≤ tol",
        finite=False,
    )
    if got != 0:
        raise Feedback("steps_to_tolerance should be 0 when ‖w0‖ ≤ tol already.")
    a, b = 4.0, 1.0
    lr = 1.1 * ref.max_stable_lr(a, b)  # |ρ1| > 1: w1 grows without bound
    raw = student.steps_to_tolerance(np.array([1.0, 1.0]), a, b, lr, 1e-3)
    got = raw if isinstance(raw, Unusable) else as_number(raw, "steps_to_tolerance", finite=False)
    if isinstance(got, Unusable) or not math.isinf(got) or got < 0:
        raise Feedback(
            "steps_to_tolerance should return math.inf when gradient descent diverges "
            "(|ρ1| or |ρ2| > 1)."
        )


@item("steps_to_tolerance")
def test_steps_to_tolerance_fast(student, ref, rng):
    """steps_to_tolerance: fast (under 2 s) and exact for a/b = 10⁶ with η = 1/a"""
    w0, a, b, lr, tol = np.array([1.0, 1.0]), 1e6, 1.0, 1e-6, 1e-3
    want = ref.steps_to_tolerance(w0, a, b, lr, tol)
    start = time.monotonic()
    raw = student.steps_to_tolerance(w0, a, b, lr, tol)
    elapsed = time.monotonic() - start
    if elapsed > FAST_SECONDS:
        raise Feedback(
            f"steps_to_tolerance took {elapsed:.1f} s for a/b = 10⁶ (the limit is "
            f"{FAST_SECONDS:g} s): compute the answer from w_i(t) = ρ_i^t w_i(0) instead of "
            "running gradient descent step by step."
        )
    got = as_number(raw, "steps_to_tolerance", finite=False)
    if got != want:
        raise _wrong_steps(got, want, w0, a, b, lr, tol)


def _wrong_steps(
    got: float, want: float, w0: np.ndarray, a: float, b: float, lr: float, tol: float
) -> Feedback:
    """What is wrong with a step count ``got`` for a converging run that needs ``want``.

    The modelled approximation is the bound ‖w(t)‖ ≤ max_i |ρ_i|^t ‖w(0)‖, solved for t:
    ⌈log(tol/‖w(0)‖) / log max_i |ρ_i|⌉. It over-counts whenever the coordinates shrink
    at different rates (or one starts at 0), since ‖w(t)‖ then falls faster than the bound.
    """
    what, k = "steps_to_tolerance", abs(got - want)
    if math.isinf(got):
        return Feedback(
            f"{what} returned math.inf for a run that converges (every |ρ_i| < 1).",
            what=what, problem=Problem.VALUE,
        )  # fmt: skip
    if not float(got).is_integer():
        return Feedback(
            f"{what} should be a whole number of steps (the smallest integer t with "
            "‖w(t)‖₂ ≤ tol), not a fraction.",
            what=what, problem=Problem.VALUE,
        )  # fmt: skip
    if k == 1:
        message = "off by one: it is the number of steps taken, so w(0) = w0 counts as t = 0."
        return Feedback(f"{what} is {message}", what=what, problem=Problem.MISTAKE,
                        mistake=message)  # fmt: skip
    worst = max(abs(1.0 - lr * a), abs(1.0 - lr * b))
    bound = math.log(tol / float(np.linalg.norm(w0))) / math.log(worst)
    if got in (math.ceil(bound), math.floor(bound), round(bound)):
        message = (
            "it matches the bound max|ρ_i|^t ‖w(0)‖ ≤ tol, which over-counts when the "
            "coordinates shrink at different rates; count the steps until ‖w(t)‖₂ itself, "
            "with w_i(t) = ρ_i^t w_i(0), is ≤ tol."
        )
        return Feedback(f"{what} is wrong: {message}", what=what, problem=Problem.MISTAKE,
                        mistake=message)  # fmt: skip
    if got > want:
        return Feedback(
            f"{what} counts {k:g} steps too many: ‖w(t)‖₂ is ≤ tol earlier. An estimate that "
            "bounds ‖w(t)‖ over-counts; find the smallest t exactly.",
            what=what, problem=Problem.VALUE,
        )  # fmt: skip
    return Feedback(
        f"{what} counts {k:g} steps too few: ‖w(t)‖₂ is still above tol then. An estimate "
        "that under-counts ‖w(t)‖ stops too early; find the smallest t exactly.",
        what=what, problem=Problem.VALUE,
    )  # fmt: skip
