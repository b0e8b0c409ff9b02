"""Isolation levels: the command lines autograder.run.isolation builds, and each level end to end.

The hostile suite (tests/test_hostile.py) attacks every level; here: the generated
command lines, which level is chosen where, non-root grading, per-user slots,
output ownership and modes, the exit status of an incomplete run, and set-up.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from autograder.rubric import load_rubric
from autograder.run import isolation
from autograder.run.isolation import Confinement, Level, ProcLimits
from tests import levels
from tests.conftest import REPO, TYPICAL_MISTAKES_AUTO

AUTO_MAX = load_rubric().auto_points  # a correct notebook's autograded score

EXAMPLES = REPO / "examples" / "submissions"
LIM = ProcLimits(memory_mb=1024, processes=16, file_mb=8, tmp_mb=100, cpu_seconds=30)
CG = isolation.Cgroup((Path("/sys/fs/cgroup/memory/x"), Path("/sys/fs/cgroup/pids/x")))
ARGV = ["/rt/bin/python", "-c", "pass"]


def _opt(cmd: list[str], flag: str) -> list[str]:
    return [cmd[i + 1] for i, a in enumerate(cmd) if a == flag]


# -- the command lines ---------------------------------------------------------------------


def test_full_level_command_order_and_caps():
    cmd = isolation.command(Confinement(Level.FULL, 3, LIM, CG), ARGV, env={"A": "1"},
                            ro=["/rt"])  # fmt: skip
    # cgroup join first (paths as arguments, not in the script), then rlimits, uid, bwrap.
    assert cmd[:3] == ["/bin/sh", "-c", 'echo 0 >"$1" && echo 0 >"$2" && shift 2 && exec "$@"']
    assert cmd[4:6] == [str(CG.dirs[0] / "cgroup.procs"), str(CG.dirs[1] / "cgroup.procs")]
    order = [cmd.index(t) for t in ("prlimit", "setpriv", "bwrap")]
    assert order == sorted(order)
    assert f"--reuid={isolation.SANDBOX_UID_BASE + 3}" in cmd and "--no-new-privs" in cmd
    assert "--as=1073741824" in cmd  # with a cgroup, the cgroup holds the total
    assert "--nproc=18" in cmd  # outside: the slot uid's own processes plus bwrap's two
    assert cmd[-6:] == ["prlimit", "--nproc=16", "--", *ARGV]  # inside: the namespace's count
    assert "--unshare-all" in cmd and "--die-with-parent" in cmd


def test_every_writable_filesystem_has_a_size_and_the_rest_is_read_only():
    for level in (Level.FULL, Level.ROOTLESS):
        cmd = isolation.command(Confinement(level, 0, LIM), ARGV, env={}, workdir=Path("/w"))
        tmpfs = [i for i, a in enumerate(cmd) if a == "--tmpfs"]
        assert [cmd[i + 1] for i in tmpfs] == ["/dev/shm", "/tmp"]
        for i in tmpfs:
            assert cmd[i - 2] == "--size", cmd[i - 2 : i + 2]
        assert cmd[tmpfs[1] - 1] == str(100 << 20)
        # / and /dev are remounted read-only after every mount is in place.
        last_mount = max(i for i, a in enumerate(cmd) if a in ("--bind", "--ro-bind", "--tmpfs"))
        assert cmd.index("--remount-ro") > last_mount
        assert _opt(cmd, "--remount-ro") == ["/dev", "/"]
        # The only writable bind is the work folder.
        assert _opt(cmd, "--bind") == ["/w"] and cmd[cmd.index("--bind") + 2] == "/work"


def test_without_a_cgroup_the_submission_gets_one_process_and_the_rest_of_the_budget():
    full = isolation.command(Confinement(Level.FULL, 0, LIM), ARGV, env={})
    assert full[-6:] == ["prlimit", "--nproc=2", "--", *ARGV]  # bwrap's pid 1 + the command
    # One process's address space plus the two tmpfs sizes stay within memory_mb.
    assert f"--as={(1024 - 100 - isolation.SHM_MB) << 20}" in full
    uid = isolation.command(Confinement(Level.UID, 0, LIM), ARGV, env={})
    assert "--nproc=1" in uid


def test_rootless_level_has_no_uid_switch_and_caps_processes_inside():
    cmd = isolation.command(Confinement(Level.ROOTLESS, 5, LIM), ARGV, env={"K": "v"})
    assert "setpriv" not in cmd
    outer = cmd[: cmd.index("bwrap")]
    assert not any(a.startswith("--nproc") for a in outer)  # the user's own count: no cap
    assert cmd[-6:-4] == ["prlimit", "--nproc=2"]
    assert ["--setenv", "K", "v"] == cmd[cmd.index("--setenv") : cmd.index("--setenv") + 3]


def test_uid_level_drops_privileges_without_namespaces():
    cmd = isolation.command(Confinement(Level.UID, 7, LIM, CG), ARGV, env={"HOME": "/h"})
    assert "bwrap" not in cmd
    i = cmd.index("setpriv")
    assert cmd[i : i + 6] == ["setpriv", f"--reuid={isolation.SANDBOX_UID_BASE + 7}",
                              f"--regid={isolation.SANDBOX_UID_BASE + 7}", "--clear-groups",
                              "--no-new-privs", "--"]  # fmt: skip
    assert cmd[i + 6 :] == ["env", "-i", "HOME=/h", *ARGV]
    assert "--nproc=16" in cmd


def test_none_level_is_a_plain_process_with_rlimits():
    cmd = isolation.command(Confinement(Level.NONE, 0, LIM), ARGV, env={})
    assert cmd[0] == "prlimit" and "setpriv" not in cmd and "bwrap" not in cmd
    assert not any(a.startswith("--nproc") for a in cmd)


def test_xelatex_call_sees_its_work_folder_as_work():
    """The call the PDF sandbox makes (see the report): read-only TeX trees, one work folder."""
    conf = Confinement(Level.FULL, 1, replace(LIM, memory_mb=1536, processes=32, tmp_mb=64))
    cmd = isolation.command(conf, ["xelatex", "n.tex"], env={"TEXMFOUTPUT": "/work"},
                            ro=["/etc/texmf"], workdir=Path("/tmp/pdf-1"))  # fmt: skip
    assert ["--ro-bind", "/etc/texmf", "/etc/texmf"] == cmd[cmd.index("/etc/texmf") - 1 :][:3]
    assert ["--bind", "/tmp/pdf-1", "/work", "--chdir", "/work"] == cmd[
        cmd.index("--bind") : cmd.index("--bind") + 5
    ]
    assert isolation.inner_path(conf, Path("/tmp/pdf-1")) == "/work"
    uid = Confinement(Level.UID, 1, LIM)
    assert isolation.inner_path(uid, Path("/tmp/pdf-1")) == "/tmp/pdf-1"


# -- slots and scratch, per user -------------------------------------------------------


def test_base_dir_refuses_a_folder_someone_else_owns(tmp_path, monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("needs root to make a folder another user owns")
    foreign = tmp_path / "base"
    foreign.mkdir(mode=0o711)
    os.chown(foreign, 65534, 65534)
    monkeypatch.setattr(isolation, "ROOT_BASE", foreign)
    with pytest.raises(isolation.SandboxUnavailable, match="not a private folder"):
        isolation.base_dir()


def test_root_and_a_user_hold_the_same_slot_number_at_once(tmp_path):
    if why := levels.unavailable("rootless"):
        pytest.skip(why)
    env = {"HW2_SANDBOX_SLOTS": "231-231"}
    os.environ.update(env)
    try:
        slot = isolation.acquire_slot()
        place = levels.place("rootless")
        try:
            code = "from autograder.run import isolation as i\n"
            code += "print(i.acquire_slot(), i.base_dir())"
            p = place.run(["-c", code], capture_output=True, text=True,
                          env={**place.env, **env})  # fmt: skip
        finally:
            place.cleanup()
    finally:
        isolation.release_slot(slot)
        del os.environ["HW2_SANDBOX_SLOTS"]
    assert p.returncode == 0, p.stderr
    got_slot, base = p.stdout.split()
    assert int(got_slot) == slot == 231
    assert base != str(isolation.ROOT_BASE) and base.endswith("hw2-autograder-" + str(place.uid))


# -- which level, where --------------------------------------------------------------------


def _level_of(place: levels.Place) -> subprocess.CompletedProcess:
    code = (
        "from autograder.run import isolation as i, sandbox as s\n"
        "print(i.detect_level(s.default_runtime()).value)"
    )
    return place.run(["-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("level", levels.LEVELS)
def test_the_strongest_possible_level_is_chosen(level):
    if why := levels.unavailable(level):
        pytest.skip(why)
    place = levels.place(level)
    try:
        p = _level_of(place)
    finally:
        place.cleanup()
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == level


def test_no_level_possible_refuses_with_what_to_do(tmp_path):
    """Not root and no user namespaces: one line naming the sysctl and sudo, exit 2."""
    if why := levels.unavailable("rootless"):
        pytest.skip(why)
    place = levels.place("rootless")
    place.prefix = [*place.prefix, "/usr/bin/python3", str(place.repo / "scripts/deny_userns.py")]
    try:
        p = place.run(["-m", "autograder", "grade", "examples/submissions/correct.ipynb", "--out",
                       str(place.scratch / "out"), "--no-pdf"],
                      capture_output=True, text=True, timeout=120)  # fmt: skip
    finally:
        place.cleanup()
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot sandbox student code")
    assert "sysctl" in lines[0] and "sudo" in lines[0]


# -- the uid level and the instructor's files --------------------------------------------------


def _modes(top: Path) -> dict[str, int]:
    """Every path under ``top`` (links not followed) → its mode."""
    modes = {".": os.lstat(top).st_mode}
    for folder, dirs, names in os.walk(top):
        for name in dirs + names:
            path = os.path.join(folder, name)
            modes[os.path.relpath(path, top)] = os.lstat(path).st_mode
    return modes


@pytest.mark.slow
def test_the_uid_level_never_changes_the_checkouts_modes():
    """After a uid-level grade every path of the checkout has its mode, and a full-level grade
    of the same checkout still makes its PDFs (finding 7: `chmod o-rwx` used to outlast it)."""
    if levels.unavailable("uid") or levels.unavailable("full"):
        pytest.skip("needs root and the seccomp launcher")
    place = levels.place("uid")  # a copy inside a private folder: nothing of it is exposed
    try:
        before = _modes(place.repo)
        out = place.scratch / "out-uid"
        p = place.run(["-m", "autograder", "grade", "examples/submissions/correct.ipynb",
                       "--out", str(out), "--no-pdf"],
                      capture_output=True, text=True, timeout=300)  # fmt: skip
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
        assert "isolation: uid" in p.stdout
        assert _modes(place.repo) == before
        assert stat.S_IMODE(os.stat(out).st_mode) == 0o700  # the new OUT is private
        # The same checkout, now where other users can enter, graded at the full level.
        os.chmod(place.top, 0o755)
        os.chmod(place.scratch, 0o755)
        out = place.scratch / "out-full"
        p = subprocess.run([sys.executable, "-m", "autograder", "grade",
                            "examples/submissions/correct.ipynb", "--out", str(out)],
                           cwd=place.repo, env=place.env, capture_output=True, text=True,
                           timeout=600)  # fmt: skip
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
        assert (out / "pdf" / "correct.pdf").read_bytes().startswith(b"%PDF")
    finally:
        place.cleanup()


def test_the_uid_level_refuses_an_exposed_checkout_and_changes_nothing():
    if why := levels.unavailable("uid"):
        pytest.skip(why)
    place = levels.place("uid")
    try:
        os.chmod(place.top, 0o755)  # the checkout where every user can read it
        before = _modes(place.repo)
        out = place.scratch / "out"
        p = place.run(["-m", "autograder", "grade", "examples/submissions/correct.ipynb",
                       "--out", str(out), "--no-pdf"],
                      capture_output=True, text=True, timeout=300)  # fmt: skip
        assert p.returncode == 2, p.stdout[-2000:] + p.stderr[-2000:]
        assert f"could read the checkout {place.repo}" in p.stderr and "chmod 700" in p.stderr
        assert _modes(place.repo) == before
        assert not out.exists()
    finally:
        place.cleanup()


# -- grading as an ordinary user ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["rootless", "unsafe"])
def test_an_ordinary_user_grades(mode):
    """`make grade` as a non-root user: every row graded, the level named, private outputs.

    The unsafe case is the issue's silent zero: a user run after a root run used to fail
    every row on root's slot locks and still exit 0.
    """
    if why := levels.unavailable("rootless"):
        pytest.skip(why)
    isolation.acquire_slot()  # root holds slots and their locks too, as after a root run
    place = levels.place("rootless")
    out = place.scratch / "out"
    extra = ["--unsafe-no-sandbox"] if mode == "unsafe" else []
    try:
        p = place.run(["-m", "autograder", "grade", "examples/submissions", "--out", str(out),
                       "--no-pdf", "--jobs", "2", *extra],
                      capture_output=True, text=True, timeout=600)  # fmt: skip
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
        rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
        assert {r["status"] for r in rows.values()} == {"graded"}
        assert float(rows["correct"]["auto_total"]) == AUTO_MAX
        assert float(rows["typical_mistakes"]["auto_total"]) == TYPICAL_MISTAKES_AUTO
        level = "none" if mode == "unsafe" else "rootless"
        assert {r["isolation"] for r in rows.values()} == {level}
        assert f"isolation: {level}" in p.stdout
        data = json.loads((out / "results" / "correct.json").read_text())
        assert data["extra_data"]["isolation"] == level
        for path in [out, *out.rglob("*")]:
            st = os.lstat(path)
            assert st.st_uid == place.uid, path
            want = isolation_mode(path)
            assert stat.S_IMODE(st.st_mode) == want, (path, oct(st.st_mode))
    finally:
        place.cleanup()


def isolation_mode(path: Path) -> int:
    from autograder.files import DIR_MODE, FILE_MODE

    return DIR_MODE if path.is_dir() else FILE_MODE


@pytest.mark.slow
def test_under_sudo_outputs_belong_to_the_invoking_user(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    user = levels.ensure_user()
    out = tmp_path / "out"
    env = {**os.environ, "SUDO_UID": str(user.pw_uid), "SUDO_GID": str(user.pw_gid)}
    p = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(EXAMPLES / "correct.ipynb"),
         "--out", str(out), "--no-pdf", "--jobs", "1"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    for path in [out, *out.rglob("*")]:
        st = os.lstat(path)
        assert (st.st_uid, st.st_gid) == (user.pw_uid, user.pw_gid), path
        assert not st.st_mode & 0o007, path  # never world-readable


# -- no silent failure -------------------------------------------------------------------------


def test_a_row_failed_by_the_grader_makes_the_command_fail(tmp_path, monkeypatch, capsys):
    from autograder import cli, pipeline
    from autograder.grade.outcome import SubmissionResult

    def broken(subs, **kw):
        results = [SubmissionResult(s.student, str(s.path), "failed",
                                    reason="the grading process crashed on this submission")
                   for s in subs]  # fmt: skip
        for r in results:
            kw["on_result"](r)
        return results

    monkeypatch.setattr(pipeline, "grade_all", broken)
    code = cli.main(["grade", str(EXAMPLES / "correct.ipynb"), "--out", str(tmp_path / "o"),
                     "--no-pdf", "--unsafe-no-sandbox"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "failed because of the grader itself (correct" in err.splitlines()[-1]
    assert (tmp_path / "o" / "grades.csv").exists()  # everything is still written


@pytest.mark.slow
def test_a_pdf_the_environment_could_not_make_fails_the_command(tmp_path):
    bin_dir = tmp_path / "bin"  # everything but TeX
    bin_dir.mkdir()
    for tool in ("prlimit", "setpriv", "bwrap", "env", "sh", "pandoc"):
        if shutil.which(tool):
            os.symlink(shutil.which(tool), bin_dir / tool)
    p = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(EXAMPLES / "correct.ipynb"),
         "--out", str(tmp_path / "out"), "--jobs", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PATH": str(bin_dir)},
    )  # fmt: skip
    assert p.returncode == 1, p.stdout[-1500:] + p.stderr[-1500:]
    assert "PDF(s) could not be made" in p.stderr.strip().splitlines()[-1]
    row = next(csv.DictReader(open(tmp_path / "out" / "grades.csv")))
    assert float(row["auto_total"]) == AUTO_MAX  # the gradebook is complete all the same


# -- set-up --------------------------------------------------------------------------------------


def test_setup_as_a_user_with_a_missing_package_prints_one_line_and_builds_nothing(tmp_path):
    if why := levels.unavailable("rootless"):
        pytest.skip(why)
    place = levels.place("rootless")
    fake = place.scratch / "bin"  # dpkg-query says nothing is installed
    fake.mkdir()
    (fake / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")
    os.chmod(fake / "dpkg-query", 0o755)
    os.chown(fake, place.uid, place.uid)
    try:
        p = subprocess.run(
            [*place.prefix, "/usr/bin/env", f"PATH={fake}:/usr/bin:/bin",
             f"HOME={place.scratch / 'home'}", "bash", "scripts/setup.sh"],
            cwd=place.repo, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert p.returncode == 1
        install = [ln for ln in p.stderr.splitlines() if "apt-get install" in ln]
        assert len(install) == 1 and install[0].startswith("sudo apt-get install ")
        assert "bubblewrap" in install[0] and "python3-venv" in install[0]
        assert not (place.repo / ".venv").exists()
        assert not (place.scratch / "home" / ".local").exists()
    finally:
        place.cleanup()


# -- one-shot tools (xelatex): run_confined ------------------------------------------------


@pytest.mark.parametrize("level", [Level.FULL, Level.UID])
def test_run_confined_gives_the_tool_its_work_folder_only(tmp_path, level):
    if os.geteuid() != 0 or (level is Level.FULL and levels.unavailable("full")):
        pytest.skip("needs root")
    work = isolation.scratch("test-")
    (work / "in.tex").write_text("x")
    slot = isolation.acquire_slot()
    try:
        inner = isolation.inner_path(Confinement(level, slot, LIM), work)
        script = ("cat in.tex > out.txt; id -u > uid.txt; pwd > pwd.txt; "
                  f"ls {REPO} > repo.txt 2>&1; sleep 60 & sleep 60")  # fmt: skip
        code = isolation.run_confined(["/bin/sh", "-c", script], slot=slot, limits=LIM,
                                      env={"PATH": "/usr/bin:/bin"}, timeout=10, workdir=work,
                                      level=level)  # fmt: skip
        assert code == -1  # timed out: the sleeps
        assert isolation._processes_of(isolation.slot_uid(slot))[0] == []  # nothing survives
    finally:
        isolation.release_slot(slot)
    assert (work / "out.txt").read_text() == "x"
    assert (work / "uid.txt").read_text().strip() == str(isolation.slot_uid(slot))
    assert (work / "pwd.txt").read_text().strip() == inner
    if level is Level.FULL:  # at the uid level the grading command protects the repo
        assert "No such file" in (work / "repo.txt").read_text()
    shutil.rmtree(work)


def _sysv_of(uid: int) -> list[str]:
    rows = []
    for kind in ("shm", "sem", "msg"):
        lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        head = lines[0].split()
        for line in lines[1:]:
            f = dict(zip(head, line.split(), strict=False))
            if str(uid) in (f["uid"], f["cuid"]):
                rows.append(f"{kind} {line.split()[1]}")
    return rows


MQ_OPEN = (
    "import ctypes, os; rt = ctypes.CDLL('librt.so.1', use_errno=True); "
    "print(rt.mq_open(b'/hw2-test', os.O_CREAT | os.O_RDWR, 0o600, None), ctypes.get_errno())"
)


@pytest.mark.parametrize("level", [Level.FULL, Level.UID])
def test_run_confined_leaves_no_file_or_ipc_object_on_the_host(level):
    """System V objects and files in every writable place: none outlives the command.
    At the uid level they are the host's (no IPC or mount namespace), removed by owner."""
    if os.geteuid() != 0 or (level is Level.FULL and levels.unavailable("full")):
        pytest.skip("needs root")
    import threading

    work = isolation.scratch("test-")
    slot = isolation.acquire_slot()
    uid = isolation.slot_uid(slot)
    script = (
        "ipcmk -M 4194304 && ipcmk -S 2 && ipcmk -Q || exit 3; "
        f'/usr/bin/python3 -c "{MQ_OPEN}" > mq.txt; '
        "for d in /tmp /var/tmp /dev/shm /run/lock; do "
        "mkdir -p $d/left-$$ && head -c 1048576 /dev/zero > $d/left-$$/f; done; "
        "echo done > done.txt; sleep 60"
    )
    seen: list[str] = []

    def watch() -> None:  # at the uid level the objects are visible here while it runs
        for _ in range(200):
            if seen or (work / "done.txt").exists():
                seen.extend(_sysv_of(uid))
                return
            threading.Event().wait(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        code = isolation.run_confined(["/bin/sh", "-c", script], slot=slot, limits=LIM,
                                      env={"PATH": "/usr/bin:/bin"}, timeout=5, workdir=work,
                                      level=level)  # fmt: skip
        watcher.join()
        assert code == -1, (work / "mq.txt").read_text()  # the sleep: it got that far
        assert (work / "done.txt").exists()
        # A POSIX message queue is refused (no /dev/mqueue to list and remove it by).
        assert (work / "mq.txt").read_text().split()[0] == "-1"
        if level is Level.UID:
            assert len(seen) == 3, seen  # the test can fail: they were there
        assert _sysv_of(uid) == []
        assert isolation._processes_of(uid)[0] == []
        left = []
        for root in isolation.WORLD_WRITABLE:
            for top, dirs, names in os.walk(root):
                for name in dirs + names:
                    with contextlib.suppress(OSError):  # other tests' files come and go
                        if os.lstat(os.path.join(top, name)).st_uid == uid:
                            left.append(os.path.join(top, name))
        assert left == []
    finally:
        isolation.release_slot(slot)
        shutil.rmtree(work)


def test_the_none_level_removes_its_working_folder():
    """--unsafe-no-sandbox runs as this user: what it writes elsewhere cannot be told from the
    user's own files (README), but its working folder (cwd, HOME, TMPDIR) goes."""
    slot = isolation.acquire_slot()
    try:
        conf = Confinement(Level.NONE, slot, LIM)
        home = isolation.private_dir(conf)
        (home / "left.bin").write_bytes(b"x" * 4096)
        isolation.cleanup(conf)
        assert not home.exists()
    finally:
        isolation.release_slot(slot)


def test_every_level_refuses_posix_message_queues():
    for level in Level:
        assert "--msgqueue=0" in isolation.command(Confinement(level, 0, LIM), ARGV, env={})


def test_cgroups_caps_and_stale_ones_are_removed():
    """The cgroup holds the limits; one left by a killed grading process is swept next time."""
    stale = isolation.make_cgroup("hw2-99999999-0-1", LIM)  # pid 99999999 never exists
    if stale is None:
        pytest.skip("no cgroup can be made here (the fallback caps are tested above)")
    fresh = isolation.make_cgroup(f"hw2-{os.getpid()}-0-2", LIM)
    try:
        assert fresh is not None
        assert not any(d.exists() for d in stale.dirs)
        limits = {p.name: p.read_text().strip() for d in fresh.dirs for p in d.iterdir()
                  if p.name in ("memory.max", "memory.limit_in_bytes", "pids.max")}  # fmt: skip
        assert limits.get("memory.max", limits.get("memory.limit_in_bytes")) == str(1024 << 20)
        assert limits["pids.max"] == "16"
    finally:
        fresh.remove()
    assert not any(d.exists() for d in fresh.dirs)


def test_a_tool_with_helpers_gets_a_share_of_the_budget_each_without_a_cgroup():
    lim = replace(LIM, memory_mb=2048, tmp_mb=64, fallback_processes=4)
    cmd = isolation.command(Confinement(Level.ROOTLESS, 0, lim), ARGV, env={})
    assert f"--as={((2048 - 64 - isolation.SHM_MB) // 4) << 20}" in cmd
    assert cmd[-6:-4] == ["prlimit", "--nproc=5"]  # four, plus bwrap's pid 1


def test_a_runtime_named_by_hand_under_a_private_folder_is_refused_saying_why(tmp_path):
    """As root a slot uid runs the sandbox runtime: behind a 0700 folder it cannot (issue 19)."""
    if os.geteuid() != 0:
        pytest.skip("the slot uid is root's")
    from autograder.run.sandbox import default_runtime

    private = tmp_path / "private"
    private.mkdir()
    (private / "runtime").symlink_to(default_runtime())  # a real runtime, behind it
    private.chmod(0o700)
    with pytest.raises(isolation.SandboxUnavailable, match=r"cannot read .*private.*chmod o\+x"):
        isolation.detect_level(private / "runtime")
    assert isolation.unreachable(default_runtime()) is None


def test_shared_tree_is_readable_by_every_uid(tmp_path):
    (tmp_path / "latex" / "sub").mkdir(parents=True)
    (tmp_path / "latex" / "sub" / "a.tex.j2").write_text("x")
    (tmp_path / "w.py").write_text("y")
    folder = isolation.shared_tree({"latex": tmp_path / "latex", "w.py": tmp_path / "w.py"})
    assert (folder / "latex" / "sub" / "a.tex.j2").read_text() == "x"
    assert (folder / "w.py").read_text() == "y"
    for path in [folder, *folder.rglob("*")]:
        assert isolation.readable_by_others(path) or os.geteuid() != 0, path
