"""One sandboxed process per submission, at the isolation level this machine allows.

At the full level the process tree is

    [cgroup join] prlimit (limits) → setpriv (drop to uid SANDBOX_UID_BASE + slot, no new privs)
        → bwrap (new user, pid, net, ipc, uts, cgroup namespaces)
            → runtime python -E -s -B /opt/grader/worker.py

Inside, the filesystem is: /usr read-only (the OS's libraries and Python), the
sandbox runtime read-only (numpy + matplotlib, nothing of this repo), the
worker's two source files, size-capped private /tmp and /dev/shm, a read-only
/ and /dev, and a fresh /proc that shows only the sandbox's own processes. The
repo, the reference solution, the hidden graders, the output folder and the
network are not there at all. The other levels (rootless, uid, none) and the
command lines themselves are built in autograder.run.isolation.
"""

from __future__ import annotations

import array
import contextlib
import dataclasses
import enum
import fcntl
import os
import re
import secrets
import shutil
import subprocess
import termios
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograder.run import isolation, warm, wire
from autograder.run.isolation import (  # noqa: F401  (re-exported)
    SANDBOX_UID_BASE,
    Level,
    SandboxUnavailable,
    acquire_slot,
    kill_uid,
)

_HERE = Path(__file__).resolve().parent
WORKER_FILES = ("worker.py", "wire.py", "objective.py")
# The student process's whole environment: one BLAS thread (its share of the CPU), a
# headless matplotlib, no bytecode written, a fixed hash seed. HOME and MPLCONFIGDIR
# are the sandbox's own /tmp unless the level has no mount namespace (see _command).
WORKER_ENV = {
    "HOME": "/tmp",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp/mpl",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    "LANG": "C.UTF-8",
}


class Death(enum.Enum):
    """How a sandbox stopped answering; the trusted side branches on this, never on text."""

    TIMEOUT = "timeout"  # no reply (or no room for a request) before the deadline
    MEMORY = "memory"  # the kernel's OOM killer ended it at the memory cap
    EXITED = "exited"  # the process is gone: it exited, was killed or crashed
    PROTOCOL = "protocol"  # it sent something that is not a well-formed reply


class SandboxDied(Exception):
    """The sandboxed process is gone or broke the protocol; ``kind`` says which.

    ``seconds`` is the deadline that ran out (TIMEOUT); ``status`` the worker's exit
    status where known (EXITED, MEMORY: negative for a signal, as subprocess reports it);
    ``earlier`` (PROTOCOL) names the function of an earlier call whose frames were found
    where this call's reply belonged: that call, not this one, broke the protocol.
    The message is for the instructor's log; students see text built from ``kind``.
    """

    def __init__(
        self, kind: Death, detail: str = "", *, seconds: float | None = None,
        status: int | None = None, earlier: str = "",
    ) -> None:  # fmt: skip
        super().__init__(f"{kind.value}: {detail}" if detail else kind.value)
        self.kind, self.detail, self.seconds, self.status = kind, detail, seconds, status
        self.earlier = earlier


TIMEOUT = 10.0  # seconds per notebook cell and per function call (`grade --timeout`)
SUBMISSION_FACTOR = 15  # a whole submission gets this many per-cell timeouts …
MIN_SUBMISSION_TIMEOUT = 60.0  # … and at least this much (kernel start, imports)


