"""The benchmark (`hw2 bench run`, autograder/bench/) runs end to end on a tiny class.

Only a smoke test: N = 3, our grader only (nbgrader and otter are exercised by
tests/test_integrations.py), one scaling row. It checks that results.json is
well formed and that the numbers in it are the ones the run measured, not that
any target is met: timings on a shared CI machine prove nothing.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def test_bench_class_mix_is_fixed():
    from autograder.bench.workload import PATTERN, class_specs

    specs = class_specs(20)
    kinds = [s.kind.split(":")[0] for s in specs]
    assert kinds == list(PATTERN) * 2
    assert len({s.student for s in specs}) == 20
    buggy = [s.kind for s in specs if s.kind.startswith("buggy:")]
    assert len(set(buggy)) == len(buggy)  # the mutation catalog is taken in turn
    slow = next(s for s in specs if s.kind == "slow")
    assert "sleep(" in slow.answers["sigmoid"]
    assert next(s for s in specs if s.kind == "stub").answers == {}


def test_bench_stats_median_and_p95():
    from autograder.bench.measure import stats

    s = stats([float(i) for i in range(1, 101)])
    assert (s["n"], s["median_s"], s["p95_s"], s["max_s"]) == (100, 50.5, 95.0, 100.0)
    assert stats([]) == {"n": 0}


@pytest.mark.slow
def test_bench_script_writes_well_formed_results(tmp_path: Path):
    out = tmp_path / "results.json"
    p = subprocess.run(
        [sys.executable, "-m", "autograder", "bench", "run", "--n", "3", "--skip-otter",
         "--skip-nbgrader", "--scale", "3", "--speed-n", "2", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert p.returncode == 0, p.stdout + p.stderr
    result = json.loads(out.read_text())

    m = result["machine"]
    assert m["nproc"] >= 1 and m["cpu_model"] and m["python"].startswith("3.")
    assert result["floor"]["n"] == 3 and result["floor"]["sub_n"] == 3
    rows = {r["tool"]: r for r in result["tools"]}
    assert sorted(rows) == ["ours --jobs 1", "ours --jobs 2"]
    for row in rows.values():
        assert row["ok"] and row["check"] == "3/3 rows graded"
        assert row["n"] == 3 and row["returncode"] == 0 and not row["timed_out"]
        assert math.isclose(row["per_sub_s"], row["wall_s"] / 3, rel_tol=1e-3)
        assert 0 < row["sub_median_s"] <= row["sub_p95_s"] <= row["wall_s"]
        assert math.isclose(row["overhead_s"], row["per_sub_s"] - row["floor_per_sub_s"],
                            abs_tol=1e-3)  # fmt: skip
        assert 10 < row["tree_mib"] < 2048 and 10 < row["largest_mib"] < 2048
    assert [r["n"] for r in result["scaling"]] == [3]
    assert result["ratios"]["jobs2_speedup"] == pytest.approx(
        rows["ours --jobs 1"]["wall_s"] / rows["ours --jobs 2"]["wall_s"], rel=1e-3
    )
    assert result["ratios"]["ours_over_nbgrader"] is None  # skipped, so not made up
    targets = {t["target"]: t["met"] for t in result["targets"]}
    assert targets["overhead ≤ 1/10 of nbgrader autograde's"] is None
    assert "| ours --jobs 2 | 3 |" in p.stdout  # the printed table
    # The speed section: its rows on copies of the correct example, with the split.
    speed = result["speed"]
    assert speed["n"] == 2 and "nbgrader" not in speed["rows"]
    for key in ("j1", "j1_cold", "j2", "j2_pdf"):
        row = speed["rows"][key]
        assert row["ok"] and row["check"] == "2/2 rows graded", row
        assert set(row["split"]) == {"sandbox_start", "imports", "cells", "tests", "clean_up"}
    assert speed["rows"]["j1_cold"]["tool"] == "ours --jobs 1 --cold"
    assert speed["ratios"]["j1_over_floor"] == pytest.approx(
        speed["rows"]["j1"]["per_sub_s"] / speed["rows"]["floor"]["per_sub_s"], rel=1e-3
    )
    assert {t["target"]: t["met"] for t in speed["targets"]}[
        "ours --jobs 2 ≥ 20× faster than nbgrader autograde"
    ] is None
