"""The nbgrader, otter-grader and Gradescope integrations, each run with the real tool."""

from __future__ import annotations

import ast
import csv
import fnmatch
import json
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import nbformat
import pytest
from mutations import MUTATIONS
from notebooks import (
    FUNCTIONS,
    INSTRUCTOR_NB,
    ITEMS,
    MANUAL,
    REPO,
    STUDENT_NB,
    by_grade_id,
    load_reference,
    read,
    solution_bodies,
)

from autograder import cli
from autograder.grade.student import StudentError
from autograder.integrations import (
    gradescope,
    nbgrader_course,
    otter_assign,
    otter_replay,
    venv_env,
)
from autograder.rubric import load_rubric
from examples.build_examples import TYPICAL_MISTAKES, solutions
from tests.conftest import TYPICAL_MISTAKES_AUTO

AUTO_MAX = load_rubric().auto_points  # a correct notebook's autograded score

EXAMPLES = REPO / "examples" / "submissions"
AUTO_SOURCES = {k: v for k, v in solutions().items() if k in FUNCTIONS}
# A second buggy submission: three mistakes in unrelated functions (and their callers).
_BY_ID = {mid: (fn, src) for mid, fn, src, _ in MUTATIONS}
MUTATED = dict(_BY_ID[m] for m in ("one_sided_difference", "gd_sign_flip", "train_in_place"))


