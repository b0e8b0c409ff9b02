"""The trusted side holds: intake, ids, inert text, the wire's deadlines, regrading.

Unit tests of the pieces the hostile suite (tests/test_hostile.py) exercises end to
end, plus the command-line cases that need their own OUT: entries passed directly
as arguments, a late notebook graded into an existing OUT, and a PDF stage killed
from outside after the gradebook is written.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.files import write_atomic
from autograder.inert import FORMULA_START, csv_cell, from_csv_cell, path_text, visible
from autograder.rubric import load_rubric
from autograder.run import wire
from autograder.submissions import (
    MAX_ID_CHARS,
    UnreadableNotebook,
    discover,
    read_notebook_bytes,
    student_id,
)
from tests.conftest import REPO
from tests.hostile import Case

AUTO_MAX = load_rubric().auto_points  # a correct notebook's autograded score

SLOTS = os.environ.get("HW2_HOSTILE_SLOTS", "240-247")
CORRECT = Case(doc="correct").build(0)


# -- ids -------------------------------------------------------------------------------


def test_ids_are_safe_short_distinct_and_stable():
    assert student_id("alice") == "alice"
    assert student_id("+A1") == "+A1"
    others = ["alice\u0301", ".alice", "._alice", "Alice Smith", "M\udc81ller", "\x1b[2J"]
    ids = [student_id(n) for n in others]
    assert len(set(ids) | {"alice"}) == len(others) + 1
    assert ids == [student_id(n) for n in others]  # stable
    long = student_id("x" * 300)
    assert len(long) <= MAX_ID_CHARS and long != student_id("x" * 299)
    for i in [*ids, long]:
        assert i.isascii() and not i.startswith(".") and "/" not in i


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "subs"
    root.mkdir(parents=True)
    (root / "alice.ipynb").write_bytes(CORRECT)
    (root / "alice/hw2").mkdir(parents=True)
    (root / "alice/hw2/hw2.ipynb").write_bytes(CORRECT)
    (root / "._alice.ipynb").write_bytes(b"\x00\x05\x16\x07")
    (root / ".alice.ipynb").write_bytes(CORRECT)
    (root / "alice\u0301.ipynb").write_bytes(CORRECT)
    os.symlink(REPO / "solutions" / "hw2_instructor.ipynb", root / "ref.ipynb")
    os.mkfifo(root / "pipe.ipynb")
    (root / "dir.ipynb").mkdir()
    os.symlink("loop.ipynb", root / "loop.ipynb")
    (root / "bob/hw2/deeper").mkdir(parents=True)
    (root / "bob/hw2/deeper/hw2.ipynb").write_bytes(CORRECT)
    (root / "carol/hw2").mkdir(parents=True)
    (root / "carol/hw2/.hw2.ipynb").write_bytes(CORRECT)
    os.symlink(root / "alice", root / "dave")
    return root


def test_every_entry_gets_a_row_and_nobody_is_refused(tmp_path):
    subs = discover([_tree(tmp_path)])
    by_name = {s.path.name: s for s in subs}
    assert len({s.student for s in subs}) == len(subs) == 12
    assert "symbolic link" in by_name["ref.ipynb"].problem
    assert "symbolic link" in by_name["loop.ipynb"].problem
    assert "symbolic link" in by_name["dave"].problem
    assert "FIFO" in by_name["pipe.ipynb"].problem
    assert "folder named like a notebook" in by_name["dir.ipynb"].problem
    assert "AppleDouble" in by_name["._alice.ipynb"].problem
    assert "hidden file" in by_name[".alice.ipynb"].problem
    assert "hidden file" in by_name[".hw2.ipynb"].problem  # carol
    deeper = next(s for s in subs if s.student == "bob")
    assert "no notebook at bob/hw2/*.ipynb" in deeper.problem
    alices = [s for s in subs if s.path.name in ("alice.ipynb", "hw2.ipynb") and not s.problem]
    assert len(alices) == 2 and all("is shared by 2 submissions" in s.note for s in alices)
    assert alices[0].student != alices[1].student
    assert discover([_tree(tmp_path / "again")]) != subs  # other paths, other collision ids
    assert [s.student for s in discover([tmp_path / "subs"])] == [s.student for s in subs]


def test_reading_never_follows_a_link_nor_reads_a_huge_file(tmp_path):
    root = _tree(tmp_path)
    for name in ("ref.ipynb", "loop.ipynb"):
        with pytest.raises(UnreadableNotebook, match="symbolic link"):
            read_notebook_bytes(root / name, root)
    with pytest.raises(UnreadableNotebook, match="symbolic link"):  # a linked parent folder
        read_notebook_bytes(root / "dave" / "hw2" / "hw2.ipynb", root)
    with pytest.raises(UnreadableNotebook, match="FIFO"):
        read_notebook_bytes(root / "pipe.ipynb", root)
    assert read_notebook_bytes(root / "alice" / "hw2" / "hw2.ipynb", root) == CORRECT
    # A 4 GiB sparse file: refused on fstat's size; the reader's peak RSS stays small.
    sparse = tmp_path / "sparse.ipynb"
    with open(sparse, "wb") as f:
        f.truncate(4 << 30)
    code = (
        "from pathlib import Path\n"
        "from autograder.submissions import Submission, UnreadableNotebook\n"
        "from autograder.grade.cache import submission_key\n"
        f"submission_key(Submission('s', Path({str(sparse)!r}), None), 'x')\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent.
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) < 200 << 10, f"hashing peaked at {int(out.stdout) >> 10} MiB"


# -- inert text ------------------------------------------------------------------------


def test_visible_escapes_every_control_character():
    evil = "a\x1b]52;c;eA==\x07b\x9b31m\u202ec\ud800\r\n\t"
    shown = visible(evil)
    assert shown == "a\\x1b]52;c;eA==\\x07b\\x9b31m\\u202ec\\ud800\\x0d\\x0a\\x09"
    assert visible("line\nnext", keep="\n") == "line\nnext"
    assert visible("Grüße, 名前, ŷ ∂L/∂W1") == "Grüße, 名前, ŷ ∂L/∂W1"
    assert path_text(Path(os.fsdecode(b"M\x81ller\x1b.ipynb"))) == "M\\x81ller\\x1b.ipynb"


@pytest.mark.parametrize("text", ["=1+1", "+A1", "-1+1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_never_start_a_formula(text):
    cell = csv_cell(text)  # a leading ' (OWASP), or tab and CR shown escaped
    assert not cell.startswith(FORMULA_START) and "\t" not in cell and "\r" not in cell
    assert from_csv_cell(csv_cell("+A1")) == "+A1"
    assert csv_cell("alice") == "alice"


def test_temporary_names_stay_under_255_bytes(tmp_path):
    path = tmp_path / ("n" * 250 + ".json")
    write_atomic(path, "{}")
    assert path.read_text() == "{}"


# -- the wire --------------------------------------------------------------------------


def test_a_write_to_a_peer_that_stopped_reading_times_out():
    r, w = os.pipe()
    try:
        import fcntl

        fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ, as a student can do to its end
        start = time.monotonic()
        with pytest.raises(wire.WireTimeout):
            wire.write_frame(w, {"op": "call"}, [np.zeros(10_000)], deadline=start + 0.5)
        assert time.monotonic() - start < 2
        assert os.get_blocking(w)
    finally:
        os.close(r)
        os.close(w)


def _frame(body: bytes) -> bytes:
    import struct

    return wire.MAGIC + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(
    "body",
    [b'{"ok": true, "arrays": [], "v": ' + b"9" * 5000 + b"}", b'{"arrays": [], "v": 1e99999'],
)
def test_a_malformed_header_is_a_protocol_error(body):
    r, w = os.pipe()
    os.write(w, _frame(body))
    os.close(w)
    try:
        with pytest.raises(wire.WireError):
            wire.read_frame(r, max_bytes=0, deadline=time.monotonic() + 5)
    finally:
        os.close(r)


def test_strings_from_the_sandbox_become_valid_text():
    r, w = os.pipe()
    os.write(w, _frame(json.dumps({"error": "\ud800 \udcff", "arrays": []}).encode()))
    os.close(w)
    header, _ = wire.read_frame(r, max_bytes=0, deadline=time.monotonic() + 5)
    os.close(r)
    assert header["error"] == "\\ud800 \\udcff"
    header["error"].encode("utf-8")


# -- the command line ------------------------------------------------------------------


def _grade(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "HW2_SANDBOX_SLOTS": SLOTS}
    return subprocess.run(
        [sys.executable, "-m", "autograder", "grade", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, **kw,
    )  # fmt: skip


@pytest.mark.slow
def test_links_fifos_and_devices_passed_as_arguments_get_rows(tmp_path):
    os.mkfifo(tmp_path / "pipe.ipynb")
    device = os.geteuid() == 0  # only root may make a device node; a link to one is below
    if device:
        os.mknod(tmp_path / "zero.ipynb", 0o600 | stat.S_IFCHR, os.makedev(1, 5))
    else:
        os.symlink("/dev/zero", tmp_path / "zero.ipynb")
    os.symlink(REPO / "solutions" / "hw2_instructor.ipynb", tmp_path / "ref.ipynb")
    args = [str(tmp_path / n) for n in ("pipe.ipynb", "zero.ipynb", "ref.ipynb")]
    p = _grade(*args, "--out", str(tmp_path / "out"), "--no-pdf")
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "out" / "grades.csv"))}
    assert rows["pipe"]["status"] == rows["zero"]["status"] == rows["ref"]["status"] == "unreadable"
    assert "FIFO" in rows["pipe"]["note"]
    assert ("device" if device else "symbolic link") in rows["zero"]["note"]
    assert "symbolic link" in rows["ref"]["note"] and rows["ref"]["auto_total"] == "0"


@pytest.mark.slow
def test_a_late_notebook_joins_an_existing_out_keeping_everything(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    (subs / "ann.ipynb").write_bytes(CORRECT)
    (subs / "bob.ipynb").write_bytes(Case(doc="", overrides={"sigmoid": "x = 1"}).build(0))
    assert _grade(str(subs), "--out", str(out), "--no-pdf").returncode == 0
    manual = list(csv.reader(open(out / "manual.csv")))
    manual[1][1] = "0.25"  # ann's first written item (q1_graph, worth 0.25), graded by hand
    with open(out / "manual.csv", "w", newline="") as f:
        csv.writer(f).writerows(manual)
    before = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}

    late = tmp_path / "late.ipynb"
    late.write_bytes(CORRECT)
    p = _grade(str(late), "--out", str(out), "--no-pdf")
    assert p.returncode == 0, p.stderr
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert sorted(rows) == ["ann", "bob", "late"]
    assert rows["ann"]["manual_total"] == "0.25" and float(rows["ann"]["total"]) == AUTO_MAX + 0.25
    assert rows["bob"]["auto_total"] == before["bob"]["auto_total"]
    assert "kept from an earlier run" in rows["bob"]["note"]
    assert float(rows["late"]["auto_total"]) == AUTO_MAX
    assert [r[0] for r in csv.reader(open(out / "manual.csv"))][1:] == ["ann", "bob", "late"]
    assert json.loads((out / "results" / "ann.json").read_text())["score"] == AUTO_MAX + 0.25


@pytest.mark.slow
def test_the_gradebook_is_complete_before_any_pdf_work(tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    subs.mkdir()
    for name in ("ann", "bob"):
        (subs / f"{name}.ipynb").write_bytes(CORRECT)
    env = {**os.environ, "HW2_SANDBOX_SLOTS": SLOTS}
    proc = subprocess.Popen(
        [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out), "--jobs", "1"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    for line in proc.stderr:
        if line.startswith("rendering"):
            os.killpg(proc.pid, signal.SIGKILL)  # the PDF stage, killed from outside
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the PDF stage never started"
    rows = list(csv.DictReader(open(out / "grades.csv")))
    assert sorted(r["student"] for r in rows) == ["ann", "bob"]
    assert all(float(r["auto_total"]) == AUTO_MAX for r in rows)
    assert (out / "manual.csv").exists() and not list(out.glob("pdf/*.pdf"))


def test_gradescope_refuses_a_linked_upload(tmp_path):
    from autograder.integrations.gradescope import run_autograder

    (tmp_path / "submission").mkdir()
    os.symlink(REPO / "solutions" / "hw2_instructor.ipynb", tmp_path / "submission" / "hw2.ipynb")
    start = time.monotonic()
    data = run_autograder(tmp_path)
    assert data["score"] == 0 and "symbolic link" in data["output"], data["output"]
    assert time.monotonic() - start < 10  # refused before any grading started
    saved = json.loads((tmp_path / "results" / "results.json").read_text())
    assert saved["score"] == 0
