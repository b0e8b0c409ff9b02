"""Each grader under test, run as its users run it, and what its run cost per submission.

Every function returns a plain dict for results.json: the command's ``Run``
(wall seconds, memory), ``per_sub_s`` (wall / N), per-submission statistics where
the tool lets us see them, and ``ok`` with a ``check`` saying whether the tool
really graded every submission (a fast run that graded nothing is no result).
"""

from __future__ import annotations

import csv
import glob
import itertools
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from autograder import REPO_DIR as REPO
from autograder.bench import measure
from autograder.run.sandbox import WORKER_ENV

PYTHON = str(REPO / ".venv" / "bin" / "python")
VENV_BIN = REPO / ".venv" / "bin"


def _env() -> dict[str, str]:
    # nbgrader runs `alembic` and otter its helpers from PATH: the venv's bin/ goes first.
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def _row(name: str, n: int, r: measure.Run, per_sub: list[float], how: str) -> dict:
    return {
        "tool": name,
        "n": n,
        **r.as_dict(),
        "per_sub_s": round(r.wall_s / n, 4),
        "per_sub_source": how,
        **{f"sub_{k}": v for k, v in measure.stats(per_sub).items()},
    }


# -- ours ------------------------------------------------------------------------------


def ours(
    folder: Path, out: Path, *, jobs: int, n: int, timeout: float = 7200, cold: bool = False,
    pdf: bool = False,
) -> dict:  # fmt: skip
    """`python -m autograder grade FOLDER --out OUT --no-pdf --jobs J` into a fresh OUT
    (``cold``: with --cold; ``pdf``: without --no-pdf)."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [PYTHON, "-m", "autograder", "grade", str(folder), "--out", str(out),
           *([] if pdf else ["--no-pdf"]), *(["--cold"] if cold else []),
           "--jobs", str(jobs)]  # fmt: skip
    r = measure.run(cmd, cwd=REPO, env=_env(), timeout=timeout)
    # Each results.json carries its submission's seconds as Gradescope's execution_time.
    per_sub = [
        float(json.loads(p.read_text(encoding="utf-8"))["execution_time"])
        for p in sorted((out / "results").glob("*.json"))
    ]
    rows = []
    if (out / "grades.csv").exists():
        with open(out / "grades.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    graded = sum(1 for row in rows if row["status"] == "graded")
    name = f"ours --jobs {jobs}" + (" --cold" if cold else "") + (" with PDFs" if pdf else "")
    row = _row(name, n, r, per_sub, "execution_time in OUT/results")
    row["ok"] = r.returncode == 0 and graded == n
    row["check"] = f"{graded}/{n} rows graded"
    row["jobs"] = jobs
    row["split"] = phases(out)
    if jobs == 1 and per_sub:
        # Wall time not spent inside a sandbox: pytest, the trusted side of each call,
        # reports and start-up. With one job it is measured directly, free of the
        # noise of comparing two separate runs (ours and the floor).
        row["outside_sandbox_s"] = round(row["per_sub_s"] - row["sub_mean_s"], 4)
    return row


def phases(out: Path) -> dict[str, float]:
    """The mean per-submission split (autograder.run.sandbox.PHASES) from OUT/logs."""
    sums: dict[str, float] = {}
    count = 0
    for log in sorted((out / "logs").glob("*.txt")):
        for line in log.read_text(encoding="utf-8").splitlines():
            if line.startswith("phases: ") and "=" in line:
                count += 1
                for pair in line.removeprefix("phases: ").split():
                    key, _, value = pair.partition("=")
                    sums[key] = sums.get(key, 0.0) + float(value)
    return {k: round(v / count, 4) for k, v in sums.items()} if count else {}


# -- the floor -------------------------------------------------------------------------


def floor_env(work: Path, runtime: Path) -> dict[str, str]:
    """The sandbox's environment, without the sandbox (same threads, backend, font cache)."""
    mpl = work / "floor-mpl"
    mpl.mkdir(parents=True, exist_ok=True)
    for cached in (runtime / "mpl").glob("fontlist-*.json"):
        shutil.copyfile(cached, mpl / cached.name)
    return {**WORKER_ENV, "HOME": str(work), "MPLCONFIGDIR": str(mpl), "PATH": "/usr/bin:/bin"}


