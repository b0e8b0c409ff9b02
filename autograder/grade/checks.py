"""Checks a returned value against the reference, in the anchors' order.

For every array that came back from the sandbox:

1. numpy converts it losslessly to numbers: an array, a Python or numpy scalar, or a
   list/tuple of them of one shape (never a generator, dict, string …); the container
   never costs marks, and feedback names it ("a list");
2. it is cast to float64;
3. its shape is exactly the expected one (``allclose`` would broadcast (3, 1)
   against (3,) and pass a wrong answer);
4. all entries are finite (unless infinity is a legitimate answer);
5. it is close to the reference: |got − want| ≤ rtol·|want| + rtol·max|want|.

``rtol = 1e-4`` by default: loose enough for a correct float32 or loop-based
answer (float32 carries about 7 digits), tight enough that every modelled
mistake (a factor 2, a transpose, a mean for a sum, σ for σ') is far outside.

Failures raise :class:`Feedback`, whose message is shown to the student: it
names the quantity and the likely mistake, never a reference value.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_RTOL = 1e-4


class Problem(enum.Enum):
    """What a check found wrong with an answer."""

    # Not numbers, or the wrong shape or number of values. The notebook's self-checks
    # reject every answer a FORM feedback rejects (tests/test_grader.py checks that they agree).
    FORM = "form"
    NONFINITE = "nonfinite"  # nan or inf where a finite answer is expected
    MISTAKE = "mistake"  # matches a modelled mistake (``Feedback.mistake`` explains it)
    VALUE = "value"  # the numbers are wrong in no modelled way
    OTHER = "other"  # a grader's own sentence


class Feedback(AssertionError):
    """A wrong answer; ``str(exc)`` is the sentence written for the student.

    ``what`` names the quantity checked ("∂L/∂W1"), ``problem`` the kind of failure and
    ``mistake`` the modelled mistake's explanation when the answer matched one. Every
    field is written by the grader: none holds a string the student produced.
    """

    def __init__(
        self, message: str, *, what: str = "", problem: Problem = Problem.OTHER,
        mistake: str = "",
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.what, self.problem, self.mistake = what, problem, mistake

    @property
    def gist(self) -> str:
        """The failure without the quantity's name, to group students by: the modelled
        mistake's explanation, else the whole message."""
        return self.mistake or str(self)


@dataclass(frozen=True)
class Unusable:
    """A returned value that could not cross as plain numbers (a generator, a dict, …)."""

    type_name: str


class Seq(tuple):
    """A list or tuple the student returned; ``kind`` ("list" or "tuple") names which."""

    kind: str

    def __new__(cls, items: Any = (), kind: str = "tuple") -> Seq:
        self = super().__new__(cls, items)
        self.kind = kind
        return self


@dataclass(frozen=True)
class Text:
    """A name the student returned (graph nodes), normalised on the trusted side.

    ``norm`` is NFKC without whitespace, or an opaque token for anything unusual; it is
    compared with known names and never shown to anyone.
    """

    norm: str


def _a(type_name: str) -> str:
    return ("an " if type_name[:1].lower() in "aeiou" else "a ") + type_name


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def describe(value: Any) -> str:
    """What the student returned, in words: "a list of 3 items", "an array of shape (2,)"."""
    if isinstance(value, Unusable):
        return _a(value.type_name)
    if isinstance(value, Seq):
        return f"a {value.kind} of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} items"
    if isinstance(value, Text):
        return "a string"
    if isinstance(value, np.ndarray):
        return (
            "a single number" if value.shape == () else f"an array of shape {_shape(value.shape)}"
        )
    return _a(type(value).__name__)


def to_array(value: Any) -> np.ndarray | None:
    """``value`` as a float64 array if numpy converts it losslessly, else None.

    An array, a number, or a list/tuple (nested or not) of numbers and arrays of one
    shape all qualify: the container never costs marks.
    """
    if isinstance(value, tuple):
        items = [to_array(v) for v in value]
        if any(i is None for i in items) or len({i.shape for i in items}) > 1:
            return None
        return np.array(items, dtype=np.float64).reshape(
            len(items), *(items[0].shape if items else ())
        )
    if isinstance(value, np.ndarray | np.generic) and value.dtype.kind in "biuf":
        return np.asarray(value).astype(np.float64)
    return None