def submission_budget(timeout: float) -> float:
    """Wall-clock seconds for a whole submission whose cells and calls get ``timeout`` each."""
    return max(MIN_SUBMISSION_TIMEOUT, SUBMISSION_FACTOR * timeout)


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission. Times are wall-clock seconds.

    The defaults are `grade`'s (its command line, the Makefile, the tests and the docs/
    figure all use them); :meth:`from_timeout` is how `--timeout` becomes limits.
    ``memory_mb`` is the whole submission's: its processes together plus the files it
    writes (see autograder.run.isolation).
    """

    memory_mb: int = 2048
    cell_timeout: float = TIMEOUT
    call_timeout: float = TIMEOUT
    submission_timeout: float = submission_budget(TIMEOUT)
    processes: int = 64
    file_mb: int = 64
    tmp_mb: int = 256

    @classmethod
    def from_timeout(cls, timeout: float = TIMEOUT, **fields: Any) -> Limits:
        """``timeout`` bounds each cell and each call; the whole submission gets its budget."""
        return cls(
            cell_timeout=timeout,
            call_timeout=timeout,
            submission_timeout=submission_budget(timeout),
            **fields,
        )

    def proc_limits(self) -> isolation.ProcLimits:
        return isolation.ProcLimits(
            memory_mb=self.memory_mb,
            processes=self.processes,
            file_mb=self.file_mb,
            tmp_mb=self.tmp_mb,
            cpu_seconds=int(self.submission_timeout) + 5,
        )


@dataclass
class ExecReport:
    """What happened when the notebook's code cells ran."""

    cells: list[dict[str, Any]]


def recorded_runtime(name: str, variable: str) -> Path | None:
    """A runtime scripts/setup.sh built and recorded in .venv/``name``, or $``variable``.

    Runtimes are venvs on Debian's Python in a folder every uid can read (/opt/hw2-autograder
    as root), never in the checkout, which may sit under a folder a slot uid cannot enter.
    """
    env = os.environ.get(variable)
    if env:
        return Path(env)
    marker = _HERE.parents[1] / ".venv" / name
    if marker.exists():
        return Path(marker.read_text().strip())
    return None


def default_runtime() -> Path:
    """The sandbox runtime recorded by scripts/setup.sh (overridable with HW2_SANDBOX_RUNTIME)."""
    runtime = recorded_runtime("sandbox-runtime", "HW2_SANDBOX_RUNTIME")
    if runtime is None:
        raise SandboxUnavailable("no sandbox runtime: run `make setup` (scripts/setup.sh) first")
    return runtime


def check_sandbox(runtime: Path, *, unsafe: bool = False) -> Level:
    """The isolation level to grade at; SandboxUnavailable (saying what to do) if none."""
    return isolation.detect_level(runtime, unsafe=unsafe)


def _font_cache(runtime: Path) -> dict[str, str]:
    # matplotlib would rebuild its font list (about a second) in every fresh /tmp;
    # scripts/setup.sh builds it once, and each sandbox gets a read-only copy.
    return {
        str(cached): f"/tmp/mpl/{cached.name}"
        for cached in sorted((runtime / "mpl").glob("fontlist-*.json"))
    }


def _ro_folders(runtime: Path) -> list[str]:
    return [str(runtime), *(["/etc/fonts"] if Path("/etc/fonts").is_dir() else [])]


def _home_env(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "MPLCONFIGDIR": str(home / "mpl"), "TMPDIR": str(home)}


become_subreaper = isolation.become_subreaper


