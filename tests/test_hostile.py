"""The hostile-submission suite: every case in tests/hostile/, graded in one batch.

Per case: its row exists once, with the expected status and reason; the
functions it attacks score 0; every other function keeps full marks.
For the batch: it finishes within a bound, the repo is unchanged, no sandbox
process survives, the loopback listener receives nothing, no payload ran on
the host, and the grader's memory stays bounded.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autograder.rubric import load_rubric
from autograder.run.sandbox import SANDBOX_UID_BASE
from tests.conftest import REPO
from tests.hostile import ALL

CASE_DIR = Path(__file__).parent / "hostile"
CASES = {
    p.stem: importlib.import_module(f"tests.hostile.{p.stem}").CASE
    for p in sorted(CASE_DIR.glob("*.py"))
    if p.stem != "__init__"
}
RUBRIC = load_rubric()
FULL = {i.id: i.points for i in RUBRIC.auto}
BATCH_SECONDS = 420
# This suite's own sandbox uids, apart from any other grading run. HW2_HOSTILE_SLOTS="a-b"
# moves them, so two checkouts on one machine can run the suite at once.
_lo, _, _hi = os.environ.get("HW2_HOSTILE_SLOTS", "240-247").partition("-")
SLOTS = range(int(_lo), int(_hi) + 1)
HOST_MARKERS = [Path("/tmp/pwned-by-student"), Path("/tmp/results.json"), Path("/tmp/grades.csv")]


def _repo_digest() -> str:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    h = hashlib.sha256()
    for name in sorted(f for f in files if f):
        path = REPO / name.decode()
        if path.is_file():
            h.update(name + b"\0" + path.read_bytes())
    return h.hexdigest()


def _sandbox_processes() -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                for line in open(f"/proc/{entry.name}/status"):
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) - SANDBOX_UID_BASE in SLOTS:
                            pids.append(int(entry.name))
                        break
            except OSError:
                pass
    return pids


class Listener:
    """A TCP listener on 127.0.0.1 that records every connection and byte."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.received.append(b"<connection>" + conn.recv(1024))
                except OSError:
                    self.received.append(b"<connection>")

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    for marker in HOST_MARKERS:
        assert not marker.exists(), f"{marker} exists before the suite; remove it"
    folder = tmp_path_factory.mktemp("hostile")
    out = tmp_path_factory.mktemp("hostile-out") / "out"
    listener = Listener()
    for name, case in CASES.items():
        (folder / f"{name}.ipynb").write_bytes(case.build(listener.port))
    before = _repo_digest()
    start = time.monotonic()
    cmd = [sys.executable, "-m", "autograder", "grade", str(folder), "--out", str(out),
           "--timeout", "3", "--jobs", "2", "--no-pdf"]  # fmt: skip
    env = {**os.environ, "HW2_SANDBOX_SLOTS": f"{SLOTS[0]}-{SLOTS[-1]}"}
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        output, _ = proc.communicate(timeout=BATCH_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the hostile batch did not finish within {BATCH_SECONDS} s")
    elapsed = time.monotonic() - start
    for _ in range(20):  # the last sandbox may still be being reaped
        if not _sandbox_processes():
            break
        time.sleep(0.1)
    listener.close()
    assert proc.returncode == 0, output.decode(errors="replace")[-3000:]
    rows = list(csv.DictReader(open(out / "grades.csv")))
    return {
        "returncode": proc.returncode,
        "output": output.decode(errors="replace"),
        "elapsed": elapsed,
        "rows": rows,
        "by_student": {r["student"]: r for r in rows},
        "out": out,
        "repo_changed": _repo_digest() != before,
        "leftovers": _sandbox_processes(),
        "received": listener.received,
    }


def test_suite_is_organised_one_file_per_case():
    assert len(CASES) >= 30
    for name, case in CASES.items():
        assert case.doc, name


@pytest.mark.slow
def test_batch_completes_and_leaves_nothing_behind(suite):
    assert suite["returncode"] == 0, suite["output"][-3000:]
    assert suite["elapsed"] < BATCH_SECONDS
    assert not suite["repo_changed"], "a file of the repo changed"
    assert suite["leftovers"] == [], "sandbox processes survived grading"
    assert suite["received"] == [], "the loopback listener was reached"
    for marker in HOST_MARKERS:
        assert not marker.exists(), f"{marker} was created on the host"
    assert sorted(r["student"] for r in suite["rows"]) == sorted(CASES)


@pytest.mark.slow
def test_grader_memory_stays_bounded(suite):
    # ru_maxrss of the grading command's process tree (largest single process), in KiB.
    import resource

    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kib < 1.5 * 2**20, f"a grading process peaked at {peak_kib / 2**10:.0f} MiB"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_case_outcome(suite, name):
    case = CASES[name]
    row = suite["by_student"][name]
    assert row["status"] == case.status, row
    if case.reason:
        results = json.loads((suite["out"] / "results" / f"{name}.json").read_text())
        assert case.reason in row["note"] + results["output"], (row["note"], results["output"])
    if case.status != "graded":
        assert row["auto_total"] == "0"
        return
    for fn, points in FULL.items():
        got = float(row[fn])
        if case.zero == ALL or fn in case.zero:
            assert got == 0, f"{name}: {fn} scored {got}"
        elif fn in case.hurt:
            continue  # it calls an attacked function: whatever it scores is fair
        else:
            assert got == points, f"{name}: {fn} lost points ({got} of {points})"