def as_array(value: Any, what: str, shape: tuple[int, ...], *, finite: bool = True) -> np.ndarray:
    """Steps 1–4: a float64 ndarray of exactly ``shape`` (finite unless told otherwise)."""
    arr = to_array(value)
    if arr is None:
        if isinstance(value, Unusable):
            raise Feedback(
                f"{what} should be numbers (an array) but is {describe(value)}.",
                what=what, problem=Problem.FORM,
            )  # fmt: skip
        if isinstance(value, tuple):
            raise Feedback(
                f"{what} should be an array of shape {_shape(shape)} but is {describe(value)} "
                "that numpy cannot turn into one array of numbers.",
                what=what, problem=Problem.FORM,
            )  # fmt: skip
        raise Feedback(
            f"{what} should be a numeric array but is {describe(value)}.",
            what=what, problem=Problem.FORM,
        )  # fmt: skip
    if arr.shape != shape:
        hint = " (it looks transposed)" if arr.shape == shape[::-1] and len(shape) == 2 else ""
        given = f" ({describe(value)})" if isinstance(value, tuple) else ""
        raise Feedback(
            f"{what} has shape {_shape(arr.shape)}{given} but should have shape "
            f"{_shape(shape)}{hint}.",
            what=what, problem=Problem.FORM,
        )  # fmt: skip
    if finite and not np.all(np.isfinite(arr)):
        raise Feedback(
            f"{what} contains nan or inf; check for overflow or a division by zero.",
            what=what, problem=Problem.NONFINITE,
        )  # fmt: skip
    return arr


def as_number(value: Any, what: str, *, finite: bool = True) -> float:
    """A single number: a Python or numpy scalar, or a 0-d array."""
    if (isinstance(value, np.ndarray) and value.shape != ()) or isinstance(
        value, tuple | Unusable | Text
    ):
        raise Feedback(
            f"{what} should be a single number but is {describe(value)}.",
            what=what, problem=Problem.FORM,
        )  # fmt: skip
    return float(as_array(value, what, (), finite=finite))


def as_tuple(value: Any, what: str, length: int) -> tuple[Any, ...]:
    """``length`` values: a tuple, a list, or an array whose first axis has that length."""
    if isinstance(value, tuple) and len(value) == length:
        return tuple(value)
    if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == length:
        return tuple(np.asarray(value[i]) for i in range(length))
    raise Feedback(
        f"{what} should return {length} values (a tuple), but returned {describe(value)}.",
        what=what, problem=Problem.FORM,
    )  # fmt: skip


def is_close(got: np.ndarray, want: np.ndarray, rtol: float = DEFAULT_RTOL) -> bool:
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return False
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    return bool(np.allclose(got, want, rtol=rtol, atol=rtol * max(scale, 1e-12)))


def expect_close(
    got: np.ndarray,
    want: np.ndarray,
    what: str,
    *,
    mistakes: Mapping[str, np.ndarray] | None = None,
    rtol: float = DEFAULT_RTOL,
) -> None:
    """Step 5. On a mismatch, name the first modelled mistake the answer matches.

    ``mistakes`` maps a student-facing explanation to the value that mistake
    would produce, computed by the trusted side on the same inputs.
    """
    if not is_close(got, want, rtol):
        explain_mismatch(got, what, mistakes)


def explain_mismatch(
    got: np.ndarray,
    what: str,
    mistakes: Mapping[str, np.ndarray] | None = None,
    default: str = "does not match the expected values.",
) -> None:
    """Raise Feedback naming the first modelled mistake ``got`` matches, else ``default``."""
    for message, variant in (mistakes or {}).items():
        if is_close(got, np.asarray(variant, dtype=np.float64)):
            raise Feedback(
                f"{what} is wrong: {message}", what=what, problem=Problem.MISTAKE, mistake=message
            )
    raise Feedback(f"{what} {default}", what=what, problem=Problem.VALUE)


def expect_equal_number(got: float, want: float, what: str, rtol: float = DEFAULT_RTOL) -> None:
    if not is_close(np.array(got), np.array(want), rtol):
        raise Feedback(
            f"{what} does not match the expected value.", what=what, problem=Problem.VALUE
        )
