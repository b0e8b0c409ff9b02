"""Crash safety: kill `grade` halfway and rerun; resume; byte-identical reruns."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from autograder.rubric import load_rubric
from tests.conftest import REPO
from tests.hostile import Case


def _grade(folder, out, *extra, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", str(folder), "--out", str(out),
         "--no-pdf", *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **kw,
    )  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    nb = Case(doc="correct").build(0)
    slow = Case(doc="slow", extra=("import time\ntime.sleep(1.5)",)).build(0)
    for i in range(6):
        (folder / f"student{i}.ipynb").write_bytes(slow if i % 2 else nb)
    return folder


def _files(out):
    return {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_kill_halfway_then_rerun(folder, tmp_path):
    out = tmp_path / "out"
    proc = _grade(folder, out, "--jobs", "1")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (out / ".state").exists() and len(list((out / ".state").glob("*.json"))) >= 2:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p.stem for p in (out / ".state").glob("*.json")}
    assert 2 <= len(done_before) < 6, "the kill did not land halfway"
    assert not (out / "grades.csv").exists()

    rerun = _grade(folder, out, "--jobs", "1")
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()
    assert f"reused {len(done_before)} unchanged results" in err.decode()
    rows = list(csv.DictReader(open(out / "grades.csv")))
    assert sorted(r["student"] for r in rows) == [f"student{i}" for i in range(6)]
    assert all(float(r["auto_total"]) == load_rubric().auto_points for r in rows), rows
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")], "a temporary was left"


@pytest.mark.slow
def test_force_regrade_is_byte_identical(folder, tmp_path):
    out = tmp_path / "out"
    first = _grade(folder, out, "--jobs", "2")
    assert first.wait(timeout=300) == 0
    before = _graded(out)
    second = _grade(folder, out, "--jobs", "2", "--force")
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0 and b"reused" not in err
    assert _graded(out) == before and len(before) == 7


# The seconds a submission took (results.json's execution_time) are a measurement: the one
# field a regrade may change.
_SECONDS = re.compile(rb'\n  "execution_time": [0-9.]+,')


def _graded(out) -> dict:
    files = {k: v for k, v in _files(out).items() if k.parts[0] in ("results", "grades.csv")}
    results = [k for k in files if k.parts[0] == "results"]
    assert results and all(len(_SECONDS.findall(files[k])) == 1 for k in results)
    return {k: _SECONDS.sub(b"", v) for k, v in files.items()}


@pytest.mark.slow
def test_changed_notebook_is_regraded(folder, tmp_path):
    out = tmp_path / "out"
    work = tmp_path / "class"
    work.mkdir()
    for p in folder.glob("*.ipynb"):
        (work / p.name).write_bytes(p.read_bytes())
    assert _grade(work, out, "--jobs", "2").wait(timeout=300) == 0
    wrong = Case(doc="wrong", overrides={"optimal_lr": "def optimal_lr(a, b):\n    return 0.0\n"})
    (work / "student0.ipynb").write_bytes(wrong.build(0))
    rerun = _grade(work, out, "--jobs", "2")
    _, err = rerun.communicate(timeout=300)
    assert "reused 5 unchanged results" in err.decode()
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert rows["student0"]["optimal_lr"] == "0" and rows["student1"]["optimal_lr"] == "0.125"
