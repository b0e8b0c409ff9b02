"""Grading time per submission at each isolation level, side by side in one run.

    hw2 bench isolation [--copies 4] [--rounds 2] [--jobs 1]

The same submissions (the three examples, ``--copies`` times each) are graded at every
level this machine provides (tests/levels.py: full as root, rootless as an ordinary
user, uid under the seccomp launcher, none with --unsafe-no-sandbox), in interleaved
rounds so that machine load falls on every level alike. Prints seconds per submission
(median over rounds) and the ratio to the full level; writes bench/isolation.json.
Needs root (it creates the rootless user) and the repository's tests/levels.py.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from pathlib import Path

from autograder import REPO_DIR as REPO

MODES = ("full", "rootless", "uid", "none")


def main(*, copies: int, rounds: int, jobs: int, out: Path) -> None:
    """Grade ``3 × copies`` submissions at each level, ``rounds`` times; write ``out``."""
    from tests import levels  # the test suite's way to run at each level (a checkout only)

    modes = [m for m in MODES if not levels.unavailable("full" if m == "none" else m)]
    times: dict[str, list[float]] = {m: [] for m in modes}
    n = 3 * copies
    for _ in range(rounds):
        for mode in modes:
            place = levels.place("full" if mode == "none" else mode)
            try:
                folder = place.scratch / "subs"
                folder.mkdir()
                for k in range(copies):
                    for name in ("correct", "typical_mistakes", "stub"):
                        shutil.copy(REPO / "examples" / "submissions" / f"{name}.ipynb",
                                    folder / f"{name}_{k}.ipynb")  # fmt: skip
                if place.uid:
                    for p in (folder, *folder.iterdir()):
                        os.chown(p, place.uid, place.uid)
                grade_out = str(place.scratch / "out")
                cmd = ["-m", "autograder", "grade", str(folder), "--out", grade_out, "--no-pdf",
                       "--jobs", str(jobs)]  # fmt: skip
                if mode == "none":
                    cmd.append("--unsafe-no-sandbox")
                start = time.monotonic()
                p = place.run(cmd, capture_output=True, text=True, timeout=1800)
                elapsed = time.monotonic() - start
                assert p.returncode == 0, p.stderr[-2000:]
                assert f"isolation: {mode}" in p.stdout, p.stdout[-500:]
                times[mode].append(elapsed / n)
            finally:
                place.cleanup()
    full = statistics.median(times["full"])
    result = {
        "submissions": n,
        "rounds": rounds,
        "jobs": jobs,
        "load": os.getloadavg()[0],
        "levels": {
            m: {
                "s_per_submission": round(statistics.median(t), 3),
                "vs_full": round(statistics.median(t) / full, 3),
                "all": t,
            }
            for m, t in times.items()
        },
    }
    Path(out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'level':<10} {'s/submission':>12} {'vs full':>8}")
    for m, r in result["levels"].items():
        print(f"{m:<10} {r['s_per_submission']:>12.3f} {r['vs_full']:>7.2f}×")
