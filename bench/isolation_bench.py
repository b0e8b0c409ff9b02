"""Grading time per submission at each isolation level, side by side in one run.

    .venv/bin/python bench/isolation_bench.py [--copies 4] [--rounds 2] [--jobs 1]

The same submissions (the three examples, ``--copies`` times each) are graded at every
level this machine provides (tests/levels.py: full as root, rootless as an ordinary
user, uid under the seccomp launcher, none with --unsafe-no-sandbox), in interleaved
rounds so that machine load falls on every level alike. Prints seconds per submission
(median over rounds) and the ratio to the full level; writes bench/isolation.json.
Needs root (it creates the rootless user).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import levels
from tests.conftest import REPO

MODES = ("full", "rootless", "uid", "none")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default=str(REPO / "bench" / "isolation.json"))
    args = ap.parse_args()
    modes = [m for m in MODES if not levels.unavailable("full" if m == "none" else m)]
    times: dict[str, list[float]] = {m: [] for m in modes}
    n = 3 * args.copies
    for _ in range(args.rounds):
        for mode in modes:
            place = levels.place("full" if mode == "none" else mode)
            try:
                folder = place.scratch / "subs"
                folder.mkdir()
                for k in range(args.copies):
                    for name in ("correct", "typical_mistakes", "stub"):
                        shutil.copy(REPO / "examples" / "submissions" / f"{name}.ipynb",
                                    folder / f"{name}_{k}.ipynb")  # fmt: skip
                if place.uid:
                    for p in (folder, *folder.iterdir()):
                        os.chown(p, place.uid, place.uid)
                out = str(place.scratch / "out")
                cmd = ["-m", "autograder", "grade", str(folder), "--out", out, "--no-pdf",
                       "--jobs", str(args.jobs)]  # fmt: skip
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
        "rounds": args.rounds,
        "jobs": args.jobs,
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
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'level':<10} {'s/submission':>12} {'vs full':>8}")
    for m, r in result["levels"].items():
        print(f"{m:<10} {r['s_per_submission']:>12.3f} {r['vs_full']:>7.2f}×")


if __name__ == "__main__":
    main()
