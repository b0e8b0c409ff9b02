"""End-to-end grading: the mutation catalog, correct variants, cheats, examples, the CLI."""

from __future__ import annotations

import ast
import csv
import json
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from autograder import PACKAGE_DIR
from autograder.grade.batch import grade_all
from autograder.grade.checks import Feedback, Problem
from autograder.rubric import load_rubric
from autograder.run.sandbox import Limits, default_runtime
from autograder.submissions import discover
from examples.build_examples import submission
from tests.conftest import REPO, TYPICAL_MISTAKES_AUTO
from tests.corpus import SUBMISSIONS as CORPUS
from tests.hostile.eq_subclass import CASE as EQ_SUBCLASS
from tests.mutations import ALTERNATIVES, DO_NOTHING, MUTATIONS, dependents
from tests.selfchecks import run_self_checks

RUBRIC = load_rubric()
FULL = {i.id: i.points for i in RUBRIC.auto}
AUTO_MAX = f"{sum(FULL.values()):g}"  # Q3's 4 points and Q1's graph

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
    nbs |= {f"corpus_{name}": submission(cells) for name, cells in CORPUS.items()}
    nbs["do_nothing"] = submission(DO_NOTHING)
    nbs["steal_reference"] = submission({"backward": STEAL_REFERENCE})
    nbs["eq_subclass"] = submission(EQ_SUBCLASS.overrides)
    for name, nb in nbs.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    results = grade_all(
        discover([folder]), runtime=default_runtime(), jobs=2, limits=Limits(), unsafe=False
    )
    return {r.student: (r, nbs[r.student]) for r in results}


def _result(graded, name):
    return graded[name][0]


def _failures(result, fn):
    return " | ".join(t.message for t in result.tests if t.item == fn and not t.passed)


@pytest.mark.slow
def test_reference_earns_full_marks(graded):
    r = _result(graded, "correct")
    assert r.status == "graded"
    assert r.auto_scores(RUBRIC) == FULL, [t for t in r.tests if not t.passed]


@pytest.mark.slow
def test_stub_earns_zero_with_a_reason_per_function(graded):
    r = _result(graded, "stub")
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
    r = _result(graded, mid)
    scores = r.auto_scores(RUBRIC)
    assert scores[fn] < FULL[fn], f"{mid}: {fn} kept full marks"
    for other, points in FULL.items():
        if other not in dependents(fn):
            assert scores[other] == points, f"{mid}: {other} lost points: {_failures(r, other)}"
    assert fragment in _failures(r, fn), _failures(r, fn)


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name, _ in ALTERNATIVES])
def test_correct_alternatives_earn_full_marks(graded, name):
    r = _result(graded, name)
    bad = {fn: _failures(r, fn) for fn, s in r.auto_scores(RUBRIC).items() if s != FULL[fn]}
    assert not bad


@pytest.mark.slow
def test_reading_the_reference_gains_nothing(graded):
    r = _result(graded, "steal_reference")
    scores = r.auto_scores(RUBRIC)
    assert scores["backward"] == 0
    assert scores["sigmoid"] == FULL["sigmoid"]


@pytest.mark.slow
def test_an_array_claiming_equality_gains_nothing(graded):
    r = _result(graded, "eq_subclass")
    assert r.auto_scores(RUBRIC)["sigmoid"] == 0
    assert "does not match" in _failures(r, "sigmoid")


@pytest.mark.slow
def test_feedback_never_contains_grader_code_or_reference_values(graded):
    secrets = ["def test_", "ref.", "rng.normal", "expect_close", "solutions/hw2.py"]
    for r, _ in graded.values():
        for t in r.tests:
            for s in secrets:
                assert s not in t.message, (r.student, t.name, t.message)


# -- the corpus of correct answers, doing nothing, and the self-checks ------------------


def test_corpus_is_large_and_varied():
    assert len(CORPUS) >= 15
    overridden = [fn for cells in CORPUS.values() for fn in cells]
    assert len(set(overridden)) >= 12  # most functions are written at least two ways
    assert len(overridden) >= 40


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_answer_earns_full_marks(graded, name):
    r = _result(graded, f"corpus_{name}")
    bad = {fn: _failures(r, fn) for fn, s in r.auto_scores(RUBRIC).items() if s != FULL[fn]}
    assert not bad
    assert r.auto_total(RUBRIC) == sum(FULL.values())


@pytest.mark.slow
def test_doing_nothing_earns_nothing(graded):
    r = _result(graded, "do_nothing")
    assert r.auto_total(RUBRIC) == 0, {t.name: t.message for t in r.tests if t.passed}


