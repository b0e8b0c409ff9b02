"""A Gradescope autograder zip that runs our sandboxed grader.

    hw2 gradescope OUT_DIR        # writes OUT_DIR/autograder.zip (or: make gradescope)

The zip unpacks into Gradescope's ``/autograder/source``:

    setup.sh                 Gradescope runs it once, as root, to build the image:
                             python3-venv, then ``scripts/setup.sh gradescope`` (what
                             grading needs: bubblewrap, the venv from requirements.txt,
                             the sandbox runtime; no TeX, PDF runtime, browser or tests)
    run_autograder           Gradescope runs it per submission: it calls
                             ``python -m autograder gradescope --run``
    autograder/              the grader package (hidden graders included; not bench/)
    solutions/hw2.py         the reference the graders compare against
    requirements*.txt, scripts/setup.sh, pyproject.toml

Per submission, ``--run`` picks the notebook in ``$AUTOGRADER_ROOT/submission/``
(default root ``/autograder``; ``hw2.ipynb`` if there are several), grades it with
``python -m autograder grade NOTEBOOK --out TMP --no-pdf`` and writes
``$AUTOGRADER_ROOT/results/results.json``: the autograded part only (its maximum is the
rubric's auto points), one test per hidden grader check with ``after_published``
visibility, feedback that never contains grader code or reference values. The written
questions are Gradescope manual questions beside the autograder in the assignment outline
(docs/integrations.md), so none of them appears here.
Anything that goes wrong still leaves a valid results.json (score 0, one sentence for the
student); the reason goes to the log, which only instructors see.

Gradescope's containers deny user namespaces (Docker's default seccomp profile), so the
grader runs at the ``uid`` isolation level there (autograder.run.isolation).
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from autograder import REFERENCE_PY, REPO_DIR
from autograder.files import write_atomic
from autograder.inert import json_text
from autograder.report.results_json import not_graded_entry, numbered
from autograder.rubric import load_rubric
from autograder.run import isolation
from autograder.submissions import UnreadableNotebook, read_notebook_bytes

ZIP_NAME = "autograder.zip"
# Repo files the zip carries (folders are walked for *.py, *.toml, *.ini).
FILES = (
    "requirements.txt",
    "requirements-sandbox.txt",
    "pyproject.toml",
    "scripts/setup.sh",
    REFERENCE_PY.relative_to(REPO_DIR).as_posix(),
)
PACKAGE_SUFFIXES = (".py", ".toml", ".ini")
LEFT_OUT = ("bench",)  # subpackages grading does not use (the benchmarks need a checkout)
GRADE_TIMEOUT = 540  # seconds: below Gradescope's default 10-minute limit

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, while building the autograder image.
# Set AUTOGRADER_SKIP_APT=1 to skip apt-get (the packages are then expected to be present).
set -euo pipefail
SOURCE=$(cd "$(dirname "$0")" && pwd)
if [[ ${AUTOGRADER_SKIP_APT:-0} != 1 && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  if ! dpkg-query -W -f='${Status}' python3-venv 2>/dev/null | grep -q "install ok installed"; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
fi
# What grading needs (no PDFs here): bubblewrap, the venv .venv, the sandbox runtime.
PYTHON=${PYTHON:-/usr/bin/python3} bash "$SOURCE/scripts/setup.sh" gradescope
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission (as /autograder/run_autograder).
# AUTOGRADER_ROOT (default /autograder) holds source/, submission/ and results/.
ROOT=${AUTOGRADER_ROOT:-/autograder}
cd "$ROOT/source" || exit 1
PY=${AUTOGRADER_PYTHON:-$ROOT/source/.venv/bin/python}
exec "$PY" -m autograder gradescope --run
"""


# -- building the zip ------------------------------------------------------------------


def _entries(repo: Path) -> list[tuple[str, bytes, int]]:
    """(name in the zip, bytes, mode) for every file, sorted by name."""
    out = [
        ("setup.sh", SETUP_SH.encode(), 0o755),
        ("run_autograder", RUN_AUTOGRADER.encode(), 0o755),
    ]
    for name in FILES:
        mode = 0o755 if name.endswith(".sh") else 0o644
        out.append((name, (repo / name).read_bytes(), mode))
    package = repo / "autograder"
    for path in sorted(package.rglob("*")):
        if path.relative_to(package).parts[0] in LEFT_OUT:
            continue
        if path.is_file() and path.suffix in PACKAGE_SUFFIXES and "__pycache__" not in path.parts:
            out.append((path.relative_to(repo).as_posix(), path.read_bytes(), 0o644))
    return sorted(out)


def build_zip(out_dir: Path, repo: Path = REPO_DIR) -> Path:
    """Write OUT_DIR/autograder.zip (deterministic: fixed dates, sorted names) and return it."""
    dest = Path(out_dir) / ZIP_NAME
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in _entries(repo):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    write_atomic(dest, buf.getvalue())  # 640: it holds the reference solution
    return dest


