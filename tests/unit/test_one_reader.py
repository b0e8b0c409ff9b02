"""One function reads a submission: autograder.submissions.read_notebook_bytes.

Every other place in the engine that opens or reads a file is listed here with what it
reads, so a new reader of student files (a later step, an integration) cannot appear
without passing through review: it either calls ``read_submission`` /
``read_notebook_bytes`` (no link followed, regular files only, size checked first, the
refusal reason kept) or is added below with why its file is not a submission.
The scan is by ``ast``: ``open()``, ``os.open``, ``io.open``, ``Path.read_bytes``,
``Path.read_text`` and ``nbformat.read`` calls, by file and enclosing function.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "autograder"

# The one reader of submissions (its O_PATH open, then the reopen of the checked file).
THE_READER = {("submissions.py", "_open_path"), ("submissions.py", "read_notebook_bytes")}
# (file, function) → what it reads: never a student's file.
NOT_SUBMISSIONS = {
    ("answers.py", "released_template"): "the released notebook",
    ("bench/cluster_bench.py", "_start"): "a log file the benchmark writes",
    ("bench/floor_exec.py", "main"): "the benchmark's own notebook",
    ("bench/measure.py", "_os_release"): "/etc/os-release",
    ("bench/measure.py", "_pss_kib"): "/proc",
    ("bench/measure.py", "_tree_pss"): "/proc",
    ("bench/measure.py", "machine"): "/proc",
    ("bench/pdf_bench.py", "executed_notebooks"): "the examples the benchmark made",
    ("bench/review_class.py", "notebook"): "the released notebook",
    ("bench/tools.py", "ours"): "our own grades.csv",
    ("bench/tools.py", "phases"): "our own grading logs",
    ("bench/workload.py", "write_otter"): "the instructor notebook",
    ("cluster/client.py", "scheduler_address"): "the instructor's Dask scheduler file",
    ("cluster/identity.py", "_hash"): "the engine's and the assignment's own files",
    ("cluster/tasks.py", "render_pdf"): "the PDF render_graded_pdf made and checked",
    ("files.py", "make_private"): "a file of OUT it creates (review.sqlite)",
    ("grade/cache.py", "ResultCache.get"): "OUT/.state, written by grade",
    ("grade/cache.py", "ResultCache.others"): "OUT/.state, written by grade",
    ("grade/cache.py", "grader_fingerprint"): "the hidden graders",
    ("grade/student.py", "experiment_cells"): "the released notebook",
    ("integrations/gradescope.py", "_entries"): "the checkout, for the zip",
    ("integrations/gradescope.py", "run_autograder"): "results.json our grade wrote",
    ("integrations/nbgrader_course.py", "place_answers"): "the released notebook",
    ("integrations/nbgrader_course.py", "import_grades"): "OUT/results, written by grade",
    ("integrations/nbgrader_course.py", "write_course"): "the instructor notebook",
    ("integrations/otter_assign.py", "master_notebook"): "the instructor notebook",
    ("integrations/otter_assign.py", "write_bundle"): "the package, for the zip",
    ("release/__init__.py", "release"): "the instructor notebook",
    ("report/lms.py", "read_roster"): "the instructor's roster",
    ("report/manual.py", "read_manual"): "OUT/manual.csv",
    ("report/pdf.py", "render_example_page"): "a PNG the PDF sandbox made",
    ("report/pdf_sandbox.py", "_read_regular"): "files the PDF sandbox wrote (O_NOFOLLOW)",
    ("report/pdf_sandbox.py", "run_xelatex"): "the .tex the worker wrote",
    ("report/pdf_sandbox.py", "typeset"): "files the PDF sandbox wrote",
    ("report/pdf_status.py", "read_status"): "OUT/pdf/status.csv",
    ("report/pdf_status.py", "update_pdfs.fresh"): "OUT/pdf keys",
    ("review/db.py", "Store.export_csv"): "OUT/manual.csv",
    ("review/db.py", "Store.reconcile_csv"): "OUT/manual.csv",
    ("review/db.py", "load_results"): "OUT/.state, written by grade",
    ("review/export.py", "_roster_from_lms"): "OUT/lms.csv",
    ("review/render.py", "_released_positions"): "the released notebook",
    ("review/render.py", "model_answers"): "the instructor notebook",
    ("review/server.py", "katex_dirs"): "the pinned KaTeX version (katex.env)",
    ("rubric.py", "load_rubric"): "rubric.toml",
    ("run/isolation.py", "Cgroup.oom_kills"): "/sys/fs/cgroup",
    ("run/isolation.py", "_any_process_of"): "/proc",
    ("run/isolation.py", "_own_cgroup"): "/proc/self/cgroup",
    ("run/isolation.py", "_processes_of"): "/proc",
    ("run/isolation.py", "_sysv_table"): "/proc/sysvipc",
    ("run/isolation.py", "acquire_slot"): "a lock file",
    ("run/isolation.py", "make_cgroup"): "/sys/fs/cgroup",
    ("run/isolation.py", "reap_orphans"): "/proc",
    ("run/isolation.py", "repo_paths"): "the checkout's .git",
    ("run/isolation.py", "shared_tree"): "the sandbox runtime's files",
    ("run/sandbox.py", "Sandbox._command"): "the sandbox's worker files",
    ("run/sandbox.py", "Sandbox._start_cold"): "the sandbox's worker files",
    ("run/sandbox.py", "Sandbox._start_warm"): "the sandbox's worker files",
    ("run/sandbox.py", "Sandbox.start"): "the sandbox's worker files",
    ("run/sandbox.py", "default_runtime"): "the runtime marker written by set-up",
    ("run/sandbox.py", "recorded_runtime"): "the runtime marker written by set-up",
    ("run/warm.py", "_children"): "/proc",
    ("run/warm.py", "_ppid"): "/proc",
    ("run/warm.py", "_running"): "/proc",
    ("run/zygote.py", "_drop_capabilities"): "/proc (inside the sandbox)",
    ("run/zygote.py", "_shared_writable_mappings"): "/proc (inside the sandbox)",
}


def _call_kind(call: ast.Call) -> str | None:
    f = call.func
    if isinstance(f, ast.Name) and f.id == "open":
        return "open"
    if isinstance(f, ast.Attribute):
        if f.attr in ("read_bytes", "read_text"):
            return f.attr
        if isinstance(f.value, ast.Name) and (f.value.id, f.attr) in (
            ("os", "open"),
            ("io", "open"),
            ("nbformat", "read"),
        ):
            return f"{f.value.id}.{f.attr}"
    return None


def file_reads(package_dir: Path = PACKAGE_DIR) -> set[tuple[str, str, str]]:
    """(file, enclosing function, call) for every call that opens or reads a file."""
    found: set[tuple[str, str, str]] = set()

    def visit(node: ast.AST, rel: str, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = where
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = f"{where}.{child.name}" if where else child.name
            if isinstance(child, ast.Call) and (kind := _call_kind(child)):
                found.add((rel, where, kind))
            visit(child, rel, inner)

    for path in sorted(package_dir.rglob("*.py")):
        rel = path.relative_to(package_dir).as_posix()
        visit(ast.parse(path.read_text(encoding="utf-8")), rel, "")
    return found


def test_every_file_read_in_the_engine_is_the_one_reader_or_listed():
    places = {(f, fn) for f, fn, _ in file_reads()}
    unknown = sorted(places - THE_READER - set(NOT_SUBMISSIONS))
    assert not unknown, (
        "new places that open or read a file: if it may be a student's, read it with "
        "autograder.submissions.read_submission (no link, regular file, size first); "
        f"otherwise add it to NOT_SUBMISSIONS with what it reads: {unknown}"
    )


def test_the_scan_finds_a_reader_of_submission_paths(tmp_path):
    # The scan can fail: review's old reader of a row's source is found and is not listed.
    (tmp_path / "review").mkdir()
    (tmp_path / "review" / "render.py").write_text(
        "def read_answers(path, items):\n    return path.read_bytes()\n"
    )
    assert file_reads(tmp_path) == {("review/render.py", "read_answers", "read_bytes")}
    assert ("review/render.py", "read_answers") not in NOT_SUBMISSIONS
