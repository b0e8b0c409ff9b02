"""`grade` writes a graded PDF per student, a status file, and skips unchanged PDFs on a rerun."""

from __future__ import annotations

import csv
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests import levels
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


@pytest.mark.slow
def test_make_pdf_as_an_ordinary_user():
    """`make pdf` run by a real non-root user: same sandbox kind, in a user namespace.

    This checkout and its venv may be under a folder no other user can enter (root's home,
    a mktemp -d folder), so the user runs a copy of the repo in a folder they can read,
    with the grader runtime's Python (built by setup.sh where every uid can read it).
    """
    if why := levels.unavailable("rootless"):
        pytest.skip(why)
    user = f"hw2pdf{secrets.token_hex(3)}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                   check=True)  # fmt: skip
    base = Path(tempfile.mkdtemp(prefix="hw2-student-"))  # pytest's tmp root is mode 700
    try:
        base.chmod(0o755)
        repo = base / "repo"
        repo.mkdir()
        levels.copy_repo(repo)
        subprocess.run(["chmod", "-R", "a+rX", str(repo)], check=True)
        home = base / "home"
        home.mkdir()
        nb = home / "my hw2.ipynb"
        shutil.copy(REPO / "examples" / "submissions" / "typical_mistakes.ipynb", nb)
        subprocess.run(["chown", "-R", f"{user}:{user}", str(home)], check=True)
        env = ["env", "-i", *(f"{k}={v}" for k, v in levels.user_env(home).items()),
               "PYTHONDONTWRITEBYTECODE=1"]  # fmt: skip
        python = levels.grader_runtime() / "bin" / "python"
        make = ["make", "-C", str(repo), "-o", ".venv/.ready", "pdf", f"NB={nb}",
                f"PDF={home / 'out.pdf'}", f"PY={python}"]  # fmt: skip
        p = subprocess.run(["runuser", "-u", user, "--", *env, *make], capture_output=True,
                           text=True, timeout=600)  # fmt: skip
        assert p.returncode == 0, p.stdout + p.stderr
        out = home / "out.pdf"
        assert out.stat().st_uid == pwd.getpwnam(user).pw_uid
        text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
        assert "Question 1: Backpropagation" in " ".join(text.split())
        # nothing of the user's sandboxes still runs (a zombie runs nothing: the inner bwrap
        # is reparented to init, which reaps it a moment later)
        ps = subprocess.run(["ps", "-u", user, "-o", "pid=,stat=,args="], capture_output=True,
                            text=True).stdout.splitlines()  # fmt: skip
        live = [line for line in ps if line.split()[1][0] != "Z"]
        assert live == [], f"processes of {user} left behind: {live}"
    finally:
        subprocess.run(["pkill", "-KILL", "-u", user], check=False)
        subprocess.run(["userdel", user], check=False)
        shutil.rmtree(base, ignore_errors=True)
