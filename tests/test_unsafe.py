"""Without bubblewrap, grading refuses; --unsafe-no-sandbox grades and every report says so."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import pytest

from autograder.rubric import load_rubric
from tests.conftest import REPO


@pytest.fixture
def path_without_bwrap(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("prlimit", "setpriv", "env"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    return str(bin_dir)


def _grade(out, path, *extra):
    return subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "examples/submissions/correct.ipynb",
         "--out", str(out), "--no-pdf", "--jobs", "1", *extra],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, "PATH": path},
    )  # fmt: skip


def test_refuses_without_a_sandbox(tmp_path, path_without_bwrap):
    p = _grade(tmp_path / "out", path_without_bwrap)
    assert p.returncode == 2
    assert "`bwrap` is not installed (Debian package bubblewrap)" in p.stderr
    assert "--unsafe-no-sandbox" in p.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_unsafe_mode_grades_and_says_so(tmp_path, path_without_bwrap):
    out = tmp_path / "out"
    p = _grade(out, path_without_bwrap, "--unsafe-no-sandbox")
    assert p.returncode == 0, p.stderr
    assert "not isolated" in p.stderr
    row = next(csv.DictReader(open(out / "grades.csv")))
    assert float(row["auto_total"]) == load_rubric().auto_points
    assert row["note"].startswith("UNSAFE")
    data = json.loads((out / "results" / "correct.json").read_text())
    assert "not isolated" in data["output"] and data["extra_data"]["unsafe"] is True
