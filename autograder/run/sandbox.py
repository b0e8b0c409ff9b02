"""One sandboxed process per submission: bubblewrap, an unprivileged uid, rlimits.

The process tree is

    prlimit (limits) → setpriv (drop to uid SANDBOX_UID_BASE + slot, no new privs)
        → bwrap (new user, pid, net, ipc, uts, cgroup namespaces)
            → runtime python -E -s -B /opt/grader/worker.py

Inside, the filesystem is: /usr read-only (the OS's libraries and Python), the
sandbox runtime read-only (numpy + matplotlib, nothing of this repo), the
worker's two source files, a size-capped private /tmp, and a fresh /proc that
shows only the sandbox's own processes. The repo, the reference solution, the
hidden graders, the output folder and the network are not there at all.

Each job slot has its own uid, so RLIMIT_NPROC caps one submission's processes
and everything a submission left behind can be killed by uid afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autograder.run import wire

SANDBOX_UID_BASE = 61000
MAX_SLOTS = 256
SLOT_LOCK_DIR = Path("/run/lock/hw2-autograder")
_HERE = Path(__file__).resolve().parent
WORKER_FILES = ("worker.py", "wire.py", "objective.py")


class SandboxUnavailable(Exception):
    """No sandbox can be set up here; the message says exactly what is missing."""


class SandboxDied(Exception):
    """The sandboxed process is gone (crashed, killed, exited, or broke the protocol)."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission. Times are wall-clock seconds."""

    memory_mb: int = 2048
    cell_timeout: float = 20.0
    call_timeout: float = 10.0
    submission_timeout: float = 180.0
    processes: int = 64
    file_mb: int = 64
    tmp_mb: int = 256
    output_bytes: int = 64 * 1024


@dataclass
class ExecReport:
    """What happened when the notebook's code cells ran."""

    cells: list[dict[str, Any]]
    defined: list[str]
    output: str = ""
    output_truncated: bool = False


def default_runtime() -> Path:
    """The sandbox runtime recorded by scripts/setup.sh (overridable with HW2_SANDBOX_RUNTIME)."""
    env = os.environ.get("HW2_SANDBOX_RUNTIME")
    if env:
        return Path(env)
    marker = _HERE.parents[1] / ".venv" / "sandbox-runtime"
    if marker.exists():
        return Path(marker.read_text().strip())
    raise SandboxUnavailable("no sandbox runtime: run `make setup` (scripts/setup.sh) first")