@pytest.mark.slow
def test_container_feedback_names_the_actual_type(graded):
    """A wrong answer in a list is called a list, not a tuple."""
    r = _result(graded, "trajectory_off_by_one")  # returns np.array of rows: an array
    assert "num_steps + 1 rows" in _failures(r, "gd_trajectory")
    r = _result(graded, "do_nothing")
    assert "but returned a list of 0 items" in _failures(r, "computational_graph")


def disagreements(result, nb) -> list[str]:
    """Where a notebook's self-checks and the hidden tests disagree about a submission.

    - A self-check that fails blames a function the hidden tests take points from.
    - A function the hidden tests reject for its form (type, container, shape) fails
      its self-check.
    """
    checks = run_self_checks(nb, list(FULL))
    scores = result.auto_scores(RUBRIC)
    out = []
    for fn, check in checks.items():
        if not check.passed and scores[check.blamed] == FULL[check.blamed]:
            out.append(
                f"check_{fn} rejects {check.blamed}, which earns full marks: {check.message}"
            )
    for t in result.tests:
        if not t.passed and t.problem == Problem.FORM.value and checks[t.item].passed:
            out.append(f"check_{t.item} passes, the hidden tests reject its form: {t.message}")
    assert set(checks) == set(FULL), "every function has a self-check"
    return out


AGREEMENT = (
    [f"corpus_{name}" for name in sorted(CORPUS)]
    + [m for m, *_ in MUTATIONS]
    + [name for name, _ in ALTERNATIVES]
    + ["correct", "stub", "do_nothing"]
)


@pytest.mark.slow
@pytest.mark.parametrize("name", AGREEMENT)
def test_self_checks_agree_with_the_hidden_tests(graded, name):
    result, nb = graded[name]
    assert not disagreements(result, nb)


@pytest.mark.slow
def test_agreement_check_can_fail(graded):
    """The agreement check flags a self-check that rejects an accepted answer, and one
    that accepts an answer the hidden tests reject for its form."""
    result, nb = graded["correct"]
    strict = nbformat.from_dict(nb)
    for cell in strict.cells:  # a self-check that refuses a correct float32 answer
        if cell.get("id") == "check_sigmoid":
            cell.source = "assert False, 'sigmoid: refused'\n" + cell.source
    assert any("check_sigmoid rejects sigmoid" in d for d in disagreements(result, strict))
    result, nb = graded["forward_shape_error"]
    lax = nbformat.from_dict(nb)
    for cell in lax.cells:  # a self-check that passes anything
        if cell.get("id") == "check_forward":
            cell.source = "pass"
    assert any("check_forward passes" in d for d in disagreements(result, lax))


# -- containers and names from the sandbox, unit level ---------------------------------


def test_lossless_containers_become_the_same_array():
    from autograder.grade.checks import Seq, as_array, as_number, as_tuple

    want = np.array([[1.0, 2.0], [3.0, 4.0]])
    rows = [np.array([1.0, 2.0]), np.array([3, 4], dtype=np.int64)]
    for value in (
        want,
        want.astype(np.float32),
        Seq(rows, kind="list"),
        Seq([Seq([np.array(1.0), np.array(2.0)], kind="tuple"), Seq(rows[1:], kind="list")[0]]),
    ):
        assert np.array_equal(as_array(value, "v", (2, 2)), want)
    assert as_number(np.float32(0.5), "v") == 0.5
    assert len(as_tuple(np.array([0.5, 0.25]), "v", 2)) == 2  # an array of ρ1, ρ2
    with pytest.raises(Feedback, match="is a list of 3 items"):
        as_number(Seq([np.array(1.0)] * 3, kind="list"), "v")
    with pytest.raises(Feedback, match=r"has shape \(3,\) \(a list of 3 items\)"):
        as_array(Seq([np.array(1.0)] * 3, kind="list"), "v", (2,))
    with pytest.raises(Feedback, match="but returned a tuple of 1 item"):
        as_tuple(Seq([np.array(1.0)]), "v", 2)
    ragged = Seq([np.zeros(2), np.zeros(3)], kind="list")
    with pytest.raises(Feedback, match="numpy cannot turn into one array"):
        as_array(ragged, "v", (2,))


