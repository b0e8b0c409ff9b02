"""grade.cache: a result is reused only under the same key; anything damaged means regrade."""

from __future__ import annotations

import json
from pathlib import Path

from autograder.grade.cache import ResultCache, grader_fingerprint, submission_key
from autograder.grade.outcome import SubmissionResult, TestOutcome
from autograder.run.sandbox import Limits
from autograder.submissions import Submission


def _result(student: str = "ada") -> SubmissionResult:
    test = TestOutcome(
        item="sigmoid",
        name="sigmoid: values",
        weight=2.0,
        visibility="after_published",
        passed=False,
        message="σ is wrong",
    )
    return SubmissionResult(student, f"{student}.ipynb", "graded", tests=[test], seconds=1.5)


def test_submission_key_depends_on_the_bytes_and_the_fingerprint(tmp_path: Path):
    nb = tmp_path / "a.ipynb"
    nb.write_bytes(b'{"cells": []}')
    key = submission_key(Submission("x", nb), "f1")
    assert key == submission_key(Submission("x", nb), "f1")
    assert key != submission_key(Submission("x", nb), "f2")
    nb.write_bytes(b'{"cells": [] }')
    assert submission_key(Submission("x", nb), "f1") != key


def test_an_unreadable_notebook_still_gets_a_key(tmp_path: Path):
    missing = tmp_path / "gone.ipynb"
    gone = submission_key(Submission("x", missing), "f")
    folder = submission_key(Submission("x", tmp_path), "f")
    assert len(gone) == len(folder) == 64  # both unreadable, both keyed (by their reason)
    assert gone != folder
    nb = tmp_path / "empty.ipynb"
    nb.write_bytes(b"")
    assert submission_key(Submission("x", missing), "f") != submission_key(Submission("x", nb), "f")


def test_fingerprint_depends_on_limits_and_isolation():
    base = grader_fingerprint(Limits(), unsafe=False)
    assert base == grader_fingerprint(Limits(), unsafe=False)
    assert base != grader_fingerprint(Limits(), unsafe=True)
    assert base != grader_fingerprint(Limits(memory_mb=Limits().memory_mb + 1), unsafe=False)


def test_put_then_get(tmp_path: Path):
    cache = ResultCache(tmp_path)
    cache.put("ada", "k1", _result())
    assert cache.get("ada", "k1") == _result()
    assert cache.get("ada", "k2") is None
    assert cache.get("bob", "k1") is None
    assert [p.name for p in (tmp_path / ".state").iterdir()] == ["ada.json"]  # no temp file left


def test_a_damaged_entry_means_regrade(tmp_path: Path):
    cache = ResultCache(tmp_path)
    cache.put("ada", "k1", _result())
    path = tmp_path / ".state" / "ada.json"
    good = json.loads(path.read_text())
    for damaged in (
        b"", b"\x00\xff", b"{", b"[]", b"null", b'{"key": "k1"}',
        json.dumps({"key": "k1", "result": {"student": "ada"}}).encode(),
        json.dumps({"key": "k1", "result": [1, 2]}).encode(),
        json.dumps({**good, "result": {**good["result"], "tests": [{"nope": 1}]}}).encode(),
    ):  # fmt: skip
        path.write_bytes(damaged)
        assert cache.get("ada", "k1") is None, damaged
    cache.put("ada", "k1", _result())  # and a rerun overwrites it
    assert cache.get("ada", "k1") == _result()