class Sandbox:
    """A running sandboxed worker for one submission. Use as a context manager.

    ``start`` executes the code cells; ``call`` invokes one student function on
    plain arrays and returns the validated reply; ``close`` kills the whole tree.
    """

    def __init__(
        self, runtime: Path, *, slot: int = 0, limits: Limits = Limits(), unsafe: bool = False
    ) -> None:
        self.runtime, self.limits, self.unsafe, self.slot = runtime, limits, unsafe, slot
        self.level = Level.NONE if unsafe else isolation.current_level(runtime)
        self.uid = isolation.slot_uid(slot)
        self.proc: subprocess.Popen | warm.Child | None = None
        self.deadline = 0.0
        self.conf: isolation.Confinement | None = None
        self._watch: isolation.FileWatch | None = None
        self._last: tuple[int, str] | None = None  # (seq, function) of the last call answered
        self._ooms_before = 0
        # Seconds spent here, for the timing split (OUT/logs, `hw2 bench run`): PHASES.
        self.phases: dict[str, float] = {}

    # -- lifecycle ---------------------------------------------------------------------
    def _command(self, req_r: int, reply_w: int, data_fds: list[int]) -> tuple[list[str], Path]:
        """The worker's command line and its working folder (host side)."""
        python = str(self.runtime / "bin" / "python")
        env = dict(WORKER_ENV)
        tail = [str(req_r), str(reply_w)]
        cgroup = isolation.make_cgroup(
            f"hw2-{os.getpid()}-{self.slot}-{time.monotonic_ns()}", self.limits.proc_limits()
        )
        if self.level in (Level.FULL, Level.ROOTLESS):
            data = {f"/opt/grader/{n}": fd for n, fd in zip(WORKER_FILES, data_fds, strict=True)}
            self.conf = isolation.Confinement(self.level, self.slot, self.limits.proc_limits(),
                                              cgroup, data)  # fmt: skip
            cmd = isolation.command(
                self.conf, [python, "-E", "-s", "-B", "/opt/grader/worker.py", *tail],
                env=env, ro=_ro_folders(self.runtime),
                ro_map=_font_cache(self.runtime),
            )  # fmt: skip
            return cmd, Path("/")
        # uid and none: no mount namespace; the worker's files are a world-readable copy
        # and its working folder is private to the slot.
        self.conf = isolation.Confinement(self.level, self.slot, self.limits.proc_limits(), cgroup)
        grader = isolation.shared_copy({n: (_HERE / n).read_bytes() for n in WORKER_FILES})
        home = self._home(self.conf)
        env |= _home_env(home)
        worker = [python, "-E", "-s", "-B", str(grader / "worker.py"), *tail]
        return isolation.command(self.conf, worker, env=env), home

    def _home(self, conf: isolation.Confinement) -> Path:
        """uid and none levels: the slot's private working folder, with the font cache."""
        home = isolation.private_dir(conf)
        (home / "mpl").mkdir()
        for src in _font_cache(self.runtime):
            shutil.copy(src, home / "mpl")
        if conf.uid is not None and os.geteuid() == 0:
            os.chown(home / "mpl", conf.uid, conf.uid)
        return home

    def _start_warm(self, req_r: int, reply_w: int) -> bool:
        """Fork this submission's worker from the slot's warm process (autograder.run.warm);
        False if there is none to be had, and the caller starts it cold."""
        lim = self.limits.proc_limits()
        # At the uid level C, the root parent of the worker, counts in the cgroup too.
        extra = 1 if self.level is Level.UID else 0
        cgroup = isolation.make_cgroup(
            f"hw2-{os.getpid()}-{self.slot}-{time.monotonic_ns()}",
            dataclasses.replace(lim, processes=lim.processes + extra),
        )
        self.conf = isolation.Confinement(self.level, self.slot, lim, cgroup)
        files = {n: (_HERE / n).read_bytes() for n in (*WORKER_FILES, "zygote.py")}
        env, home = dict(WORKER_ENV), None
        if self.level is Level.UID:
            home = self._home(self.conf)
            env |= _home_env(home)
            cwd, argv0 = str(home), str(isolation.shared_copy(files) / "worker.py")
        else:
            cwd, argv0 = "/tmp", "/opt/grader/worker.py"
        recipe = warm.Recipe(
            self.runtime, self.level, self.slot, dataclasses.replace(lim, cpu_seconds=0),
            tuple(sorted(files.items())), tuple(sorted(env.items())),
            tuple(_ro_folders(self.runtime)), tuple(sorted(_font_cache(self.runtime).items())),
        )  # fmt: skip
        try:
            z = warm.zygote(recipe, home)
            # bwrap --chdir sets PWD for a cold worker; env -i (uid level) does not.
            child_env = env if self.level is Level.UID else env | {"PWD": cwd}
            spec = warm.child_spec(self.conf, child_env, cwd, argv0)
            self.proc = z.spawn(req_r, reply_w, spec, cgroup)
            return True
        except warm.WarmUnavailable:
            if cgroup is not None:
                cgroup.remove()
            self.conf = None
            return False

    def start(self, cells: list[str]) -> ExecReport:
        """Launch the sandbox and execute ``cells``; raises SandboxDied if it does not report."""
        self.deadline = time.monotonic() + self.limits.submission_timeout
        began = time.perf_counter()
        become_subreaper()
        req_r, self._req_w = os.pipe()
        self._reply_r, reply_w = os.pipe()
        if not (warm.enabled(self.level) and self._start_warm(req_r, reply_w)):
            self._start_cold(req_r, reply_w)
        else:
            os.close(req_r)
            os.close(reply_w)
        self.phases["sandbox_start"] = time.perf_counter() - began
        return self._run_cells(cells)

    def _start_cold(self, req_r: int, reply_w: int) -> None:
        """A fresh confined process: the worker's imports are paid here."""
        if self.level in (Level.FULL, Level.UID) and os.geteuid() == 0:
            kill_uid(self.uid)  # leftovers of an earlier submission in this slot
        data_fds = []
        for name in WORKER_FILES:
            r, w = os.pipe()
            os.write(w, (_HERE / name).read_bytes())  # small: fits the pipe buffer
            os.close(w)
            data_fds.append(r)
        try:
            cmd, cwd = self._command(req_r, reply_w, data_fds)
            self.proc = subprocess.Popen(
                cmd,
                # The student's prints reach no report: discarded, so a flood of output
                # costs neither memory nor a reader here.
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(req_r, reply_w, *data_fds),
                start_new_session=True,
                cwd=cwd,
            )
        finally:
            for fd in (req_r, reply_w, *data_fds):
                os.close(fd)

    def _run_cells(self, cells: list[str]) -> ExecReport:
        if self.level is Level.UID and os.geteuid() == 0:
            # The host's /tmp may be on disk, which no memory cgroup bounds: the same file
            # budget as the sandbox's own /tmp and /dev/shm elsewhere.
            budget = (self.limits.tmp_mb + isolation.SHM_MB) << 20
            self._watch = isolation.FileWatch(self.uid, budget)
        timeout = min(
            self.limits.cell_timeout * max(len(cells), 1) + 10, self.limits.submission_timeout
        )
        self._send(
            {"op": "exec", "cells": cells, "cell_timeout": self.limits.cell_timeout},
            timeout=timeout,
        )
        began = time.perf_counter()
        header, _ = self._receive(max_bytes=0, timeout=timeout)
        cells_report = header.get("cells")
        if not isinstance(cells_report, list):
            raise SandboxDied(Death.PROTOCOL, "the sandbox sent a malformed report")
        self._split(cells, header.get("seconds"), time.perf_counter() - began)
        return ExecReport(cells=cells_report[: len(cells)])

    def _split(self, cells: list[str], seconds: Any, took: float) -> None:
        """The exec round trip as imports, the other cells, and the interpreter's start-up
        before it (a cold worker starts while the request waits). The worker's own
        per-cell seconds are untrusted: used for the timing split only, and bounded."""
        if not isinstance(seconds, list):
            seconds = []
        secs = [min(max(float(s), 0.0), took) if isinstance(s, int | float) else 0.0
                for s in seconds[: len(cells)]]  # fmt: skip
        imports = min(sum(s for s, c in zip(secs, cells, strict=False) if _imports_only(c)), took)
        ran = min(sum(secs), took)
        self.phases["imports"] = imports
        self.phases["cells"] = ran - imports
        self.phases["sandbox_start"] = self.phases.get("sandbox_start", 0.0) + took - ran

    def close(self) -> None:
        began = time.perf_counter()
        self._close()
        self.phases["clean_up"] = time.perf_counter() - began

    def _close(self) -> None:
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        if isinstance(self.proc, warm.Child):
            self.proc.close(self.conf)
            for fd in (self._req_w, self._reply_r):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self.proc = None
        elif self.proc is not None:
            isolation.cleanup(self.conf, self.proc)
            for fd in (self._req_w, self._reply_r):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self.proc = None
        elif self.conf is not None:
            isolation.cleanup(self.conf)
        self.conf = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls -----------------------------------------------------------------------
    def _send(
        self, header: dict[str, Any], arrays: list[np.ndarray] = (), *, timeout: float
    ) -> None:
        # Writes have a deadline too: a sandbox that stops reading must not block us.
        now = time.monotonic()
        deadline = min(now + timeout, self.deadline)
        try:
            wire.write_frame(self._req_w, header, list(arrays), deadline=deadline)
        except wire.WireTimeout as exc:
            raise SandboxDied(
                Death.TIMEOUT, "the sandbox stopped reading requests", seconds=deadline - now
            ) from exc
        except OSError as exc:
            raise self._gone("the sandbox is no longer reading requests") from exc

    def _receive(self, *, max_bytes: int, timeout: float) -> tuple[dict, list[np.ndarray]]:
        now = time.monotonic()
        deadline = min(now + timeout, self.deadline)
        try:
            return wire.read_frame(self._reply_r, max_bytes=max_bytes, deadline=deadline)
        except wire.WireTimeout as exc:
            raise SandboxDied(Death.TIMEOUT, "no reply", seconds=deadline - now) from exc
        except wire.WireClosed as exc:
            raise self._gone(str(exc)) from exc
        except wire.WireError as exc:
            raise SandboxDied(Death.PROTOCOL, str(exc)) from exc

    def _oom_kills(self) -> int:
        cgroup = self.conf.cgroup if self.conf is not None else None
        return cgroup.oom_kills() if cgroup is not None else 0

    def _gone(self, detail: str) -> SandboxDied:
        """The worker closed its end: EXITED, or MEMORY if the OOM killer ended it."""
        status = None
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                status = self.proc.wait(timeout=0.2)
        if self._oom_kills() > self._ooms_before:
            return SandboxDied(Death.MEMORY, detail, status=status)
        return SandboxDied(Death.EXITED, detail, status=status)

    def call(
        self,
        fn: str,
        args: list[dict[str, Any]],
        arrays: list[np.ndarray],
        *,
        max_bytes: int,
        return_args: bool = False,
        fp: str | None = None,
    ) -> tuple[dict[str, Any], list[np.ndarray]]:
        """Call student function ``fn``; returns the raw reply header and its arrays.

        The header is untrusted JSON: callers go through autograder.grade.student,
        which validates its shape before using it.
        """
        if self.proc is None or self.proc.poll() is not None:
            raise self._gone("the sandbox is not running")
        # Replies are matched to requests, never taken in order: student code can write to
        # the reply pipe itself (tests/hostile/forge_reply_pipe.py). Bytes waiting before a
        # request is sent were written during an earlier call; a reply whose seq is not this
        # request's answers another one. Either way the sandbox is not believed again.
        earlier = self._last[1] if self._last else ""
        if _waiting(self._reply_r):
            raise SandboxDied(Death.PROTOCOL, "a reply nobody asked for", earlier=earlier)
        seq = secrets.randbits(62)
        # A child the kernel killed earlier (a fork that outgrew the cap) is not this death.
        self._ooms_before = self._oom_kills()
        header = {
            "op": "call",
            "seq": seq,
            "fn": fn,
            "args": args,
            "timeout": self.limits.call_timeout,
            "max_bytes": max_bytes,
            "return_args": return_args,
            "fp": fp,
        }
        # The worker's own alarm should fire first; the grace covers a student who blocks it.
        self._send(header, arrays, timeout=self.limits.call_timeout + 2)
        reply, out = self._receive(max_bytes=max_bytes, timeout=self.limits.call_timeout + 2)
        if reply.get("seq") != seq:
            answers_last = self._last is not None and reply.get("seq") == self._last[0]
            raise SandboxDied(Death.PROTOCOL, "a reply to another request",
                              earlier=earlier if answers_last else "")  # fmt: skip
        self._last = (seq, fn)
        return reply, out


PHASES = ("sandbox_start", "imports", "cells", "tests", "clean_up")
_IMPORT_LINE = re.compile(r"\s*(#.*|import\s.*|from\s+\S+\s+import\s.*)?")


def _imports_only(source: str) -> bool:
    """A cell of import statements only (its seconds count as imports in the split)."""
    lines = source.splitlines()
    return any(line.strip() for line in lines) and all(_IMPORT_LINE.fullmatch(x) for x in lines)


def _waiting(fd: int) -> int:
    """How many bytes are waiting to be read from pipe ``fd``."""
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count, True)
    return count[0]
