"""Grading on a Dask cluster against grading here: what the distributed path costs.

    hw2 bench cluster [--n 200] [--tasks 10000] [--out bench/cluster.json]

On this machine, with a stock ``dask scheduler`` and two ``hw2 worker`` processes on
127.0.0.1:
1. the scheduler's cost per task: ``--tasks`` trivial tasks (``abs``) through two
   one-thread workers, wall time divided by the count;
2. one class of ``--n`` submissions (bench/workload.py's mix) graded with ``--jobs 2``
   and with ``--cluster`` (two workers), ``--no-pdf``, in that order;
3. a table, computed from those figures (not measured), of the time for 100,000
   submissions at 1, 8, 64 and 512 worker cores.

The model of 3: T(c) = N·g/c + (N/k)·s, with g the seconds of one core per submission
(2 × the cluster run's wall / n: two workers), s the scheduler's seconds per task
(from 1; one scheduler thread serves every task, so this term does not shrink with
cores), k the submissions per task (4, as the client chunks a large class). It assumes
the workers are as fast as these cores, the class spreads evenly, and the client's
intake and writes (about 0.03 s per submission here, on its own core) keep up.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder import REPO_DIR as REPO

CORES = (1, 8, 64, 512)
BIG_N = 100_000
CHUNK = 4


def _start(cmd: list[str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    out = open(log, "wb")  # the process keeps it open
    return subprocess.Popen(
        cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def _grade(folder: Path, out: Path, *extra: str) -> float:
    t0 = time.monotonic()
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "grade",
            str(folder),
            "--out",
            str(out),
            "--no-pdf",
            *extra,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if p.returncode != 0:
        raise RuntimeError(f"grade {' '.join(extra)} failed: {p.stderr[-2000:]}")
    return time.monotonic() - t0


def main(*, n: int, tasks: int, out: Path) -> dict:
    from distributed import Client

    from autograder.bench.workload import class_specs, write_flat

    work = Path(tempfile.mkdtemp(prefix="hw2-cluster-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        file = work / "scheduler.json"
        procs.append(
            _start(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(file),
                ],
                work / "scheduler.log",
                work,
            )
        )
        deadline = time.monotonic() + 60
        while not file.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the scheduler did not start")
            time.sleep(0.1)
        procs.append(
            _start(
                [sys.executable, "-m", "autograder", "worker", str(file), "--nworkers", "2"],
                work / "workers.log",
                REPO,
            )
        )
        with Client(scheduler_file=str(file), timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
            client.gather(client.map(abs, range(-100, 0)))  # warm: connections, imports
            t0 = time.monotonic()
            client.gather(client.map(abs, range(-tasks, 0), pure=False))
            per_task = (time.monotonic() - t0) / tasks
        print(f"scheduler: {per_task * 1e3:.2f} ms per trivial task ({tasks} tasks, 2 workers)")

        folder = work / "class"
        write_flat(class_specs(n), folder)
        local = _grade(folder, work / "local", "--jobs", "2")
        print(f"local --jobs 2: {local:.1f} s for {n}")
        remote = _grade(folder, work / "cluster", "--cluster", str(file))
        print(f"cluster, 2 workers: {remote:.1f} s for {n} ({remote / local:.3f}× local)")
    finally:
        _stop(procs)
    per_core = 2 * remote / n
    table = {str(c): round(BIG_N * per_core / c + BIG_N / CHUNK * per_task, 1) for c in CORES}
    for c, t in table.items():
        print(f"100,000 submissions on {c:>3} worker cores: {t / 3600:.2f} h ({t:.0f} s)")
    from autograder.bench.measure import machine

    result = {
        "n": n,
        "tasks": tasks,
        "scheduler_s_per_task": round(per_task, 6),
        "local_jobs2_s": round(local, 2),
        "cluster_2_workers_s": round(remote, 2),
        "ratio": round(remote / local, 3),
        "core_s_per_submission": round(per_core, 4),
        "model": "T(c) = N*g/c + (N/4)*s; g = core s per submission, s = scheduler s per task",
        "seconds_for_100000": table,
        "load_average": os.getloadavg(),
        "machine": machine(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return result
