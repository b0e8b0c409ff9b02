"""End-to-end grading: the mutation catalog, correct variants, cheats, examples, the CLI."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import nbformat
import pytest

from autograder.grade.batch import grade_all
from autograder.rubric import load_rubric
from autograder.run.sandbox import Limits, default_runtime
from autograder.submissions import discover
from examples.build_examples import submission
from tests.conftest import REPO
from tests.hostile.eq_subclass import CASE as EQ_SUBCLASS
from tests.mutations import ALTERNATIVES, MUTATIONS, dependents

RUBRIC = load_rubric()
FULL = {i.id: i.points for i in RUBRIC.auto}

# Looks for the reference on disk and in memory; falls back to zeros.
STEAL_REFERENCE = """
def backward(x, y, W1, W2):
    import os, sys
    for mod in list(sys.modules.values()):
        f = getattr(mod, "backward", None)
        if f is not None and getattr(mod, "__name__", "") != "__main__":
            return f(x, y, W1, W2)
    for root in ("/", "/work", "/root", os.getcwd(), "/proc/1/cwd"):
        for dirpath, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in ("usr", "proc", "sys", "dev")]
            if "hw2.py" in files:
                ns = {}
                exec(open(os.path.join(dirpath, "hw2.py")).read(), ns)
                return ns["backward"](x, y, W1, W2)
    return np.zeros_like(W1), np.zeros((y.shape[0], W1.shape[0]))
"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the whole catalog once: correct, mutations, alternatives and cheats."""
    folder = tmp_path_factory.mktemp("catalog")
    nbs = {"correct": submission(), "stub": submission(solved=False)}
    nbs |= {mid: submission({fn: src}) for mid, fn, src, _ in MUTATIONS}
    nbs |= {name: submission(cells) for name, cells in ALTERNATIVES}
    nbs["steal_reference"] = submission({"backward": STEAL_REFERENCE})
    nbs["eq_subclass"] = submission(EQ_SUBCLASS.overrides)
    for name, nb in nbs.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    results = grade_all(
        discover([folder]), runtime=default_runtime(), jobs=2, limits=Limits(), unsafe=False
    )
    return {r.student: r for r in results}


def _failures(result, fn):
    return " | ".join(t.message for t in result.tests if t.item == fn and not t.passed)


@pytest.mark.slow
def test_reference_earns_full_marks(graded):
    r = graded["correct"]
    assert r.status == "graded"
    assert r.auto_scores(RUBRIC) == FULL, [t for t in r.tests if not t.passed]


@pytest.mark.slow
def test_stub_earns_zero_with_a_reason_per_function(graded):
    r = graded["stub"]
    assert r.auto_total(RUBRIC) == 0
    for fn in FULL:
        assert "not implemented yet" in _failures(r, fn), fn


def test_catalog_is_large_enough():
    assert len(MUTATIONS) >= 15
    assert len({fn for _, fn, _, _ in MUTATIONS}) >= 10
    assert len(ALTERNATIVES) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("mid, fn, fragment", [(m, f, x) for m, f, _, x in MUTATIONS])
def test_mutation_loses_points_exactly_where_it_should(graded, mid, fn, fragment):
    r = graded[mid]
    scores = r.auto_scores(RUBRIC)
    assert scores[fn] < FULL[fn], f"{mid}: {fn} kept full marks"
    for other, points in FULL.items():
        if other not in dependents(fn):
            assert scores[other] == points, f"{mid}: {other} lost points: {_failures(r, other)}"
    assert fragment in _failures(r, fn), _failures(r, fn)


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name, _ in ALTERNATIVES])
def test_correct_alternatives_earn_full_marks(graded, name):
    r = graded[name]
    bad = {fn: _failures(r, fn) for fn, s in r.auto_scores(RUBRIC).items() if s != FULL[fn]}
    assert not bad


@pytest.mark.slow
def test_reading_the_reference_gains_nothing(graded):
    r = graded["steal_reference"]
    scores = r.auto_scores(RUBRIC)
    assert scores["backward"] == 0
    assert scores["sigmoid"] == FULL["sigmoid"]


@pytest.mark.slow
def test_an_array_claiming_equality_gains_nothing(graded):
    r = graded["eq_subclass"]
    assert r.auto_scores(RUBRIC)["sigmoid"] == 0
    assert "does not match" in _failures(r, "sigmoid")


@pytest.mark.slow
def test_feedback_never_contains_grader_code_or_reference_values(graded):
    secrets = ["def test_", "ref.", "rng.normal", "expect_close", "solutions/hw2.py"]
    for r in graded.values():
        for t in r.tests:
            for s in secrets:
                assert s not in t.message, (r.student, t.name, t.message)


# -- the command line ----------------------------------------------------------------


def _cli(*args, cwd=REPO):
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["grade", "no/such/folder"], "no such file or folder"),
        (["grade", "--bogus", "examples/submissions"], "unrecognized arguments"),
        (["grade", "Makefile"], "not a notebook"),
        (["grade", "examples/submissions", "--jobs", "0"], "--jobs"),
    ],
)
def test_bad_command_line_fails_cleanly(tmp_path, args, message):
    out = tmp_path / "out"
    p = _cli(*args, "--out", str(out))
    assert p.returncode == 2
    assert message in p.stderr
    assert "Traceback" not in p.stderr
    assert not out.exists()


def test_empty_folder_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    p = _cli("grade", str(tmp_path / "empty"), "--out", str(tmp_path / "out"))
    assert p.returncode == 2 and "no notebooks" in p.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_grade_examples_end_to_end(tmp_path):
    """The README's main job, on the bundled examples: CSV, results.json, a row each."""
    out = tmp_path / "out"
    junk = tmp_path / "extra"
    junk.mkdir()
    (junk / "broken.ipynb").write_text('{"cells": [')
    p = _cli("grade", "examples/submissions", str(junk), "--out", str(out), "--no-pdf")
    assert p.returncode == 0, p.stderr
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert set(rows) == {"correct", "typical_mistakes", "stub", "broken"}
    assert rows["correct"]["auto_total"] == "4"
    assert rows["stub"]["auto_total"] == "0"
    assert 0 < float(rows["typical_mistakes"]["auto_total"]) < 4
    assert rows["broken"]["status"] == "unreadable" and "not a valid" in rows["broken"]["note"]
    assert rows["correct"]["manual_total"] == "" and rows["correct"]["max"] == "10"
    data = json.loads((out / "results" / "typical_mistakes.json").read_text())
    assert {"score", "tests", "output"} <= set(data)
    for t in data["tests"]:
        assert {"name", "score", "max_score", "output", "visibility"} <= set(t)
    backward = next(t for t in data["tests"] if t["name"].startswith("backward"))
    assert backward["score"] < backward["max_score"] and "factor 2" in backward["output"]
    pending = [t for t in data["tests"] if "manual" in t["tags"]]
    assert len(pending) == 8 and all("Pending manual" in t["output"] for t in pending)
    first = (out / "grades.csv").read_bytes()
    p = _cli("grade", "examples/submissions", str(junk), "--out", str(out), "--no-pdf")
    assert p.returncode == 0 and (out / "grades.csv").read_bytes() == first