def floor(notebooks: list[Path], work: Path, runtime: Path) -> dict:
    """Each notebook's cells once in a fresh bare process of the sandbox runtime's python."""
    env = floor_env(work, runtime)
    script = str(Path(__file__).with_name("floor_exec.py"))
    python = str(runtime / "bin" / "python")
    per_sub, start = [], time.perf_counter()
    for nb in notebooks:
        t = time.perf_counter()
        subprocess.run([python, "-E", "-s", "-B", script, str(nb)], cwd=work, env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=300, check=False)  # fmt: skip
        per_sub.append(time.perf_counter() - t)
    wall = time.perf_counter() - start
    n = len(notebooks)
    return {
        "tool": "floor (bare python, no grading)",
        "n": n,
        "wall_s": wall,
        "per_sub_s": round(wall / n, 4),
        "per_sub_source": "one process per notebook, timed from outside",
        "by_student": {nb.stem: round(s, 4) for nb, s in zip(notebooks, per_sub, strict=True)},
        **{f"sub_{k}": v for k, v in measure.stats(per_sub).items()},
        "ok": True,
        "check": f"{n} notebooks executed",
    }


# -- nbgrader --------------------------------------------------------------------------


def nbgrader_course(course: Path, flat: list[Path]) -> None:
    """Set up (untimed): the course, `nbgrader generate_assignment`, the submitted/ tree."""
    from autograder.bench.workload import write_nbgrader_submitted
    from autograder.integrations.nbgrader_course import nbgrader, write_course

    shutil.rmtree(course, ignore_errors=True)
    write_course(course)
    p = nbgrader(course, "generate_assignment", "hw2", "--force", timeout=600)
    if p.returncode:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{p.stdout}{p.stderr}")
    write_nbgrader_submitted(flat, course)


def nbgrader_autograde(course: Path, n: int, timeout: float = 7200) -> dict:
    """`nbgrader autograde hw2 --force`: one command for the whole class, as instructors run it.

    nbgrader grades one submission after another, each in its own kernel, and
    writes autograded/<student>/hw2/hw2.ipynb when it is done with it; the gaps
    between those files' times are its per-submission seconds (the first
    submission, whose start is not visible, is left out).
    """
    exe = str(VENV_BIN / "nbgrader")
    r = measure.run([exe, "autograde", "hw2", "--force"], cwd=course, env=_env(), timeout=timeout)
    done = sorted(
        os.stat(p).st_mtime for p in glob.glob(str(course / "autograded" / "*" / "hw2" / "*.ipynb"))
    )
    gaps = [b - a for a, b in itertools.pairwise(done)]
    row = _row("nbgrader autograde", n, r, gaps, "gaps between autograded/ file times")
    row["ok"] = r.returncode == 0 and len(done) == n
    row["check"] = f"{len(done)}/{n} notebooks autograded"
    return row


# -- otter -----------------------------------------------------------------------------


def otter_dist(folder: Path) -> tuple[Path, Path]:
    """Set up (untimed): the otter-assign master notebook and `otter assign` → dist/."""
    from autograder.integrations.otter_assign import assign, write_master

    shutil.rmtree(folder, ignore_errors=True)
    master = write_master(folder)
    assign(master, folder / "dist", timeout=600)
    (zip_path,) = (folder / "dist" / "autograder").glob("hw2-autograder_*.zip")
    return folder / "dist" / "student" / "hw2.ipynb", zip_path


def otter_run(notebooks: list[Path], zip_path: Path, work: Path, timeout: float = 300) -> dict:
    """`otter run -a ZIP -o OUT NOTEBOOK`, one command per submission (it has no batch mode
    without Docker), each under an outer timeout since otter has none of its own."""
    exe = str(VENV_BIN / "otter")
    per_sub, largest, tree, graded, wall = [], 0.0, 0.0, 0, 0.0
    failures = []
    for nb in notebooks:
        out = work / "otter-out" / nb.stem
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        r = measure.run([exe, "run", "-a", str(zip_path), "-o", str(out), str(nb)],
                        cwd=work, env=_env(), timeout=timeout)  # fmt: skip
        per_sub.append(r.wall_s)
        wall += r.wall_s
        largest, tree = max(largest, r.largest_mib), max(tree, r.tree_mib)
        if r.returncode == 0 and (out / "results.json").exists():
            graded += 1
        else:
            failures.append(f"{nb.stem}: exit {r.returncode}, timed out: {r.timed_out}")
    n = len(notebooks)
    last = measure.Run(wall, 0, largest, tree, 0.0)
    row = _row("otter run", n, last, per_sub, "one `otter run` per submission")
    row["ok"] = graded == n
    row["check"] = f"{graded}/{n} results.json written" + (f"; {failures[:3]}" if failures else "")
    return row
