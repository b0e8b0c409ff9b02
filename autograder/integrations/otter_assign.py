"""An otter-assign master notebook generated from the instructor notebook.

    hw2 otter DEST [--assign] [--run-tests]      (or: make otter OTTER_DEST=…)

writes ``DEST/hw2.ipynb``, an otter-grader 7 master notebook, and ``DEST/hw2_graders.zip``,
its grader bundle (and, with ``--assign``, runs ``otter assign DEST/hw2.ipynb DEST/dist``,
which writes ``dist/student/hw2.ipynb`` and ``dist/autograder/hw2-autograder_*.zip``). The
layout:

* a raw ``# ASSIGNMENT CONFIG`` cell (tests in otter's exception-based format; the bundle
  is an ``autograder_files`` entry, so it reaches the autograder zip and not students);
* **one otter question per student function**, named after the function (``sigmoid``,
  ``backward``, …) and worth its rubric points::

      raw  # BEGIN QUESTION / name: backward / points: [0.0, 0.45, 0.15, 0.15]
      raw  # BEGIN SOLUTION
      code the answer cell, with its own # BEGIN SOLUTION / # END SOLUTION body
      raw  # END SOLUTION
      raw  # BEGIN TESTS
      code the visible test: the self-check cell check_backward, as a test function (0 points)
      code one hidden test (# HIDDEN) per hidden grader of the function, weighted as in
           results.json: it replays that grader in the student's kernel
      raw  # END TESTS
      raw  # END QUESTION

* one **manual** otter question per written answer (rubric id, points), its model answer
  in a SOLUTION block, so it never reaches the student notebook;
* every other cell (text, imports, figures) as it is.

The hidden tests are the hidden graders themselves, not a copy: the export runs each grader
once against the reference and records what it asked (:mod:`.otter_replay`); each otter
test runs the same grader function again on the student's function, with the recorded
reference values, so its checks, tolerances and mistake feedback are the graders' own. The
bundle holds the package's Python files and that recording (no reference solution). Under
otter the graders run inside the student's own kernel, so they are only as trustworthy as
otter's model allows: a hostile notebook can defeat them (see docs/integrations.md); our sandboxed
grader is the reference.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from autograder import INSTRUCTOR_NB, PACKAGE_DIR
from autograder.cells import grade_id, nbgrader_meta
from autograder.files import write_atomic
from autograder.integrations import otter_replay, venv_env
from autograder.release import to_bytes
from autograder.rubric import load_rubric

BUNDLE = "hw2_graders.zip"
# The graders import pytest (their marks); otter's own image does not have it.
REQUIREMENTS = "pytest==9.2.0\n"

ASSIGNMENT_CONFIG = """\
# ASSIGNMENT CONFIG
name: {assignment}
init_cell: true
check_all_cell: false
export_cell: false
run_tests: {run_tests}
requirements: requirements.txt
autograder_files:
  - {bundle}
generate:
  pdf: false
  show_stdout: false
  show_hidden: false
tests:
  files: false
  ok_format: false
"""


# -- the grader bundle ---------------------------------------------------------------------


def write_bundle(path: Path, recording: dict[str, Any]) -> Path:
    """A zip of the package's Python files plus the recording, importable by zipimport.

    Deterministic (sorted names, fixed dates); written atomically.
    """
    entries = [
        (f.relative_to(PACKAGE_DIR.parent).as_posix(), f.read_bytes())
        for f in sorted(PACKAGE_DIR.rglob("*.py"))
        if "__pycache__" not in f.parts
    ]
    rec_name = f"{PACKAGE_DIR.name}/integrations/{otter_replay.RECORDING}"
    entries.append((rec_name, json.dumps(recording, sort_keys=True).encode()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(entries):
            zf.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    write_atomic(path, buf.getvalue())
    return path


# -- test cells ------------------------------------------------------------------------


def free_names(source: str) -> list[str]:
    """Names a cell reads but never binds (its inputs from the notebook), sorted."""
    tree = ast.parse(source)
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return sorted(loaded - bound - set(dir(builtins)))


def _test_function(name: str, body: str, params: list[str]) -> str:
    return f"def test_{name}({', '.join(params)}):\n{textwrap.indent(body, '    ')}\n"


def visible_test(fn: str, check_source: str) -> str:
    """The self-check cell check_<fn> as an otter exception-based test (a function whose
    parameters are the notebook names the cell reads)."""
    return _test_function(f"check_{fn}", check_source.rstrip(), free_names(check_source))


def hidden_test(rec: dict[str, Any]) -> str:
    """The otter test for one recorded grader: it replays that grader in the kernel.

    Named after the grader (``test_backward_batch``); ``env`` is otter's name for the
    notebook's namespace. Every name is written as a Python literal (``repr``).
    """
    return "\n".join(
        [
            "# HIDDEN",
            f"def {rec['function']}(env):",
            f"    {rec['name']!r}",
            "    import os, sys",
            f"    bundle = os.path.abspath({BUNDLE!r})",
            "    if bundle not in sys.path:",
            "        sys.path.insert(0, bundle)",
            "    from autograder.integrations.otter_replay import replay",
            f"    replay({rec['module']!r}, {rec['function']!r}, env)",
            "",
        ]
    )


def hidden_tests(recording: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Rubric item → its recorded graders, in the graders' order."""
    by_item: dict[str, list[dict[str, Any]]] = {}
    for rec in recording["tests"].values():
        by_item.setdefault(rec["item"], []).append(rec)
    return by_item