# -- running on Gradescope -------------------------------------------------------------


def _failure(reason: str) -> dict:
    """A valid results.json when the submission could not be graded at all."""
    tests = numbered([not_graded_entry(it, reason) for it in load_rubric().auto])
    return {
        "score": 0.0,
        "output": f"Not graded: {reason}",
        "output_format": "text",
        "visibility": "after_published",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def _shown(name: str) -> str:
    """A file name as students may read it: quoted, control characters escaped."""
    return json.dumps(name, ensure_ascii=False)


def pick_notebook(submission: Path, assignment: str) -> tuple[Path | None, str]:
    """(the notebook to grade, a note for the student): <assignment>.ipynb, or the only one.

    Links are listed, never followed: a link (or FIFO, or device) named *.ipynb is picked
    like a file and then refused with that reason when it is read. With several notebooks and
    none named <assignment>.ipynb, or with none at all, the path is None and the note
    says what to upload.
    """
    found = []
    for folder, dirs, files in os.walk(submission):  # never follows a link
        dirs[:] = sorted(d for d in dirs if d != ".ipynb_checkpoints" and not d.startswith("."))
        linked = [d for d in dirs if stat.S_ISLNK(os.lstat(Path(folder) / d).st_mode)]
        for name in sorted(files + linked):
            if name.endswith(".ipynb") and not name.startswith("."):
                found.append(Path(folder) / name)
    want = f"{assignment}.ipynb"
    exact = [p for p in found if p.name == want]
    others = ", ".join(_shown(p.name) for p in found[:5] if p not in exact[:1])
    if exact:
        return exact[0], (f"Graded {want}; also uploaded (ignored): {others}." if others else "")
    if len(found) == 1:
        return found[0], ""
    if not found:
        return None, f"no Jupyter notebook (.ipynb) in your submission; upload {want}."
    return None, f"several notebooks ({others}) and none is named {want}: upload only {want}."


def autograded_part(data: dict) -> dict:
    """Gradescope's view of our results.json: the autograded tests only (max: the auto points).

    Written answers are Gradescope manual questions, graded there; listing them here
    would show students a failing test for every answer not yet marked.
    """
    tests = numbered([t for t in data.get("tests", []) if "manual" not in t.get("tags", [])])
    output = [
        line.replace("; written answers pending manual grading.", ".")
        for line in data.get("output", "").splitlines()
    ]
    score = round(sum(t["score"] for t in tests), 6)
    return {**data, "tests": tests, "score": score, "output": "\n".join(output)}


def run_autograder(root: Path) -> dict:
    """Grade the notebook in ROOT/submission; write and return ROOT/results/results.json."""
    root = Path(root)
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    notebook, note = pick_notebook(root / "submission", load_rubric().assignment)
    if notebook is None:
        data = _failure(note)
    else:
        with tempfile.TemporaryDirectory(prefix="hw2-gradescope-") as tmp:
            # The student id is the file stem: a fixed one, whatever the upload was called.
            nb = Path(tmp) / "in" / "submission.ipynb"
            nb.parent.mkdir()
            try:  # the upload's own bytes: never through a link, size checked first
                nb.write_bytes(read_notebook_bytes(notebook, root / "submission"))
            except UnreadableNotebook as exc:
                return _write_results(results, _failure(f"{notebook.name}: {exc}."))
            out = Path(tmp) / "out"
            if os.geteuid() == 0:
                # This image's own unpacked copy, thrown away after the submission: at the
                # uid level (Docker's seccomp profile) only its modes keep student code out.
                for path in isolation.protect(isolation.repo_paths(REPO_DIR)):
                    print(f"made {path} unreadable to other users (uid level)")
            cmd = [sys.executable, "-m", "autograder", "grade", str(nb), "--out", str(out)]
            cmd += ["--no-pdf", "--jobs", "1"]
            try:
                p = subprocess.run(
                    cmd, cwd=REPO_DIR, capture_output=True, text=True, timeout=GRADE_TIMEOUT
                )
                # Instructor-only: Gradescope shows stdout to students only if told to.
                print(p.stdout[-4000:], p.stderr[-4000:], sep="\n")
                produced = out / "results" / "submission.json"
                if produced.exists():
                    data = autograded_part(json.loads(produced.read_text(encoding="utf-8")))
                    if note:
                        data["output"] = f"{note}\n{data['output']}"
                else:
                    # The reason (e.g. no isolation level possible) is in the log above.
                    data = _failure("the autograder could not run; please tell your instructor.")
            except subprocess.TimeoutExpired:
                data = _failure("grading took too long; please tell your instructor.")
    return _write_results(results, data)


def _write_results(results: Path, data: dict) -> dict:
    text = json_text(json.dumps(data, indent=2, ensure_ascii=False))
    write_atomic(results, text + "\n", mode=0o644)  # the harness reads it, maybe as another uid
    return data