def test_names_from_the_sandbox_are_bounded_and_normalised():
    from autograder.grade.checks import Seq, Text
    from autograder.grade.student import _tree
    from autograder.graders import graph

    nodes = [
        {"t": "str", "s": "y_hat"},
        {"t": "str", "s": "\\hat{y}"},
        {"t": "str", "s": "\x1b]52;c;cGF5bG9hZA==\x07"},  # a terminal escape
        {"t": "str", "s": "x" * 41},  # longer than the worker sends
        {"t": "str", "s": 7},
    ]
    got = _tree({"t": "seq", "kind": "list", "items": nodes}, [])
    assert isinstance(got, Seq) and got.kind == "list"
    assert graph.canonical(got[0]) == graph.canonical(got[1]) == "ŷ"
    assert got[2] == Text("\x00invalid") and "\x1b" not in repr(got)
    assert not isinstance(got[3], Text) and not isinstance(got[4], Text)
    bad = _tree({"t": "bad", "type": "\x1b[31mevil\n"}, [])
    assert "\x1b" not in bad.type_name and "\n" not in bad.type_name


def test_graph_edges_match_liberally_and_feedback_names_only_true_nodes():
    from autograder.grade.checks import Seq, Text
    from autograder.graders import graph

    def ops(*triples):
        return Seq(
            [
                Seq([Text(o), Text(op), Seq([Text(i) for i in ins], kind="list")])
                for o, op, ins in triples
            ],
            kind="list",
        )

    right = ops(
        ("Z", "mm", ["W_1", "x"]), ("u", "σ", ["z"]), ("yhat", "mm", ["W2", "u"]),
        ("r", "minus", ["y_hat", "y"]), ("Loss", "sq", ["r"]),
    )  # fmt: skip
    graph.compare(graph.edges(right))
    wrong = ops(("Z", "mm", ["W1", "x"]), ("u", "σ", ["Z"]), ("y_hat", "mm", ["W2", "Z"]),
                ("L", "sq", ["y_hat", "secret-name"]))  # fmt: skip
    with pytest.raises(Feedback) as exc:
        graph.compare(graph.edges(wrong))
    assert "inputs of ŷ, L" in str(exc.value) and "secret" not in str(exc.value)


# -- hidden graders are hard to write wrongly ------------------------------------------


def _copied(value: ast.expr) -> str | None:
    """The name X when ``value`` is X.copy(), np.copy(X), np.array(X) or copy.deepcopy(X)."""
    if not isinstance(value, ast.Call):
        return None
    f = value.func
    if isinstance(f, ast.Attribute) and f.attr == "copy" and isinstance(f.value, ast.Name):
        return f.value.id
    if isinstance(f, ast.Attribute) and f.attr in ("copy", "array", "deepcopy") and value.args:
        first = value.args[0]
        return first.id if isinstance(first, ast.Name) else None
    return None


def naive_mutation_checks(source: str) -> list[str]:
    """Graders that compare an argument of a plain ``student.fn(...)`` call with a copy.

    The plain call runs on a copy in the sandbox, so such a comparison always passes; a
    mutation check must read ``student.watch.fn(...).arg_after(i)``.
    """
    found = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, ast.FunctionDef):
            continue
        passed, copies = set(), {}
        for node in ast.walk(fn):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "student"
                and node.func.attr not in ("call", "watch")
            ):
                passed |= {a.id for a in node.args if isinstance(a, ast.Name)}
            original = _copied(node.value) if isinstance(node, ast.Assign) else None
            if original is not None:
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id != original:
                        copies[target.id] = original
        for node in ast.walk(fn):
            if isinstance(node, ast.Call | ast.Compare):
                operands = (
                    node.args if isinstance(node, ast.Call) else [node.left, *node.comparators]
                )
                names = {n.id for n in operands if isinstance(n, ast.Name)}
                for copy_name, original in copies.items():
                    if copy_name in names and original in names & passed:
                        found.append(f"{fn.name}: compares {original} with its copy {copy_name}")
    return found


def test_graders_never_read_arguments_of_a_plain_call():
    for path in sorted((PACKAGE_DIR / "graders").glob("test_*.py")):
        assert not naive_mutation_checks(path.read_text(encoding="utf-8")), path.name


def test_naive_mutation_check_is_caught():
    wrong = """
def test_gd_step_leaves_w(student, ref, rng):
    w = rng.normal(size=2)
    before = w.copy()
    student.gd_step(w, 1.0, 2.0, 0.1)
    assert np.array_equal(w, before)
"""
    right = """
def test_gd_step_leaves_w(student, ref, rng):
    w = rng.normal(size=2)
    reply = student.watch.gd_step(w, 1.0, 2.0, 0.1)
    assert np.array_equal(reply.arg_after(0), w)
"""
    assert naive_mutation_checks(wrong)
    assert not naive_mutation_checks(right)


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
    assert rows["correct"]["auto_total"] == AUTO_MAX
    assert rows["stub"]["auto_total"] == "0"
    assert float(rows["typical_mistakes"]["auto_total"]) == TYPICAL_MISTAKES_AUTO
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