def question_points(points: float, tests: list[dict[str, Any]]) -> list[float]:
    """Otter points per test case: 0 for the visible self-check (feedback only, as in our
    grader), then each hidden test's weighted share of the item, as in results.json."""
    total = sum(t["weight"] for t in tests)
    return [0.0, *(points * t["weight"] / total for t in tests)]


# -- the master notebook ---------------------------------------------------------------


def _raw(text: str) -> NotebookNode:
    return nbformat.v4.new_raw_cell(text)


def _clean(cell: NotebookNode) -> NotebookNode:
    cell = nbformat.from_dict(cell)
    cell.metadata.pop("nbgrader", None)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def master_notebook(
    source: Path = INSTRUCTOR_NB,
    *,
    run_tests: bool = False,
    recording: dict[str, Any] | None = None,
) -> NotebookNode:
    """The otter-assign master notebook for the instructor notebook at ``source``.

    ``recording`` is :func:`otter_replay.record`'s (recorded now if not given).
    """
    rubric = load_rubric()
    tests = hidden_tests(recording or otter_replay.record())
    nb = nbformat.read(source, as_version=4)
    cells = nb.cells
    checks = {grade_id(c): c for c in cells}
    config = ASSIGNMENT_CONFIG.format(
        assignment=rubric.assignment, run_tests="true" if run_tests else "false", bundle=BUNDLE
    )
    out = [_raw(config)]
    i = 0
    while i < len(cells):
        cell, meta = cells[i], nbgrader_meta(cells[i])
        gid = meta.get("grade_id")
        nxt = nbgrader_meta(cells[i + 1]) if i + 1 < len(cells) else {}
        if cell.cell_type == "markdown" and not meta and nxt.get("solution") and nxt.get("grade"):
            # A written question: its prompt, then the model answer (manual in otter).
            item = rubric.item(nxt["grade_id"])
            out += [
                _raw(f"# BEGIN QUESTION\nname: {item.id}\nmanual: true\npoints: {item.points}"),
                _clean(cell),
                _raw("# BEGIN SOLUTION"),
                _clean(cells[i + 1]),
                _raw("# END SOLUTION"),
                _raw("# END QUESTION"),
            ]
            i += 2
            continue
        if meta.get("solution") and cell.cell_type == "code":
            item = rubric.item(gid)
            check = checks[f"check_{gid}"]
            if gid not in tests:
                raise ValueError(f"{gid}: no hidden grader has @item({gid!r})")
            pts = question_points(item.points, tests[gid])
            out += [
                _raw(f"# BEGIN QUESTION\nname: {gid}\npoints: {pts!r}"),
                _raw("# BEGIN SOLUTION"),
                _clean(cell),
                _raw("# END SOLUTION"),
                _raw("# BEGIN TESTS"),
                nbformat.v4.new_code_cell(visible_test(gid, check.source)),
                *(nbformat.v4.new_code_cell(hidden_test(rec)) for rec in tests[gid]),
                _raw("# END TESTS"),
                _raw("# END QUESTION"),
            ]
            i += 1
            continue
        if gid and gid.startswith("check_") and gid[6:] in tests:
            i += 1  # it became the question's visible test
            continue
        if meta.get("solution"):
            raise ValueError(f"solution cell {gid} has no otter equivalent")
        out.append(_clean(cell))
        i += 1
    master = nbformat.v4.new_notebook(cells=out, metadata=nbformat.from_dict(nb.metadata))
    nbformat.validate(master)
    return master


def write_master(dest: Path, source: Path = INSTRUCTOR_NB, *, run_tests: bool = False) -> Path:
    """Write DEST/<assignment>.ipynb, its grader bundle and requirements; return its path."""
    dest = Path(dest)
    recording = otter_replay.record()
    write_bundle(dest / BUNDLE, recording)
    write_atomic(dest / "requirements.txt", REQUIREMENTS)
    path = dest / f"{load_rubric().assignment}.ipynb"
    write_atomic(path, to_bytes(master_notebook(source, run_tests=run_tests, recording=recording)))
    return path


def otter(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the venv's ``otter ARGS`` (with an external timeout: otter has none)."""
    exe = str(Path(sys.executable).parent / "otter")
    return subprocess.run(
        [exe, *args], cwd=cwd, env=venv_env(), capture_output=True, text=True, timeout=timeout
    )


def assign(master: Path, dist: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """``otter assign MASTER DIST``; raises CalledProcessError on failure."""
    p = otter("assign", str(master), str(dist), cwd=master.parent, timeout=timeout)
    p.check_returncode()
    return p


# -- submissions in otter's student format ---------------------------------------------

_DEF = re.compile(r"^def (\w+)\(", re.M)


def answer_cells(nb: NotebookNode) -> dict[str, NotebookNode]:
    """function name → its answer cell in an otter student (or master) notebook."""
    found = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            m = _DEF.search(cell.source)
            if m and not cell.source.startswith("def test_"):
                found.setdefault(m.group(1), cell)
    return found


def fill(student_nb: NotebookNode, sources: dict[str, str]) -> NotebookNode:
    """A copy of otter's student notebook with the answer cells of ``sources`` replaced."""
    nb = nbformat.from_dict(student_nb)
    cells = answer_cells(nb)
    for fn, src in sources.items():
        cells[fn].source = src
    return nb
