"""The hostile-submission suite: every case in tests/hostile/, graded in one batch per level.

The batch runs at every isolation level this machine provides (tests/levels.py):
full, rootless (as an ordinary user) and uid (namespaces denied by a seccomp filter).
A case states where its expectation differs by level (``Case.at``).

Per case: its row exists once, with the expected status and reason; the
functions it attacks score 0; every other function keeps full marks.
For the batch: it finishes within a bound, the repo is unchanged, no sandbox
process survives, the loopback listener receives nothing, no payload ran on
the host, the trusted processes' peak memory and the host's shared memory stay
bounded, every CSV cell is inert, and no control character from student data
reaches the terminal or a file of OUT. The rows of the entries grading refuses (links,
a FIFO) are then reviewed and exported: bounded, and shown as problems, never as answers.

HW2_HOSTILE_CASES="a,b" grades only those cases (to show one failing, say).
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import json
import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from autograder.inert import FORMULA_START, path_text
from autograder.rubric import load_rubric
from autograder.run.sandbox import SANDBOX_UID_BASE
from tests import levels
from tests.conftest import REPO
from tests.hostile import ALL

CASE_DIR = Path(__file__).parent / "hostile"
ALL_CASES = {
    p.stem: importlib.import_module(f"tests.hostile.{p.stem}").CASE
    for p in sorted(CASE_DIR.glob("*.py"))
    if p.stem != "__init__"
}
_ONLY = [n for n in os.environ.get("HW2_HOSTILE_CASES", "").split(",") if n]
CASES = {n: c for n, c in ALL_CASES.items() if not _ONLY or n in _ONLY}
RUBRIC = load_rubric()
FULL = {i.id: i.points for i in RUBRIC.auto}
BATCH_SECONDS = 420
# The trusted side (the grading command and its worker processes, not the sandboxes):
# it reads at most one 100 MB notebook at a time, whatever size a file claims.
TRUSTED_PEAK_MIB = 1024
# Files a submission writes inside its sandbox live in host shared memory (tmpfs).
SHMEM_RISE_MIB = 1536
_ESCAPES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# This suite's own sandbox uids, apart from any other grading run. HW2_HOSTILE_SLOTS="a-b"
# moves them, so two checkouts on one machine can run the suite at once.
_lo, _, _hi = os.environ.get("HW2_HOSTILE_SLOTS", "240-247").partition("-")
SLOTS = range(int(_lo), int(_hi) + 1)
MEMORY_MB = 2048  # the grader's default --memory: one submission's processes and files together
HOSTILE_USER = "hw2-hostile"
# Where a slot uid can write at the uid level (no mount namespace): checked after the batch.
WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")
BASE = (
    Path("/run/hw2-autograder")
    if Path("/run/hw2-autograder").is_dir()
    else Path("/tmp/hw2-autograder-0")
)
# One sandbox's files: /tmp (256 MiB) and /dev/shm (16 MiB), or the watchdog's share at the
# uid level plus what can be written in one of its intervals (measured: 25 MiB).
FILES_MIB = 256 + 16 + 64
HOST_MARKERS = [Path("/tmp/pwned-by-student"), Path("/tmp/results.json"), Path("/tmp/grades.csv")]


def _repo_digest(repo: Path = REPO) -> str:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    h = hashlib.sha256()
    for name in sorted(f for f in files if f):
        path = repo / name.decode()
        if path.is_file():
            h.update(name + b"\0" + path.read_bytes())
    return h.hexdigest()


def _sandbox_processes(user: int = 0) -> list[str]:
    """Live processes of the suite's slot uids (or, rootless, of the user it ran as),
    as "pid name" so that a failure says what survived."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                status = open(f"/proc/{entry.name}/status").read()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            uid = int(fields.get("Uid", "0").split()[0])
            if fields.get("State", "").split()[:1] in (["Z"], ["X"]):
                continue
            if (user and uid == user) or (not user and uid - SANDBOX_UID_BASE in SLOTS):
                pids.append(f"{entry.name} {fields.get('Name', '?').strip()}")
    return pids


