"""`grade` writes a graded PDF per student, a status file, and skips unchanged PDFs on a rerun."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_grade_writes_pdfs_and_rerenders_only_what_changed(tmp_path):
    out = tmp_path / "out"
    junk = tmp_path / "extra"
    junk.mkdir()
    (junk / "broken.ipynb").write_bytes(b"\x00not a notebook")
    cmd = [sys.executable, "-m", "autograder", "grade", "examples/submissions", str(junk),
           "--out", str(out), "--jobs", "2"]  # fmt: skip
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    status = {r["student"]: r for r in csv.DictReader(open(out / "pdf" / "status.csv"))}
    assert set(status) == {"correct", "typical_mistakes", "stub", "broken"}
    assert all(r["produced"] == "yes" for r in status.values()), status
    text = subprocess.run(
        ["pdftotext", str(out / "pdf" / "broken.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "broken" in text and "not a valid Jupyter notebook" in text
    before = {p.name: p.stat().st_mtime_ns for p in (out / "pdf").glob("*.pdf")}

    # A manual grade changes one student's PDF only.
    rows = list(csv.reader(open(out / "manual.csv")))
    row = next(r for r in rows if r[0] == "correct")
    row[1] = "0.25"  # q1_graph
    with open(out / "manual.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "rendering 1 graded PDFs" in p.stderr
    after = {p.name: p.stat().st_mtime_ns for p in (out / "pdf").glob("*.pdf")}
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"correct.pdf"}