def our_grades(*submissions: Path, out: Path) -> dict[str, dict[str, float]]:
    """Grade with our sandboxed grader; student → rubric item → score, from grades.csv."""
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            *map(str, submissions),
            "--out",
            str(out),
            "--no-pdf",
            "--jobs",
            "2",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    with open(out / "grades.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {r["student"]: {fn: float(r[fn]) for fn in FUNCTIONS} for r in rows}


def full(score: float, max_score: float) -> bool:
    return math.isclose(score, max_score, rel_tol=1e-6, abs_tol=1e-4)


def _sans_checksum(cell) -> dict:
    meta = dict(cell.metadata)
    nbg = {k: v for k, v in meta.pop("nbgrader", {}).items() if k not in ("checksum", "cell_type")}
    return {"type": cell.cell_type, "id": cell.get("id"), "source": cell.source, "meta": meta,
            "nbgrader": nbg}  # fmt: skip


# -- nbgrader --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nbgrader_course_dir(tmp_path_factory) -> Path:
    course = nbgrader_course.write_course(tmp_path_factory.mktemp("course"))
    p = nbgrader_course.nbgrader(course, "generate_assignment", "hw2", "--force", timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "not recognized" not in p.stderr, p.stderr
    return course


def test_nbgrader_course_folder_layout(tmp_path: Path):
    assert cli.main(["nbgrader-course", str(tmp_path / "c")]) == 0
    config = (tmp_path / "c" / "nbgrader_config.py").read_text()
    assert 'course_id = "hw2"' in config
    assert 'begin_solution_delimeter = "BEGIN SOLUTION"' in config
    compile(config, "nbgrader_config.py", "exec")
    source = read(tmp_path / "c" / "source" / "hw2" / "hw2.ipynb")
    assert [c.source for c in source.cells] == [c.source for c in read(INSTRUCTOR_NB).cells]


@pytest.mark.slow  # importing nbgrader takes seconds
def test_nbgrader_recognises_every_option_of_the_generated_config(tmp_path: Path):
    course = nbgrader_course.write_course(tmp_path / "course")
    p = nbgrader_course.nbgrader(course, "db", "assignment", "list", timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "WARNING" not in p.stderr and "not recognized" not in p.stderr, p.stderr


@pytest.mark.slow
def test_nbgrader_generate_assignment_equals_our_release(nbgrader_course_dir: Path):
    theirs = read(nbgrader_course_dir / "release" / "hw2" / "hw2.ipynb")
    ours = read(STUDENT_NB)
    assert len(theirs.cells) == len(ours.cells)
    for t, o in zip(theirs.cells, ours.cells, strict=True):
        t, o = _sans_checksum(t), _sans_checksum(o)
        gid = o["nbgrader"].get("grade_id", "")
        if gid in FUNCTIONS:  # graded in nbgrader's gradebook, by our hidden graders
            assert t["nbgrader"].pop("grade") is True
            assert t["nbgrader"].pop("points") == ITEMS[gid]["points"]
            o["nbgrader"].pop("grade")
        elif gid.removeprefix("check_") in FUNCTIONS:  # self-checks: feedback only
            assert t["nbgrader"].pop("points") == 0 < o["nbgrader"].pop("points")
        assert t == o
    assert theirs.metadata == ours.metadata
    # nbgrader did add its checksums to the graded cells (the comparison ignored them).
    graded = [c for c in theirs.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded and all("checksum" in c.metadata["nbgrader"] for c in graded)


@pytest.mark.slow
def test_nbgrader_gradebook_holds_our_hidden_scores(nbgrader_course_dir: Path, tmp_path: Path):
    """One gradebook: nbgrader autograde, then our graders' scores and feedback imported."""
    from nbgrader.api import Gradebook

    course = nbgrader_course_dir
    students = ("correct", "stub", "typical_mistakes")
    for s in students:
        (course / "submitted" / s / "hw2").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(EXAMPLES / f"{s}.ipynb", course / "submitted" / s / "hw2" / "hw2.ipynb")
    p = nbgrader_course.nbgrader(course, "autograde", "hw2", "--force", timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "not recognized" not in p.stderr, p.stderr

    # Our grader on nbgrader's tree gives exactly what it gives on a flat folder.
    from_tree = our_grades(course / "submitted", out=tmp_path / "tree")
    assert from_tree == our_grades(*(EXAMPLES / f"{s}.ipynb" for s in students), out=tmp_path / "f")
    assert sorted(from_tree) == sorted(students)

    def gradebook() -> dict:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            return {
                s: {
                    "grades": {
                        g.name: (g.score, g.max_score, g.needs_manual_grade)
                        for g in gb.find_submission_notebook("hw2", "hw2", s).grades
                    },
                    "comments": {
                        c.name: c.comment
                        for c in gb.find_submission_notebook("hw2", "hw2", s).comments
                    },
                    "score": gb.find_submission("hw2", s).score,
                }
                for s in students
            }

    before = gradebook()
    for s in students:  # nbgrader's own autograde: the self-checks score 0 of 0
        assert all(before[s]["grades"][f"check_{fn}"][:2] == (0, 0) for fn in FUNCTIONS)
    # ... and leaves the answered functions to be graded "by hand".
    assert all(before["correct"]["grades"][fn][2] for fn in FUNCTIONS)

    import_again = ["nbgrader-course", str(course), "--import-grades", str(tmp_path / "tree")]
    assert cli.main(import_again) == 0
    assert cli.main(import_again) == 0
    after = gradebook()
    with open(tmp_path / "tree" / "grades.csv", newline="", encoding="utf-8") as fh:
        auto_total = {r["student"]: float(r["auto_total"]) for r in csv.DictReader(fh)}
    for s in students:
        grades = after[s]["grades"]
        for fn in FUNCTIONS:
            score, top, pending = grades[fn]
            assert (score, top, pending) == (pytest.approx(from_tree[s][fn]), ITEMS[fn]["points"],
                                             False), (s, fn)  # fmt: skip
        # One Q3 score, ours; the written answers stay with formgrader's manual grading.
        q3 = sum(grades[fn][0] for fn in FUNCTIONS)
        assert q3 == pytest.approx(auto_total[s]) == pytest.approx(after[s]["score"])
    assert all(after["correct"]["grades"][m][2] for m in MANUAL)
    assert auto_total["correct"] == AUTO_MAX and auto_total["stub"] == 0
    assert 0 < auto_total["typical_mistakes"] < 4
    backward = after["typical_mistakes"]["comments"]["backward"]
    assert "✗ backward" in backward and "factor 2" in backward
    assert "✓ sigmoid" in after["typical_mistakes"]["comments"]["sigmoid"]
    assert "not implemented yet" in after["stub"]["comments"]["train"]


def test_nbgrader_feedback_comment_is_inert():
    """Our comments quote students' exception messages; nbgrader's feedback HTML renders
    comments with nbconvert's markdown2html, which must show them as text."""
    from nbconvert.filters.markdown import markdown2html

    hostile = ("<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))"
               "\n\n<iframe src=//evil></iframe>\r\n```\n<b>out of the fence</b>")  # fmt: skip
    tests = [
        {"name": "sigmoid: values", "status": "passed", "output": "Passed."},
        {"name": "sigmoid: extremes", "status": "failed", "output": f"sigmoid raised {hostile}"},
    ]
    comment = nbgrader_course.feedback_comment(tests)
    assert "✓ sigmoid: values" in comment and "✗ sigmoid: extremes: sigmoid raised" in comment
    html = markdown2html(comment)
    for live in ("<script", "<img", "<iframe", "<b>", 'href="javascript'):
        assert live not in html, live
    assert "&lt;script&gt;" in html and "&lt;b&gt;out of the fence" in html


# -- otter-grader ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def otter_dist(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("otter")
    assert cli.main(["otter", str(folder)]) == 0
    otter_assign.assign(folder / "hw2.ipynb", folder / "dist")
    return folder / "dist"


@pytest.fixture(scope="module")
def recording() -> dict:
    return otter_replay.record()


def _reference_namespace() -> dict:
    return dict(vars(load_reference()))


def _grader_functions() -> set[tuple[str, str]]:
    """(module, function) of every hidden grader, read from the grader files."""
    return {
        (path.stem, node.name)
        for path in sorted((REPO / "autograder" / "graders").glob("test_*.py"))
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_otter_master_notebook_structure(recording: dict):
    master = otter_assign.master_notebook(recording=recording)
    raws = [c.source for c in master.cells if c.cell_type == "raw"]
    assert raws[0].startswith("# ASSIGNMENT CONFIG\n")
    assert f"autograder_files:\n  - {otter_assign.BUNDLE}" in raws[0]
    questions = [re.search(r"name: (\w+)", r).group(1) for r in raws if "BEGIN QUESTION" in r]
    # One per written answer, one per function, in the notebook's order.
    assert sorted(questions) == sorted(MANUAL + FUNCTIONS) and len(set(questions)) == len(questions)
    for block in ("QUESTION", "SOLUTION", "TESTS"):
        begins = sum(r.startswith(f"# BEGIN {block}") for r in raws)
        assert begins == sum(r.startswith(f"# END {block}") for r in raws) > 0
    code = "\n".join(c.source for c in master.cells if c.cell_type == "code")
    assert "### BEGIN SOLUTION" not in code and code.count("    # BEGIN SOLUTION") == len(FUNCTIONS)
    # Every hidden grader is recorded and replayed by exactly one otter test...
    recorded = {(r["module"], r["function"]) for r in recording["tests"].values()}
    assert recorded == _grader_functions()
    for module, function in recorded:
        assert code.count(f"replay({module!r}, {function!r}, env)") == 1, function
    # ... weighted as in results.json: backward's graders weigh 3, 1, 1.
    backward = next(r for r in raws if "name: backward\n" in r)
    points = json.loads(backward.split("points: ", 1)[1])
    assert points == pytest.approx([0.0, 0.75 * 3 / 5, 0.75 / 5, 0.75 / 5])
    # No copy of the graders' checks, inputs or expected values in the hidden tests.
    hidden = [c.source for c in master.cells if c.source.startswith("# HIDDEN")]
    assert len(hidden) == len(recorded)
    for copy in ("as_array", "expect_close", "np.", "rng", "[", "lambda"):
        assert not any(copy in h for h in hidden), copy


def test_otter_replay_passes_the_reference_and_fails_each_mutation(recording: dict):
    """The replayed graders (as otter runs them) on the reference and on each catalog bug."""
    ref = _reference_namespace()
    by_item = otter_assign.hidden_tests(recording)
    for recs in by_item.values():
        for rec in recs:
            otter_replay.replay(rec["module"], rec["function"], ref, recording)
    for mid, fn, src, fragment in MUTATIONS:
        env = dict(ref)
        exec(src, env)
        messages = []
        for rec in by_item[fn]:
            try:
                otter_replay.replay(rec["module"], rec["function"], env, recording)
            except (AssertionError, StudentError) as exc:
                messages.append(str(exc))
        assert messages, mid  # the graders' own checks caught it
        # The feedback is the graders' own, follow-up diagnoses included ("right for n = 1").
        assert any(fragment in m for m in messages), (mid, messages)


def test_otter_bundle_runs_on_its_own(tmp_path: Path, recording: dict):
    """The grader bundle imports and replays with nothing of this repo on the path."""
    otter_assign.write_bundle(tmp_path / otter_assign.BUNDLE, recording)
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {otter_assign.BUNDLE!r})
        import autograder
        from autograder.integrations.otter_replay import replay
        assert autograder.__file__.startswith(sys.path[0]), autograder.__file__
        test = ("test_part2_descent", "test_max_stable_lr")
        replay(*test, {{"max_stable_lr": lambda a, b: 2 / max(a, b)}})
        try:
            replay(*test, {{"max_stable_lr": lambda a, b: 1 / max(a, b)}})
        except AssertionError as exc:
            print(exc)
        """
    )
    p = subprocess.run([sys.executable, "-I", "-c", script], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
    assert "it looks like 1 / max(a, b)" in p.stdout


@pytest.mark.slow
def test_otter_student_notebook_has_no_solution(otter_dist: Path):
    student_path = otter_dist / "student" / "hw2.ipynb"
    text = student_path.read_text(encoding="utf-8")
    instructor = read(INSTRUCTOR_NB)
    leaked = [
        line.strip()
        for body in solution_bodies(instructor).values()
        for line in body
        if len(line.strip()) > 12 and line.strip() in text
    ]
    assert not leaked
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "Model answer", "# HIDDEN", "replay("):
        assert marker not in text, marker
    assert sorted(p.name for p in (otter_dist / "student").iterdir()) == ["hw2.ipynb"]
    for gid in MANUAL:
        for sentence in by_grade_id(instructor)[gid].source.split(". "):
            if len(sentence) > 40:
                assert json.dumps(sentence)[1:-1] not in text, sentence
    # The answer cells are stubs that still define each function.
    cells = otter_assign.answer_cells(read(student_path))
    for fn in FUNCTIONS:
        assert cells[fn].source.rstrip().endswith("..."), fn
    # The hidden tests are in the autograder zip only.
    (zip_path,) = (otter_dist / "autograder").glob("hw2-autograder_*.zip")
    with zipfile.ZipFile(zip_path) as zf:
        backward = zf.read("tests/backward.py").decode()
        assert f"files/{otter_assign.BUNDLE}" in zf.namelist()
    assert "hidden=True" in backward and "def test_backward_batch(" in backward


@pytest.mark.slow
def test_otter_run_agrees_with_our_grader(otter_dist: Path, tmp_path: Path):
    student = read(otter_dist / "student" / "hw2.ipynb")
    (zip_path,) = (otter_dist / "autograder").glob("hw2-autograder_*.zip")
    subs = tmp_path / "subs"
    subs.mkdir()
    for name, answers in {
        "correct": AUTO_SOURCES,
        "typical_mistakes": {**AUTO_SOURCES, **TYPICAL_MISTAKES},
        "mutated": {**AUTO_SOURCES, **MUTATED},
    }.items():
        nbformat.write(otter_assign.fill(student, answers), subs / f"{name}.ipynb")
    ours = our_grades(subs, out=tmp_path / "ours")
    for nb in sorted(subs.glob("*.ipynb")):
        out = tmp_path / "otter" / nb.stem
        out.mkdir(parents=True)
        # otter run has no timeout of its own.
        p = otter_assign.otter("run", "-a", str(zip_path), "-o", str(out), str(nb), cwd=tmp_path)
        assert p.returncode == 0, p.stdout + p.stderr
        tests = json.loads((out / "results.json").read_text())["tests"]
        theirs = {t["name"]: (t["score"], t["max_score"]) for t in tests if t["name"] in FUNCTIONS}
        assert sorted(theirs) == sorted(FUNCTIONS), nb.stem
        for fn, (got, top) in theirs.items():
            assert full(got, top) == full(ours[nb.stem][fn], top), (nb.stem, fn, got)
            assert got == pytest.approx(ours[nb.stem][fn], abs=1e-4), (nb.stem, fn)
    assert all(v > 0 for v in ours["correct"].values())
    wrong = {s: {fn for fn, v in ours[s].items() if v < ITEMS[fn]["points"] - 1e-4} for s in ours}
    assert wrong["correct"] == set()
    assert {"backward", "squared_error", "max_stable_lr", "train"} <= wrong["typical_mistakes"]
    assert {"numerical_gradient", "gd_step", "gd_trajectory", "train"} <= wrong["mutated"]


# -- Gradescope ------------------------------------------------------------------------

ALLOWED_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def test_gradescope_zip_contents_and_determinism(tmp_path: Path):
    first = gradescope.build_zip(tmp_path / "a").read_bytes()
    assert cli.main(["gradescope", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b" / "autograder.zip").read_bytes() == first
    with zipfile.ZipFile(tmp_path / "b" / "autograder.zip") as zf:
        names = set(zf.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
    needed = {"setup.sh", "run_autograder", "scripts/setup.sh", "solutions/hw2.py",
              "requirements.txt", "requirements-sandbox.txt", "autograder/__main__.py",
              "autograder/rubric.toml", "autograder/graders/conftest.py",
              "autograder/graders/pytest.ini", "autograder/integrations/gradescope.py"}  # fmt: skip
    assert needed <= names, needed - names
    assert modes["run_autograder"] == modes["setup.sh"] == 0o755
    assert not any("__pycache__" in n or n.endswith(".ipynb") for n in names)
    # The image installs what grading needs (issue 19): no TeX, PDF runtime, browser or tests.
    assert "requirements-test.txt" not in names
    with zipfile.ZipFile(tmp_path / "b" / "autograder.zip") as zf:
        assert 'scripts/setup.sh" gradescope' in zf.read("setup.sh").decode()


def _check_results_spec(data: dict) -> None:
    assert isinstance(data["score"], int | float)
    assert data.get("visibility", "visible") in ALLOWED_VISIBILITY
    assert data.get("stdout_visibility", "visible") in ALLOWED_VISIBILITY
    assert data["tests"]
    for t in data["tests"]:
        assert isinstance(t["name"], str) and t["name"]
        assert isinstance(t["score"], int | float) and isinstance(t["max_score"], int | float)
        assert 0 <= t["score"] <= t["max_score"] + 1e-9
        assert isinstance(t["output"], str)
        assert t["visibility"] in ALLOWED_VISIBILITY
        assert t.get("status", "passed") in ("passed", "failed")
    auto = sum(t["score"] for t in data["tests"] if "auto" in t.get("tags", ["auto"]))
    assert data["score"] == pytest.approx(auto, abs=1e-6)


def _gradescope_install(zip_path: Path, root: Path) -> dict[str, str]:
    """Gradescope's image build for ``zip_path`` under ``root``; returns the environment.

    The apt step is skipped (packages present here) and the project venv is this repo's (a
    symlink; its requirements stamp matches, so scripts/setup.sh installs nothing). The
    sandbox runtime is the one already built.
    """
    for d in ("source", "submission", "results"):
        (root / d).mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    for name in ("setup.sh", "run_autograder", "scripts/setup.sh"):
        os.chmod(root / "source" / name, 0o755)
    (root / "source" / ".venv").symlink_to(REPO / ".venv")
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_SKIP_APT="1")
    hw2 = REPO / ".venv" / "bin" / "hw2"
    before = hw2.read_bytes() if hw2.exists() else None
    p = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True,
                       text=True, timeout=300)  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
    # The linked venv is this repo's: its hw2 must not be repointed at the temporary copy.
    assert (hw2.read_bytes() if hw2.exists() else None) == before
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")  # as Gradescope does
    return env


def _gradescope_run(root: Path, env: dict[str, str], notebook: Path | None) -> str:
    """Gradescope's run for one submission (None: nothing uploaded); the results.json text."""
    for old in (root / "submission").iterdir():
        old.unlink()
    if notebook is not None:
        shutil.copyfile(notebook, root / "submission" / "hw2.ipynb")
    (root / "results" / "results.json").unlink(missing_ok=True)
    p = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True,
                       text=True, timeout=300, cwd=root.parent)  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
    return (root / "results" / "results.json").read_text(encoding="utf-8")


@pytest.mark.slow
def test_gradescope_autograder_runs_our_sandboxed_grader(tmp_path: Path):
    zip_path = gradescope.build_zip(tmp_path / "build")
    root = tmp_path / "autograder"
    env = _gradescope_install(zip_path, root)

    hidden_sources = [
        (REPO / "autograder" / "graders" / f).read_text() for f in ("test_part1_network.py",
                                                                   "test_part2_descent.py")
    ]  # fmt: skip
    scores = {}
    for name in ("correct", "typical_mistakes", "none"):
        notebook = EXAMPLES / f"{name}.ipynb" if name != "none" else None
        text = _gradescope_run(root, env, notebook)
        data = json.loads(text)
        _check_results_spec(data)
        for secret in ("def test_", "expect_close", "ref.", "@item(", "rng.normal"):
            assert secret not in text, secret
        # No line of hidden grader code appears in the feedback either.
        code_lines = {ln.strip() for src in hidden_sources for ln in src.splitlines()}
        outputs = [t["output"] for t in data["tests"]] + [data["output"]]
        assert not any(
            ln in out for out in outputs for ln in code_lines if len(ln) > 25 and "(" in ln
        )
        scores[name] = data
    assert scores["correct"]["score"] == AUTO_MAX
    assert all(t["visibility"] == "after_published" for t in scores["correct"]["tests"])
    assert scores["typical_mistakes"]["score"] == pytest.approx(TYPICAL_MISTAKES_AUTO)
    failed = [t for t in scores["typical_mistakes"]["tests"] if t["status"] == "failed"]
    assert any("factor 2" in t["output"] for t in failed)
    assert scores["none"]["score"] == 0 and "no Jupyter notebook" in scores["none"]["output"]


# -- adding a hidden check: one function, and every output has it ----------------------------

NEW_CHECK = '''

from autograder.grade.checks import Feedback as _Feedback
from autograder.grade.marks import item as _item


@_item("gd_step")
def test_gd_step_leaves_w(student, ref, rng):
    """gd_step: the caller's w is left unchanged"""
    w = rng.normal(size=2)
    after = student.call("gd_step", w, 2.0, 0.5, 0.3, return_args=True).args_after
    if not (after and type(after[0]) is type(w) and (after[0] == w).all()):
        raise _Feedback("gd_step changed the caller's w in place: return a new array instead.")
'''
NEW_FEEDBACK = "gd_step changed the caller's w in place"
IN_PLACE = "def gd_step(w, a, b, lr):\n    w -= lr * quadratic_grad(w, a, b)\n    return w\n"


def _in_place_notebook(path: Path) -> Path:
    """examples/submissions/correct.ipynb with a gd_step that updates w in place."""
    nb = read(EXAMPLES / "correct.ipynb")
    by_grade_id(nb)["gd_step"].source = IN_PLACE
    nbformat.write(nb, path)
    return path


def _in(copy: Path, *args: str, cwd: Path | None = None, timeout: float = 600) -> str:
    """``python ARGS`` with the copy's package first on the path; its stdout."""
    env = venv_env()
    env.pop("PYTHONPATH", None)
    p = subprocess.run([sys.executable, *args], cwd=cwd or copy, env=env, capture_output=True,
                       text=True, timeout=timeout)  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


@pytest.mark.slow
def test_adding_a_hidden_check_is_one_function(tmp_path: Path):
    """docs/assignment.md's promise: a new hidden check is one function in autograder/graders/, and
    our grade, the Gradescope zip, the otter export and the nbgrader gradebook all have it."""
    copy = tmp_path / "repo"
    shutil.copytree(REPO, copy, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", ".venv", "out", "__pycache__",
                                                  ".pytest_cache", ".ruff_cache"))  # fmt: skip
    (copy / ".venv").symlink_to(REPO / ".venv")
    before = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    graders = copy / "autograder" / "graders" / "test_part2_descent.py"
    graders.write_text(graders.read_text(encoding="utf-8") + NEW_CHECK, encoding="utf-8")
    changed = [p for p, data in before.items() if (copy / p).read_bytes() != data]
    assert changed == [graders.relative_to(copy)]  # the one file touched
    # … which is what docs/assignment.md's "Which files each change touches" says.
    page = (REPO / "docs" / "assignment.md").read_text(encoding="utf-8")
    block = page.split("- **A new hidden check**")[1]
    block = block.split("\n\n", 1)[0]
    listed = re.findall(r"^  - `([^`]+)`$", block, flags=re.M)
    assert "touches one file" in block and len(listed) == 1
    assert fnmatch.fnmatch(str(changed[0]), listed[0]), (changed, listed)
    points = ITEMS["gd_step"]["points"]
    notebook = _in_place_notebook(tmp_path / "in_place.ipynb")

    # Our grader (results.json is Gradescope's format).
    _in(copy, "-m", "autograder", "grade", str(notebook), str(EXAMPLES / "correct.ipynb"),
        "--out", str(tmp_path / "ours"), "--no-pdf", "--jobs", "2")  # fmt: skip
    ours = json.loads((tmp_path / "ours" / "results" / "in_place.json").read_text())
    (new,) = [t for t in ours["tests"] if t["name"] == "gd_step: the caller's w is left unchanged"]
    assert new["status"] == "failed" and NEW_FEEDBACK in new["output"]
    share = new["max_score"]  # its weighted share of gd_step's points
    assert 0 < share < points
    with open(tmp_path / "ours" / "grades.csv", newline="", encoding="utf-8") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    assert float(rows["in_place"]["gd_step"]) == pytest.approx(points - share)
    assert float(rows["correct"]["gd_step"]) == pytest.approx(points)

    # The Gradescope autograder zip, built and run as Gradescope does.
    _in(copy, "-m", "autograder", "gradescope", str(tmp_path / "gs"))
    root = tmp_path / "gradescope" / "autograder"
    env = _gradescope_install(tmp_path / "gs" / gradescope.ZIP_NAME, root)
    data = json.loads(_gradescope_run(root, env, notebook))
    (new,) = [t for t in data["tests"] if t["name"] == "gd_step: the caller's w is left unchanged"]
    assert new["status"] == "failed" and NEW_FEEDBACK in new["output"]

    # otter: the export replays it, and otter run scores it.
    _in(copy, "-m", "autograder", "otter", str(tmp_path / "otter"), "--assign")
    dist = tmp_path / "otter" / "dist"
    (zip_path,) = (dist / "autograder").glob("hw2-autograder_*.zip")
    with zipfile.ZipFile(zip_path) as zf:
        assert "def test_gd_step_leaves_w(env)" in zf.read("tests/gd_step.py").decode()
    student = read(dist / "student" / "hw2.ipynb")
    answers = {**AUTO_SOURCES, "gd_step": IN_PLACE}
    nbformat.write(otter_assign.fill(student, answers), tmp_path / "otter_in_place.ipynb")
    out = tmp_path / "otter_out"
    out.mkdir()
    p = otter_assign.otter("run", "-a", str(zip_path), "-o", str(out),
                           str(tmp_path / "otter_in_place.ipynb"), cwd=tmp_path)  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
    (gd,) = [t for t in json.loads((out / "results.json").read_text())["tests"]
             if t["name"] == "gd_step"]  # fmt: skip
    assert gd["score"] == pytest.approx(points - share, abs=1e-4)  # otter rounds to 5 digits
    assert NEW_FEEDBACK in gd["output"]

    # nbgrader: the course, nbgrader's autograde, then our scores in its gradebook.
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    _in(copy, "-m", "autograder", "nbgrader-course", str(course), "--generate")
    (course / "submitted" / "in_place" / "hw2").mkdir(parents=True)
    shutil.copyfile(notebook, course / "submitted" / "in_place" / "hw2" / "hw2.ipynb")
    p = nbgrader_course.nbgrader(course, "autograde", "hw2", "--force", timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    _in(copy, "-m", "autograder", "grade", str(course / "submitted"), "--out",
        str(tmp_path / "tree"), "--no-pdf")  # fmt: skip
    _in(copy, "-m", "autograder", "nbgrader-course", str(course), "--import-grades",
        str(tmp_path / "tree"))  # fmt: skip
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade("gd_step", "hw2", "hw2", "in_place")
        comment = gb.find_comment("gd_step", "hw2", "hw2", "in_place")
        assert grade.score == pytest.approx(points - share)
        assert "✗ gd_step: the caller's w is left unchanged" in comment.comment
        assert NEW_FEEDBACK in comment.comment


def test_nbgrader_import_without_a_gradebook_is_a_clear_error(tmp_path: Path, capsys):
    argv = ["nbgrader-course", str(tmp_path), "--import-grades", str(tmp_path / "out")]
    assert cli.main(argv) == 2
    assert "run `nbgrader autograde` first" in capsys.readouterr().err
    assert not (tmp_path / "gradebook.db").exists()