class Sampler:
    """Polls, ten times a second, the peak RSS (VmHWM) of each trusted process of the
    grading command's tree (sandboxes excluded: their uids, or their pid namespace) and the
    host's Shmem."""

    def __init__(self, root_pid: int) -> None:
        self.root_pid = root_pid
        try:
            self.root_ns = os.readlink(f"/proc/{root_pid}/ns/pid")
        except OSError:
            self.root_ns = ""
        self.peak_kib: dict[int, int] = {}
        self.shmem_start = self.shmem_peak = self._shmem()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def _shmem() -> int:
        for line in open("/proc/meminfo"):
            if line.startswith("Shmem:"):
                return int(line.split()[1])
        return 0

    def _sample(self) -> None:
        parent, fields = {}, {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                status = dict(
                    line.split(":", 1) for line in open(f"/proc/{entry.name}/status") if ":" in line
                )
            except (OSError, ValueError):
                continue
            pid = int(entry.name)
            parent[pid] = int(status["PPid"])
            fields[pid] = status
        for pid, status in fields.items():
            up = pid
            while up in parent and up != self.root_pid:
                up = parent[up]
            uid = int(status["Uid"].split()[0])
            if up == self.root_pid and uid - SANDBOX_UID_BASE not in range(256):
                # Rootless sandboxes run as the grader's own uid: tell them by their pid
                # namespace, which is not the grading command's.
                try:
                    if os.readlink(f"/proc/{pid}/ns/pid") != self.root_ns:
                        continue
                except OSError:
                    continue
                hwm = int(status.get("VmHWM", "0 kB").split()[0])
                self.peak_kib[pid] = max(self.peak_kib.get(pid, 0), hwm)
        self.shmem_peak = max(self.shmem_peak, self._shmem())

    def _run(self) -> None:
        while not self.stop.is_set():
            self._sample()
            time.sleep(0.1)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


class MemorySampler:
    """Samples, every 50 ms, each sandbox's memory: its processes' anonymous pages (PSS) plus
    its files (every tmpfs mount of its own, sized or not; at the uid level, the slot uid's
    files in the host's /dev/shm, /tmp and /var/tmp). The peak must stay under --memory."""

    def __init__(self, user: int = 0) -> None:
        self.user, self.peak, self.peak_what = user, 0, ""
        self.files_peak, self.files_what = 0, ""
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        groups: dict[str, dict] = {}
        for pid in (p.split()[0] for p in _sandbox_processes(self.user)):
            try:
                status = open(f"/proc/{pid}/status").read()
                ns = os.readlink(f"/proc/{pid}/ns/pid")
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            uid = int(fields["Uid"].split()[0])
            if self.user and ns == os.readlink("/proc/self/ns/pid"):
                continue  # the rootless grader itself, not a sandbox
            key = ns if self.user else f"uid{uid}"
            g = groups.setdefault(key, {"anon": 0, "pids": [], "uid": uid})
            g["anon"] += _pss_anon(pid)
            g["pids"].append(pid)
        for key, g in groups.items():
            files = _own_tmpfs_bytes(g["pids"])
            if not self.user:
                files += _files_of(g["uid"])
            if files > self.files_peak:
                self.files_peak, self.files_what = files, key
            if g["anon"] + files > self.peak:
                self.peak = g["anon"] + files
                self.peak_what = f"{key}: {g['anon'] >> 20} MiB of processes + {files >> 20} MiB"

    def _run(self) -> None:
        while not self.stop.is_set():
            self._sample()
            time.sleep(0.05)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


def _row_of_case(out: Path, folder: Path, rows: dict[str, dict]) -> dict[str, list[str]]:
    """case → the student ids whose log names a source at or inside the case's entry."""
    sources = {}
    for student in rows:
        log = (out / "logs" / f"{student}.txt").read_text()
        sources[student] = re.search(r"^source: (.*)$", log, re.M).group(1)
    found: dict[str, list[str]] = {}
    for name, case in CASES.items():
        entry = path_text(case.path(folder, name))
        found[name] = [
            s for s, src in sources.items() if src == entry or src.startswith(entry + "/")
        ]
    return found


def _mount_devices(pid: int | str) -> list[tuple[str, str, str]]:
    """(device, mount point, fs type) of each mount ``pid`` sees."""
    mounts = []
    try:
        for line in open(f"/proc/{pid}/mountinfo"):
            left, _, right = line.partition(" - ")
            fields = left.split()
            mounts.append((fields[2], fields[4], right.split()[0]))
    except OSError:
        pass
    return mounts


def _own_tmpfs_bytes(pids: list[int]) -> int:
    """Bytes used on the tmpfs mounts a sandbox made for itself (/, /dev, /dev/shm, /tmp):
    every tmpfs its processes see that the host does not, sized or not."""
    host = {dev for dev, _, _ in _mount_devices("self")}
    used, seen = 0, set()
    for pid in pids:
        # Only the top mount at each point: a warm child's /tmp hides the zygote's, and
        # statvfs through the path would count the top one twice.
        top = {point: (dev, fstype) for dev, point, fstype in _mount_devices(pid)}
        for point, (dev, fstype) in top.items():
            if fstype != "tmpfs" or dev in host or dev in seen:
                continue
            try:
                st = os.statvfs(f"/proc/{pid}/root{point}")
            except OSError:
                continue
            seen.add(dev)
            used += (st.f_blocks - st.f_bfree) * st.f_frsize
    return used


def _pss_anon(pid: int) -> int:
    """Anonymous memory of ``pid``, pages shared after fork counted once over their sharers."""
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss_Anon:"):
                return int(line.split()[1]) << 10
    except OSError:
        pass
    return 0


def _files_of(uid: int) -> int:
    """Bytes of the files ``uid`` owns in the host's world-writable folders and in its own
    slot folder (cwd, HOME and TMPDIR at the uid level), whole trees, links not followed."""
    total = 0
    for _, st in _owned_by(uid):
        total += st.st_blocks * 512
    return total


def _owned_by(uid: int, roots=WRITABLE) -> list[tuple[str, os.stat_result]]:
    """Every entry owned by ``uid`` under ``roots`` and the slot folders (links not followed),
    with its lstat."""
    found = []
    slot_folders = [str(BASE / f"slot-{uid - SANDBOX_UID_BASE}")]
    for root in (*roots, *slot_folders):
        for top, dirs, names in os.walk(root):
            for name in dirs + names:
                path = os.path.join(top, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if st.st_uid == uid:
                    found.append((path, st))
    return found


def _sysv_ipc_of(uids: set[int]) -> list[str]:
    """The host's System V IPC objects (shm, sem, msg) that one of ``uids`` owns or made."""
    found = []
    for kind in ("shm", "sem", "msg"):
        lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        head = lines[0].split()
        for line in lines[1:]:
            f = dict(zip(head, line.split(), strict=False))
            if {int(f["uid"]), int(f["cuid"])} & uids:
                found.append(f"{kind} {line.split()[1]} of uid {f['uid']}")
    return found


def _host_shmem_mib() -> float:
    for line in open("/proc/meminfo"):
        if line.startswith("Shmem:"):
            return int(line.split()[1]) / 1024
    return 0.0


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


# The full level is the CI baseline; the others double the suite's time, so they are slow.
LEVEL_PARAMS = [
    pytest.param(lv, marks=[] if lv == "full" else [pytest.mark.slow], id=lv)
    for lv in levels.LEVELS
]


@pytest.fixture(scope="module", params=LEVEL_PARAMS)
def suite(request):
    level = request.param
    if why := levels.unavailable(level):
        pytest.skip(f"{level}: {why}")
    for marker in HOST_MARKERS:
        assert not marker.exists(), f"{marker} exists before the suite; remove it"
    # Its own user: the suite counts that user's processes afterwards, and other test
    # files run rootless as hw2-rootless at the same time.
    place = levels.place(level, user_name=HOSTILE_USER)
    request.addfinalizer(place.cleanup)
    folder, out = place.scratch / "hostile", place.scratch / "out"
    folder.mkdir()
    listener = Listener()
    for name, case in CASES.items():
        case.create(folder, name, listener.port)
    if place.uid:  # lchown: a case's link must never hand its target to the sandbox user
        for top, dirs, files in os.walk(folder):
            for entry in (top, *(os.path.join(top, n) for n in dirs + files)):
                os.chown(entry, place.uid, place.uid, follow_symlinks=False)
    before = _repo_digest(), _repo_digest(place.repo)
    shmem_before = _host_shmem_mib()
    start = time.monotonic()
    cmd = place.command(["-m", "autograder", "grade", str(folder), "--out", str(out),
                         "--timeout", "3", "--jobs", "2", "--no-pdf"])  # fmt: skip
    env = {**place.env, "HW2_SANDBOX_SLOTS": f"{SLOTS[0]}-{SLOTS[-1]}"}
    sampler = MemorySampler(place.uid)
    proc = subprocess.Popen(
        cmd, cwd=place.repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    trusted = Sampler(proc.pid)
    try:
        output, _ = proc.communicate(timeout=BATCH_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the hostile batch did not finish within {BATCH_SECONDS} s")
    finally:
        trusted.close()
    elapsed = time.monotonic() - start
    for _ in range(20):  # the last sandbox may still be being reaped
        if not _sandbox_processes(place.uid):
            break
        time.sleep(0.1)
    sampler.close()
    listener.close()
    uids = {place.uid} if place.uid else {SANDBOX_UID_BASE + s for s in SLOTS}
    # Rootless, a sandbox writes only its own tmpfs mounts; the user's files in the host's
    # /tmp are the grading command's own (and other runs' as that user): files are checked
    # for the slot uids of the root levels.
    left_files = [] if place.uid else [p for uid in sorted(uids) for p, _ in _owned_by(uid)]
    left_ipc = _sysv_ipc_of(uids)
    shmem_after = _host_shmem_mib()
    assert proc.returncode == 0, output.decode(errors="replace")[-3000:]
    rows = list(csv.DictReader(open(out / "grades.csv", newline="", encoding="utf-8")))
    # The student id as the file system knows it (a formula-like one is written '+A1).
    by_student = {r["student"].removeprefix("'"): r for r in rows}
    print(
        f"hostile batch at level {level}: {elapsed:.1f} s; largest sandbox "
        f"{sampler.peak >> 20} MiB ({sampler.peak_what})"
    )
    return {
        "level": level,
        "memory_peak": sampler.peak,
        "memory_what": sampler.peak_what,
        "returncode": proc.returncode,
        "raw_output": output,
        "output": output.decode(errors="replace"),
        "elapsed": elapsed,
        "rows": rows,
        "by_student": by_student,
        "ids_of_case": _row_of_case(out, folder, by_student),
        "trusted_peak_mib": max(trusted.peak_kib.values(), default=0) / 1024,
        "shmem_rise_mib": (trusted.shmem_peak - trusted.shmem_start) / 1024,
        "out": out,
        "repo_changed": (_repo_digest(), _repo_digest(place.repo)) != before,
        "leftovers": _sandbox_processes(place.uid),
        "left_files": left_files,
        "left_ipc": left_ipc,
        "shmem_kept_mib": shmem_after - shmem_before,
        "files_peak": sampler.files_peak,
        "files_what": sampler.files_what,
        "received": listener.received,
    }


def test_suite_is_organised_one_file_per_case():
    assert len(ALL_CASES) >= 60
    for name, case in ALL_CASES.items():
        assert case.doc, name


@pytest.mark.slow
def test_batch_completes_and_leaves_nothing_behind(suite):
    assert suite["returncode"] == 0, suite["output"][-3000:]
    assert suite["elapsed"] < BATCH_SECONDS
    assert not suite["repo_changed"], "a file of the repo changed"
    assert suite["leftovers"] == [], "sandbox processes survived grading"
    assert f"isolation: {suite['level']}" in suite["output"]
    assert {r["isolation"] for r in suite["rows"]} == {suite["level"]}
    may_connect = any(c.at_level(suite["level"]).network for c in CASES.values())
    if may_connect:  # the level cannot stop it (docs/isolation.md); only the network case tries
        assert set(suite["received"]) <= {b"<connection>stolen", b"<connection>"}
    else:
        assert suite["received"] == [], "the loopback listener was reached"
    for marker in HOST_MARKERS:
        assert not marker.exists(), f"{marker} was created on the host"
    ids = suite["ids_of_case"]
    assert {n: len(i) for n, i in ids.items() if len(i) != 1} == {}, "a case without one row"
    assert sorted(i for found in ids.values() for i in found) == sorted(suite["by_student"])
    for student in suite["by_student"]:  # any name becomes a short, safe file name
        assert re.fullmatch(r"[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]{0,79}", student), student


@pytest.mark.slow
def test_no_file_or_ipc_object_outlives_the_batch(suite):
    # leave_traces writes in every writable place and makes System V and POSIX IPC objects;
    # sysv_shm_big detaches 3 × 400 MB of shared memory. At the uid level they are the
    # host's (no mount or IPC namespace): the clean-up must remove them by owner.
    assert suite["left_files"] == [], "files of a slot uid survived grading"
    assert suite["left_ipc"] == [], "System V IPC objects of a slot uid survived grading"
    assert suite["shmem_kept_mib"] < 256, f"host Shmem grew by {suite['shmem_kept_mib']:.0f} MiB"


@pytest.mark.slow
def test_each_sandbox_stays_under_its_file_budget(suite):
    # fill_home: 34 × 60 MB in HOME, TMPDIR and the working folder (the slot's own folder at
    # the uid level), leave_traces: a file in every writable place.
    files_mib = suite["files_peak"] / 2**20
    assert files_mib < FILES_MIB, f"{suite['files_what']}: {files_mib:.0f} MiB of files"


@pytest.mark.slow
def test_trusted_memory_shared_memory_and_wall_time_are_bounded(suite):
    peak, shmem, wall = suite["trusted_peak_mib"], suite["shmem_rise_mib"], suite["elapsed"]
    print(f"trusted peak {peak:.0f} MiB, Shmem rise {shmem:.0f} MiB, wall {wall:.0f} s")
    assert suite["trusted_peak_mib"] > 0, "the sampler saw no trusted process"
    assert suite["trusted_peak_mib"] < TRUSTED_PEAK_MIB
    assert suite["shmem_rise_mib"] < SHMEM_RISE_MIB
    assert suite["elapsed"] < BATCH_SECONDS


@pytest.mark.slow
def test_every_csv_cell_is_inert(suite):
    # Opened as a spreadsheet would: no cell from student data may start a formula,
    # and no cell holds a control character; score cells stay numbers.
    files = sorted(suite["out"].rglob("*.csv"))
    assert files
    for path in files:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        for row in rows:
            for cell in row:
                assert not _ESCAPES.search(cell.replace("\n", "")), (path.name, cell)
                if cell.startswith(FORMULA_START):
                    float(cell)  # only a number may start with + or -
    grades = {r["student"]: r for r in suite["rows"]}
    if {"id_plus_formula", "id_minus_formula"} <= set(CASES):
        assert "'+A1" in grades and "'-1+1" in grades
    for row in suite["rows"]:
        for item in FULL:
            float(row[item])


@pytest.mark.slow
def test_no_control_character_reaches_the_terminal_or_out(suite):
    assert not _ESCAPES.search(suite["raw_output"].decode("utf-8")), "raw escape in the output"
    for path in sorted(suite["out"].rglob("*")):
        if path.is_file() and path.suffix in (".csv", ".txt", ".json"):
            text = path.read_bytes().decode("utf-8")  # valid UTF-8: no lone surrogate got in
            assert not _ESCAPES.search(text.replace("\n", "")), path.name


@pytest.mark.slow
def test_each_sandbox_stays_under_its_memory_cap(suite):
    # Processes and files together, sampled every 50 ms (children_allocate: 8 × 1.5 GiB;
    # fill_root_and_dev: 3 GiB of files per folder).
    assert suite["memory_peak"] < MEMORY_MB << 20, suite["memory_what"]


@pytest.mark.slow
def test_grader_memory_stays_bounded(suite):
    # ru_maxrss of the grading command's process tree (largest single process), in KiB.
    import resource

    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kib < 1.5 * 2**20, f"a grading process peaked at {peak_kib / 2**10:.0f} MiB"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_case_outcome(suite, name):
    case = CASES[name].at_level(suite["level"])
    (student,) = suite["ids_of_case"][name]
    row = suite["by_student"][student]
    assert row["status"] == case.status, row
    results = json.loads((suite["out"] / "results" / f"{student}.json").read_text())
    if case.reason:
        assert case.reason in row["note"] + results["output"], (row["note"], results["output"])
    if case.message:
        feedback = [t["output"] for t in results["tests"]]
        assert any(case.message in f for f in feedback), feedback
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


# Entries grading refuses that `review` once read anyway: the instructor's notebook shown as
# the student's answer, a classmate's grouped as identical, /dev/zero, a FIFO (issue 23).
REVIEW_CASES = ("fifo", "link_classmate", "link_device", "link_instructor", "link_parent_folder")


@pytest.mark.parametrize("name", [n for n in REVIEW_CASES if n in CASES])
def test_review_shows_a_refused_entry_as_a_problem(suite, name, tmp_path):
    """The batch's rows of the case (and of +A1, the classmate a link points at), reviewed
    and exported: bounded, and every written item shows grading's reason, never an answer."""
    from autograder.review.db import Store
    from tests.reviewing import ReviewServer, answer_section, review_export_bounded

    ids = suite["ids_of_case"][name]
    assert ids, f"no row for {name}"
    out = tmp_path / "out"
    (out / ".state").mkdir(parents=True)
    for student in {*ids, "+A1"}:
        state = suite["out"] / ".state" / f"{student}.json"
        if state.exists():
            (out / ".state" / state.name).write_bytes(state.read_bytes())
    review_export_bounded(out)
    store = Store(out, RUBRIC)
    try:
        store.load(log=lambda m: None)
        for student in ids:
            for item in store.items:
                ans = store.answer(student, item)
                assert ans["source"] == "" and CASES[name].reason in ans["problem"], dict(ans)
                # a problem of its own: never grouped with an answer, nor zeroed with the unanswered
                assert ans["natural_group"] == "not found"
    finally:
        store.close()
    server = ReviewServer(out)
    try:
        for student in ids:
            for item in store.items:
                status, page = server.get(f"/item/{item}/{quote(student)}")
                assert status == 200, page[:500]
                answer = answer_section(page)
                assert "notebook not read: " in answer and CASES[name].reason in answer
                assert '<div class="md" id="answer"></div>' in answer
    finally:
        server.close()
