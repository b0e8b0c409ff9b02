"""student._tree: the reply tree from the sandbox is untrusted; anything malformed is Unusable."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.grade.checks import Unusable
from autograder.grade.student import _tree

ARRAYS = [np.arange(3.0), np.array(2.5)]


def test_well_formed_trees():
    assert _tree({"t": "array", "i": 1}, ARRAYS) is ARRAYS[1]
    got = _tree({"t": "seq", "items": [{"t": "array", "i": 0}, {"t": "array", "i": 1}]}, ARRAYS)
    assert isinstance(got, tuple | list) and [g is a for g, a in zip(got, ARRAYS, strict=True)] == [
        True,
        True,
    ]
    bad = _tree({"t": "bad", "type": "generator"}, ARRAYS)
    assert isinstance(bad, Unusable) and "generator" in bad.type_name


@pytest.mark.parametrize(
    "node",
    [
        None,
        3,
        "array",
        [],
        [{"t": "array", "i": 0}],
        {},
        {"t": "nope"},
        {"t": "array"},
        {"t": "array", "i": 2},
        {"t": "array", "i": -1},
        {"t": "array", "i": True},
        {"t": "array", "i": 0.0},
        {"t": "array", "i": "0"},
        {"t": "seq"},
        {"t": "seq", "items": "ab"},
        {"t": "seq", "items": {"0": 1}},
        {"t": ["array"], "i": 0},
    ],
)
def test_malformed_nodes_are_unusable(node):
    assert isinstance(_tree(node, ARRAYS), Unusable)


def test_malformed_leaves_inside_a_sequence_are_unusable():
    got = _tree({"t": "seq", "items": [{"t": "array", "i": 0}, {"t": "array", "i": 9}, 7]}, ARRAYS)
    assert got[0] is ARRAYS[0]
    assert isinstance(got[1], Unusable) and isinstance(got[2], Unusable)


def test_deep_nesting_is_cut_off_without_recursing_forever():
    node: dict = {"t": "array", "i": 0}
    for _ in range(10_000):
        node = {"t": "seq", "items": [node]}
    got = _tree(node, ARRAYS)
    depth = 0
    while isinstance(got, tuple | list):
        (got,) = got
        depth += 1
    assert isinstance(got, Unusable) and depth <= 8


def test_too_many_items_is_unusable():
    many = {"t": "seq", "items": [{"t": "array", "i": 0}] * 100_000}
    assert isinstance(_tree(many, ARRAYS), Unusable)


def test_a_long_type_name_is_cut():
    bad = _tree({"t": "bad", "type": "\x1b]52;c;" + "x" * 10_000}, ARRAYS)
    assert isinstance(bad, Unusable) and len(bad.type_name) <= 100
