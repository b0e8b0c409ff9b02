"""Checks a returned value against the reference, in the anchors' order.

For every array that came back from the sandbox:

1. it is an array at all (not a sequence, generator, dict, …) of a numeric dtype;
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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_RTOL = 1e-4


class Feedback(AssertionError):
    """A wrong answer, with a message written for the student."""


@dataclass(frozen=True)
class Unusable:
    """A returned value that could not cross as plain numbers (a generator, a dict, …)."""

    type_name: str


def _a(type_name: str) -> str:
    return ("an " if type_name[:1].lower() in "aeiou" else "a ") + type_name


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def as_array(value: Any, what: str, shape: tuple[int, ...], *, finite: bool = True) -> np.ndarray:
    """Steps 1–4: a float64 ndarray of exactly ``shape`` (finite unless told otherwise)."""
    if isinstance(value, Unusable):
        raise Feedback(f"{what} should be a numpy array but is {_a(value.type_name)}.")
    if isinstance(value, tuple):
        raise Feedback(f"{what} should be a single array but is a tuple of {len(value)} items.")
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise Feedback(f"{what} should be a numeric numpy array.")
    arr = value.astype(np.float64)
    if arr.shape != shape:
        hint = " (it looks transposed)" if arr.shape == shape[::-1] and len(shape) == 2 else ""
        raise Feedback(
            f"{what} has shape {_shape(arr.shape)} but should have shape {_shape(shape)}{hint}."
        )
    if finite and not np.all(np.isfinite(arr)):
        raise Feedback(f"{what} contains nan or inf; check for overflow or a division by zero.")
    return arr


def as_number(value: Any, what: str, *, finite: bool = True) -> float:
    """A single number: a Python float/int or a 0-d array (a (1,)-shaped array is refused)."""
    if isinstance(value, Unusable):
        raise Feedback(f"{what} should be a number but is {_a(value.type_name)}.")
    if isinstance(value, np.ndarray) and value.shape != ():
        raise Feedback(
            f"{what} should be a single number but is an array of shape {_shape(value.shape)}."
        )
    return float(as_array(value, what, (), finite=finite))


def as_tuple(value: Any, what: str, length: int) -> tuple[Any, ...]:
    if not isinstance(value, tuple) or len(value) != length:
        got = f"a tuple of {len(value)}" if isinstance(value, tuple) else "not a tuple"
        raise Feedback(f"{what} should return a tuple of {length} values, but returned {got}.")
    return value


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
            raise Feedback(f"{what} is wrong: {message}")
    raise Feedback(f"{what} {default}")


def expect_equal_number(got: float, want: float, what: str, rtol: float = DEFAULT_RTOL) -> None:
    if not is_close(np.array(got), np.array(want), rtol):
        raise Feedback(f"{what} does not match the expected value.")