def check_sandbox(runtime: Path, *, unsafe: bool = False) -> None:
    """Raise SandboxUnavailable unless every piece the sandbox needs is here."""
    problems = []
    if not (runtime / "bin" / "python").exists():
        problems.append(f"the sandbox runtime {runtime} is missing (run `make setup`)")
    if not unsafe:
        for tool, package in (
            ("bwrap", "bubblewrap"),
            ("setpriv", "util-linux"),
            ("prlimit", "util-linux"),
        ):
            if shutil.which(tool) is None:
                problems.append(f"`{tool}` is not installed (Debian package {package})")
        if os.geteuid() != 0:
            problems.append("grading must start as root, to drop to the per-slot sandbox uids")
    if problems:
        raise SandboxUnavailable("; ".join(problems))
    if not unsafe:
        # The probe runs under a slot of its own: another run's clean-up of its slot
        # kills every process of that slot's uid, a probe included.
        uid = SANDBOX_UID_BASE + acquire_slot()
        try:
            probe = subprocess.run(
                ["setpriv", f"--reuid={uid}", f"--regid={uid}",
                 "--clear-groups", "--no-new-privs", "--", "bwrap", "--unshare-all",
                 "--ro-bind", "/usr", "/usr", *_usr_links(),
                 "--ro-bind", str(runtime), str(runtime),
                 str(runtime / "bin" / "python"), "-c", "pass"],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
        finally:
            release_slot(uid - SANDBOX_UID_BASE)
        if probe.returncode != 0:
            raise SandboxUnavailable(
                "bubblewrap cannot start a sandbox here: "
                + (probe.stderr.strip() or f"exit {probe.returncode}")
                + " (it needs unprivileged user namespaces and a runtime every uid can read)"
            )


def slot_range() -> range:
    """The slots this process may use: HW2_SANDBOX_SLOTS="first-last" narrows 0–255.

    Giving two runs disjoint ranges lets each account for its own uids (the
    hostile-submission suite checks that none of its processes survive).
    """
    spec = os.environ.get("HW2_SANDBOX_SLOTS", "")
    if not spec:
        return range(MAX_SLOTS)
    first, _, last = spec.partition("-")
    lo, hi = int(first), int(last or first)
    if not 0 <= lo <= hi < MAX_SLOTS:
        raise SandboxUnavailable(f"HW2_SANDBOX_SLOTS={spec!r} is outside 0-{MAX_SLOTS - 1}")
    return range(lo, hi + 1)


_held_slots: dict[int, int] = {}  # slot → its lock fd, held until released or exit


def acquire_slot() -> int:
    """Claim a sandbox slot (and so a uid) no other grading process on this machine holds.

    Two concurrent runs (two `make grade`s, or parallel tests) must never share a
    uid: cleaning up one slot kills every process of its uid. The claim is an
    flock, released by the kernel when this process exits, however it exits.
    """
    import fcntl

    SLOT_LOCK_DIR.mkdir(parents=True, exist_ok=True)
    for slot in slot_range():
        fd = os.open(SLOT_LOCK_DIR / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        _held_slots[slot] = fd
        return slot
    raise SandboxUnavailable("all sandbox slots are in use")


def release_slot(slot: int) -> None:
    """Give back a slot claimed by acquire_slot (its processes must already be gone)."""
    fd = _held_slots.pop(slot, None)
    if fd is not None:
        kill_uid(SANDBOX_UID_BASE + slot)
        os.close(fd)


def _usr_links() -> list[str]:
    # Debian merges / into /usr; recreate the top-level links the dynamic loader expects.
    links = []
    for name in ("bin", "lib", "lib64", "sbin"):
        if Path(f"/usr/{name}").exists():
            links += ["--symlink", f"usr/{name}", f"/{name}"]
    return links


def _font_cache(runtime: Path) -> list[str]:
    # matplotlib would rebuild its font list (about a second) in every fresh /tmp;
    # scripts/setup.sh builds it once, and each sandbox gets a read-only copy.
    args = []
    if Path("/etc/fonts").is_dir():
        args += ["--ro-bind", "/etc/fonts", "/etc/fonts"]
    for cached in sorted((runtime / "mpl").glob("fontlist-*.json")):
        args += ["--ro-bind", str(cached), f"/tmp/mpl/{cached.name}"]
    return args


def become_subreaper() -> None:
    """Adopt this process's orphaned descendants (PR_SET_CHILD_SUBREAPER), so we can reap them.

    When a sandbox is killed, bwrap's inner process (pid 1 of the sandbox's pid
    namespace) outlives the outer bwrap by a moment and would be re-parented to the
    machine's init. Its zombie then keeps counting against the slot uid until init
    gets round to reaping it, which some container inits do late. As a subreaper the
    grading process inherits it instead and reaps it at once in :func:`kill_uid`.
    """
    import ctypes

    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _processes_of(uid: int) -> tuple[list[int], list[int]]:
    """(live pids, zombie pids that are our own children) whose real uid is ``uid``."""
    live, ours, me = [], [], os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        state = ppid = ""
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in open(f"/proc/{entry.name}/status"):
                if line.startswith("State:"):
                    state = line.split()[1]
                elif line.startswith("PPid:"):
                    ppid = line.split()[1]
                elif line.startswith("Uid:"):
                    if int(line.split()[1]) == uid:
                        if state not in ("Z", "X"):
                            live.append(int(entry.name))
                        elif ppid == str(me):
                            ours.append(int(entry.name))
                    break
    return live, ours


def kill_uid(uid: int) -> int:
    """SIGKILL every live process whose real uid is ``uid``; returns how many were signalled.

    Zombies run nothing: those that are our children are reaped; a zombie some other
    process has to reap is not waited for (that used to cost 0.2 s per submission).
    """
    killed = 0
    for _ in range(200):  # a fork bomb can refill between scans: repeat until none is left
        live, zombies = _processes_of(uid)
        for pid in zombies:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        if not live:
            return killed
        for pid in live:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        time.sleep(0.001)
    return killed


@dataclass
class _Drain:
    """Reads the student's stdout/stderr: keeps the first ``cap`` bytes, discards the rest."""

    fd: int
    cap: int
    kept: bytearray = field(default_factory=bytearray)
    total: int = 0

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(self.fd, 1 << 16):
                self.total += len(chunk)
                if len(self.kept) < self.cap:
                    self.kept += chunk[: self.cap - len(self.kept)]
        os.close(self.fd)


class Sandbox:
    """A running sandboxed worker for one submission. Use as a context manager.

    ``start`` executes the code cells; ``call`` invokes one student function on
    plain arrays and returns the validated reply; ``close`` kills the whole tree.
    """

    def __init__(
        self, runtime: Path, *, slot: int = 0, limits: Limits = Limits(), unsafe: bool = False
    ) -> None:
        self.runtime, self.limits, self.unsafe = runtime, limits, unsafe
        self.uid = SANDBOX_UID_BASE + slot
        self.proc: subprocess.Popen | None = None
        self.deadline = 0.0
        self._tmpdir: str | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def _command(self, req_r: int, reply_w: int, data_fds: list[int]) -> list[str]:
        lim = self.limits
        python = str(self.runtime / "bin" / "python")
        env = {
            "HOME": "/tmp",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": "/tmp/mpl",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "LANG": "C.UTF-8",
        }
        prlimit = [
            "prlimit",
            f"--as={lim.memory_mb << 20}",
            f"--nproc={lim.processes}",
            f"--fsize={lim.file_mb << 20}",
            "--nofile=256",
            "--core=0",
            f"--cpu={int(lim.submission_timeout) + 5}",
            "--",
        ]
        if self.unsafe:
            # No isolation beyond a separate process and rlimits; reports say so.
            self._tmpdir = tempfile.mkdtemp(prefix="hw2-unsafe-")
            for name in WORKER_FILES:
                shutil.copy(_HERE / name, self._tmpdir)
            return [
                *prlimit, "env", "-i", *(f"{k}={v}" for k, v in env.items()),
                python, "-E", "-s", "-B", f"{self._tmpdir}/worker.py", str(req_r), str(reply_w),
            ]  # fmt: skip
        bwrap = [
            "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
            "--hostname", "sandbox",
            "--ro-bind", "/usr", "/usr", *_usr_links(),
            "--ro-bind", str(self.runtime), str(self.runtime),
            "--proc", "/proc", "--dev", "/dev",
            "--size", str(lim.tmp_mb << 20), "--tmpfs", "/tmp",
            "--dir", "/tmp/mpl", "--dir", "/opt/grader",
            *_font_cache(self.runtime),
            "--chdir", "/tmp",
        ]  # fmt: skip
        for name, fd in zip(WORKER_FILES, data_fds, strict=True):
            bwrap += ["--ro-bind-data", str(fd), f"/opt/grader/{name}"]
        for key, value in env.items():
            bwrap += ["--setenv", key, value]
        setpriv = [
            "setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
            "--no-new-privs", "--",
        ]  # fmt: skip
        worker = [python, "-E", "-s", "-B", "/opt/grader/worker.py", str(req_r), str(reply_w)]
        return [*prlimit, *setpriv, *bwrap, "--", *worker]

    def start(self, cells: list[str]) -> ExecReport:
        """Launch the sandbox and execute ``cells``; raises SandboxDied if it does not report."""
        self.deadline = time.monotonic() + self.limits.submission_timeout
        become_subreaper()
        kill_uid(self.uid)  # leftovers of an earlier submission in this slot
        req_r, self._req_w = os.pipe()
        self._reply_r, reply_w = os.pipe()
        out_r, out_w = os.pipe()
        data_fds = []
        for name in WORKER_FILES:
            r, w = os.pipe()
            os.write(w, (_HERE / name).read_bytes())  # small: fits the pipe buffer
            os.close(w)
            data_fds.append(r)
        try:
            self.proc = subprocess.Popen(
                self._command(req_r, reply_w, data_fds),
                stdin=subprocess.DEVNULL,
                stdout=out_w,
                stderr=out_w,
                pass_fds=(req_r, reply_w, *data_fds),
                start_new_session=True,
            )
        finally:
            for fd in (req_r, reply_w, out_w, *data_fds):
                os.close(fd)
        self._drain = _Drain(out_r, self.limits.output_bytes)
        timeout = min(
            self.limits.cell_timeout * max(len(cells), 1) + 10, self.limits.submission_timeout
        )
        self._send({"op": "exec", "cells": cells, "cell_timeout": self.limits.cell_timeout})
        header, _ = self._receive(max_bytes=0, timeout=timeout)
        cells_report = header.get("cells")
        defined = header.get("defined")
        if not isinstance(cells_report, list) or not isinstance(defined, list):
            raise SandboxDied("the sandbox sent a malformed report")
        return ExecReport(cells=cells_report[: len(cells)], defined=[str(d) for d in defined])

    def output(self) -> tuple[str, int]:
        """The student's captured stdout/stderr (first bytes) and its total size."""
        return self._drain.kept.decode("utf-8", "replace"), self._drain.total

    def close(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            kill_uid(self.uid)
            for fd in (self._req_w, self._reply_r):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._drain.thread.join(timeout=5)
            self.proc = None
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls -----------------------------------------------------------------------
    def _send(self, header: dict[str, Any], arrays: list[np.ndarray] = ()) -> None:
        try:
            wire.write_frame(self._req_w, header, list(arrays))
        except OSError as exc:
            raise SandboxDied("the sandbox is no longer reading requests") from exc

    def _receive(self, *, max_bytes: int, timeout: float) -> tuple[dict, list[np.ndarray]]:
        deadline = min(time.monotonic() + timeout, self.deadline)
        try:
            return wire.read_frame(self._reply_r, max_bytes=max_bytes, deadline=deadline)
        except wire.WireTimeout as exc:
            raise SandboxDied("timed out") from exc
        except wire.WireError as exc:
            raise SandboxDied(str(exc)) from exc

    def call(
        self,
        fn: str,
        args: list[dict[str, Any]],
        arrays: list[np.ndarray],
        *,
        max_bytes: int,
        return_args: bool = False,
    ) -> tuple[dict[str, Any], list[np.ndarray]]:
        """Call student function ``fn``; returns the raw reply header and its arrays.

        The header is untrusted JSON: callers go through autograder.grade.student,
        which validates its shape before using it.
        """
        if self.proc is None or self.proc.poll() is not None:
            raise SandboxDied("the sandbox is not running")
        header = {
            "op": "call",
            "fn": fn,
            "args": args,
            "timeout": self.limits.call_timeout,
            "max_bytes": max_bytes,
            "return_args": return_args,
        }
        self._send(header, arrays)
        # The worker's own alarm should fire first; the grace covers a student who blocks it.
        return self._receive(max_bytes=max_bytes, timeout=self.limits.call_timeout + 2)
