"""Tiny decorators for hidden graders, one per results.json field (gradescope-utils style).

    @item("backward")            # the rubric item (student function) this test grades
    @weight(2)                   # share of the item's points, relative to its other tests
    @visibility("after_published")
    def test_backward_batch(student, ref, rng):
        "backward: dW1 and dW2 on a 7×5 batch (h ≠ d)"   ← the test's results.json name

Each is a pytest marker, so a grader stays an ordinary pytest function.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest

F = TypeVar("F", bound=Callable[..., object])
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def item(item_id: str) -> Callable[[F], F]:
    """The rubric item graded by this test: an auto item's id, i.e. the function name."""
    return pytest.mark.hw2_item(item_id)


def weight(w: float) -> Callable[[F], F]:
    """This test's share of its item's points, relative to the item's other tests (default 1)."""
    if w <= 0:
        raise ValueError("weight must be positive")
    return pytest.mark.hw2_weight(float(w))


def visibility(v: str) -> Callable[[F], F]:
    """Gradescope visibility of this test's result (default "after_published")."""
    if v not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}")
    return pytest.mark.hw2_visibility(v)


MARKERS = {
    "hw2_item": "hw2_item(id): the rubric item a hidden grader test grades",
    "hw2_weight": "hw2_weight(w): the test's relative share of its item's points",
    "hw2_visibility": "hw2_visibility(v): Gradescope visibility of the test's result",
}
