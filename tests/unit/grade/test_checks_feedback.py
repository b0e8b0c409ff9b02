"""checks: every Feedback carries what was checked and what was wrong, beside its sentence."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.grade.checks import (
    Feedback,
    Problem,
    Seq,
    Unusable,
    as_array,
    as_number,
    as_tuple,
    expect_close,
    expect_equal_number,
)

WANT = np.array([[1.0, 2.0], [3.0, 4.0]])
MISTAKES = {"it looks transposed (Wᵀ for W).": WANT.T, "a factor 2 is missing.": WANT / 2}


def _feedback(fn, *args, **kwargs) -> Feedback:
    with pytest.raises(Feedback) as info:
        fn(*args, **kwargs)
    return info.value


def test_a_modelled_mistake_is_named_in_fields_and_sentence():
    fb = _feedback(expect_close, WANT / 2, WANT, "∂L/∂W1", mistakes=MISTAKES)
    assert (fb.what, fb.problem, fb.mistake) == (
        "∂L/∂W1",
        Problem.MISTAKE,
        "a factor 2 is missing.",
    )
    assert str(fb) == "∂L/∂W1 is wrong: a factor 2 is missing."
    assert fb.gist == "a factor 2 is missing."
    # The first mistake that matches wins, in the order the grader listed them.
    assert _feedback(expect_close, WANT.T, WANT, "W", mistakes=MISTAKES).mistake.startswith("it")


def test_a_wrong_value_matching_no_mistake():
    fb = _feedback(expect_close, WANT + 1, WANT, "ŷ", mistakes=MISTAKES)
    assert (fb.what, fb.problem, fb.mistake) == ("ŷ", Problem.VALUE, "")
    assert str(fb) == fb.gist == "ŷ does not match the expected values."
    fb = _feedback(expect_equal_number, 1.0, 2.0, "η*")
    assert (fb.problem, str(fb)) == (Problem.VALUE, "η* does not match the expected value.")


@pytest.mark.parametrize(
    ("call", "sentence"),
    [
        (lambda: as_array(Unusable("generator"), "u", (2,)),
         "u should be numbers (an array) but is a generator."),
        (lambda: as_array(Seq([np.zeros(2), np.zeros(3)], kind="list"), "u", (2,)),
         "u should be an array of shape (2,) but is a list of 2 items that numpy cannot turn "
         "into one array of numbers."),
        (lambda: as_array(np.zeros((2, 3)), "u", (3, 2)),
         "u has shape (2, 3) but should have shape (3, 2) (it looks transposed)."),
        (lambda: as_number(np.zeros(2), "u"), "u should be a single number but is an array of "
         "shape (2,)."),
        (lambda: as_tuple(np.zeros(3), "u", 2),
         "u should return 2 values (a tuple), but returned an array of shape (3,)."),
    ],
)  # fmt: skip
def test_a_value_of_the_wrong_form(call, sentence):
    fb = _feedback(call)
    assert (fb.what, fb.problem, fb.mistake, str(fb)) == ("u", Problem.FORM, "", sentence)


def test_nan_or_inf():
    fb = _feedback(as_array, np.array([1.0, np.inf]), "ρ1", (2,))
    assert (fb.what, fb.problem) == ("ρ1", Problem.NONFINITE)


def test_a_graders_own_sentence_is_its_gist():
    fb = Feedback("gd_step modified the caller's w in place; return a new array.")
    assert (fb.what, fb.problem, fb.mistake) == ("", Problem.OTHER, "")
    assert fb.gist == str(fb)
    assert isinstance(fb, AssertionError)  # pytest reports it as a failed assertion
