"""Warm sandboxes: each slot keeps a process that has already imported numpy and
matplotlib, and each submission runs in a fresh process forked from it.

A submission's cost was mostly ``import numpy, matplotlib.pyplot`` in a fresh process.
Here a slot's first submission starts the *zygote* (zygote.py) and pays the imports;
every submission, the first included, then runs in a child forked from it and confined
exactly as a cold sandbox is (autograder.run.sandbox, autograder.run.isolation). The
switch is ``HW2_WARM=0`` (``grade --cold``): every submission starts cold.

Where the zygote runs, per level:

- full, rootless: inside the same bwrap stack as a cold worker (same uid, user namespace
  U, mounts, rlimits), with its own cgroup, but keeping its capabilities *in U*
  (``bwrap --cap-add ALL``; none outside U). Per submission its child C unshares fresh
  pid, mount, ipc, uts, net and cgroup namespaces; C's child I is pid 1 there, mounts a
  fresh /proc, /tmp and /dev/shm over the zygote's, sets the rlimits, drops every
  capability (bounding and ambient sets too, no new privileges) and forks W, the worker.
- uid: the zygote is a root process with rlimits only (no student code ever runs in it);
  C moves into the submission's cgroup and forks W, which sets the rlimits and drops to
  the slot uid with no groups and no new privileges, as ``setpriv`` does cold.

Threat model: everything W and its descendants do is hostile; the zygote, C and I run
only the grader's code and are trusted. What W could try, and why it fails:

- *ptrace, /proc/<pid>/mem, process_vm_* of the zygote*: the zygote is not dumpable and
  holds capabilities W lacks (full, rootless), or is root (uid); the kernel refuses
  both (ptrace access mode ATTACH). At full and rootless the zygote is also not in W's
  pid namespace: W cannot name it, and its /proc does not list it.
- *signals to the zygote*: not nameable from W's pid namespace (full, rootless; a pidfd
  of another namespace is refused too); another uid (uid level).
- *shared writable memory*: the zygote refuses to serve if it has any writable shared
  mapping; everything else is copy-on-write, so W's writes are W's alone.
- *what the next submission inherits* (patched numpy or builtins, module state,
  environment, open files, a process waiting for the next fork, files, IPC objects):
  each W is forked from the zygote, never from a W, with the environment, working folder
  and fds set anew; before the next fork every process of the last submission is gone
  (I's pid namespace dies with it; at full the slot uid holds nothing but the zygote's
  stack, at uid nothing at all) and its /tmp, /dev/shm and IPC namespace with it (uid:
  :func:`isolation.cleanup` removes the slot uid's files).
- *the zygote's memory or descriptors*: W's memory is charged to the submission's cgroup
  and rlimits, never the zygote's; W holds no fd of the zygote (C closes the control
  socket before anything else), so it can neither send it requests nor descriptors.

A zygote that dies, does not answer, or fails a check is stopped, and the submission
starts cold as if it had never existed; the slot's next submission starts a new zygote.
"""

from __future__ import annotations

import array
import atexit
import contextlib
import dataclasses
import json
import os
import select
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from autograder.run import isolation
from autograder.run.isolation import Confinement, Level, ProcLimits

ENV = "HW2_WARM"  # "0": every submission starts cold (grade --cold)
LEVELS = (Level.FULL, Level.ROOTLESS, Level.UID)
READY_SECONDS = 60.0  # the imports, on a loaded machine
ANSWER_SECONDS = 5.0  # a fork, and C reporting itself
GONE_SECONDS = 3.0  # a killed submission's processes to be reaped
# The warm stack has three processes of the slot's uid that a cold one has not (the
# zygote, C, I): RLIMIT_NPROC counts them, so the child's is that much higher.
EXTRA_PROCESSES = 3


class WarmUnavailable(Exception):
    """The zygote could not give this submission a process: start it cold instead."""


def enabled(level: Level) -> bool:
    """Whether submissions at ``level`` start warm (the default where it is supported)."""
    return level in LEVELS and os.environ.get(ENV, "1") != "0"


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        found.add(p)
        todo += _children(p)
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError):
        return False


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def _recv_creds(sock: socket.socket, size: int) -> tuple[bytes, int]:
    """One message and the sender's pid, as the kernel reports it (SO_PASSCRED)."""
    msg, anc, _, _ = sock.recvmsg(size, socket.CMSG_SPACE(12))
    pid = -1
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(data) >= 12:
            pid = struct.unpack("iII", data[:12])[0]
    return msg, pid


class Child:
    """One submission's process tree under the zygote, seen from here like a Popen."""

    def __init__(self, zygote: Zygote, pid: int, go: socket.socket) -> None:
        self.zygote, self.pid, self.go = zygote, pid, go
        self.returncode: int | None = None
        self._buf = b""

    def _read(self, timeout: float) -> None:
        if self.returncode is not None:
            return
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if not select.select([self.go], [], [], max(left, 0))[0]:
                return
            try:
                chunk = self.go.recv(4096)
            except OSError:
                chunk = b""
            if not chunk:  # C is gone: its last words are its child's exit status
                try:
                    self.returncode = int(json.loads(self._buf)["status"])
                except (ValueError, KeyError, TypeError):
                    self.returncode = -signal.SIGKILL
                return
            self._buf += chunk[:256]
            if left <= 0:
                return

    def poll(self) -> int | None:
        self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._read(GONE_SECONDS if timeout is None else timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired("warm child", timeout or 0)
        return self.returncode

    def close(self, conf: Confinement) -> None:
        """Kill the submission's every process and free its cgroup and files."""
        z = self.zygote
        if z.level is Level.UID:
            isolation.cleanup(conf)  # every process of the slot uid; C is root
        else:
            for pid in _children(self.pid):  # I: its pid namespace dies with it
                if _ppid(pid) == self.pid:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        self._read(GONE_SECONDS)
        end = time.monotonic() + GONE_SECONDS
        while _ppid(self.pid) == z.pid and time.monotonic() < end:
            time.sleep(0.0005)  # C closed its socket and is exiting: the kernel reaps it
        if self.returncode is None or _ppid(self.pid) == z.pid:
            # C did not finish: the zygote's stack is not what it should be.
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            z.stop()
        self.go.close()
        if z.level is not Level.UID:
            z.clear_leftovers()
            if conf.cgroup is not None:
                conf.cgroup.remove()


@dataclasses.dataclass(frozen=True)
class Recipe:
    """What a slot's zygote is made of; a different recipe means a different zygote."""

    runtime: Path
    level: Level
    slot: int
    limits: ProcLimits  # the submission's (the zygote's own are derived)
    files: tuple[tuple[str, bytes], ...]  # the worker's sources, and zygote.py
    env: tuple[tuple[str, str], ...]
    ro: tuple[str, ...]
    ro_map: tuple[tuple[str, str], ...]


class Zygote:
    """A slot's warm process: started once, then forked once per submission."""

    def __init__(self, recipe: Recipe, home: Path | None) -> None:
        self.recipe, self.level, self.slot = recipe, recipe.level, recipe.slot
        self.uid = isolation.slot_uid(recipe.slot)
        self.proc: subprocess.Popen | None = None
        self.pid = -1
        self.keep: set[int] = set()
        self.cgroup: isolation.Cgroup | None = None
        self.started = time.monotonic()
        self._start(home)

    def _limits(self) -> ProcLimits:
        """The zygote's own limits: room for its stack and for the child's limits below."""
        lim = self.recipe.limits
        own = dataclasses.replace(lim, processes=lim.processes + 8, tmp_mb=16,
                                  cpu_seconds=7 * 86400)  # fmt: skip
        self.cgroup = isolation.make_cgroup(
            f"hw2-{os.getpid()}-{self.slot}-warm-{time.monotonic_ns()}", own
        )
        if self.cgroup is None:  # rlimits only: its address space ≥ the child's
            child = _address_space_mb(Confinement(self.level, self.slot, lim))
            n = 8
            memory = n * child + own.tmp_mb + isolation.SHM_MB
            own = dataclasses.replace(own, fallback_processes=n, memory_mb=memory)
        return own

    def _start(self, home: Path | None) -> None:
        r = self.recipe
        isolation.become_subreaper()
        self.ctl, ctl_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.ctl.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        own = self._limits()
        python = str(r.runtime / "bin" / "python")
        files = dict(r.files)
        env = dict(r.env)
        data_fds: list[int] = []
        try:
            if self.level is Level.UID:
                conf = Confinement(Level.NONE, self.slot, own, self.cgroup)
                grader = isolation.shared_copy(files)
                argv = [python, "-E", "-s", "-B", str(grader / "zygote.py"),
                        str(ctl_child.fileno()), self.level.value]  # fmt: skip
                cmd = isolation.command(conf, argv, env=env)
                cwd = home
            else:
                data = {}
                for name, content in files.items():
                    rd, wr = os.pipe()
                    os.write(wr, content)  # small: fits the pipe buffer
                    os.close(wr)
                    data_fds.append(rd)
                    data[f"/opt/grader/{name}"] = rd
                conf = Confinement(self.level, self.slot, own, self.cgroup, data)
                argv = [python, "-E", "-s", "-B", "/opt/grader/zygote.py",
                        str(ctl_child.fileno()), self.level.value]  # fmt: skip
                cmd = isolation.command(conf, argv, env=env, ro=list(r.ro),
                                        ro_map=dict(r.ro_map), keep_caps=True)  # fmt: skip
                cwd = Path("/")
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, pass_fds=(ctl_child.fileno(), *data_fds),
                start_new_session=True, cwd=cwd,
            )  # fmt: skip
        finally:
            ctl_child.close()
            for fd in data_fds:
                os.close(fd)
        if not select.select([self.ctl], [], [], READY_SECONDS)[0]:
            self.stop()
            raise WarmUnavailable("the warm process did not get ready")
        msg, pid = _recv_creds(self.ctl, 4096)
        try:
            ready = json.loads(msg).get("ready") is True
        except (ValueError, AttributeError):
            ready = False
        self.pid = pid
        self.keep = _descendants(self.proc.pid)
        if not ready or pid not in self.keep:
            self.stop()
            raise WarmUnavailable(f"the warm process failed its start ({msg[:200]!r})")

    def alive(self) -> bool:
        return (
            self.proc is not None
            and self.proc.poll() is None
            and _running(self.pid)
            and _children(self.pid) == []
        )

    def clear_leftovers(self) -> None:
        """Full level: no process of the slot uid but the zygote's own stack survives."""
        if self.level is not Level.FULL or os.geteuid() != 0:
            return
        for _ in range(200):
            live, _zombies = isolation._processes_of(self.uid)
            left = [p for p in live if p not in self.keep]
            if not left:
                return
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.001)

    def spawn(self, req_r: int, reply_w: int, spec: dict, cgroup: isolation.Cgroup | None) -> Child:
        """Fork a confined child for one submission; WarmUnavailable if the zygote fails."""
        if not self.alive():
            self.stop()
            raise WarmUnavailable("the warm process is gone")
        if self.level is Level.UID:
            isolation.kill_uid(self.uid)
        else:
            self.clear_leftovers()
        go, go_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        go.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        try:
            fds = array.array("i", [req_r, reply_w, go_child.fileno()])
            self.ctl.settimeout(ANSWER_SECONDS)
            self.ctl.sendmsg([json.dumps(spec).encode()],
                             [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])  # fmt: skip
            go_child.close()
            if not select.select([go], [], [], ANSWER_SECONDS)[0]:
                raise WarmUnavailable("the warm process did not fork")
            msg, pid = _recv_creds(go, 1)
            if msg != b"c" or _ppid(pid) != self.pid:
                raise WarmUnavailable("the forked process is not the warm process's child")
            if cgroup is not None:
                for procs in cgroup.procs:
                    Path(procs).write_text(str(pid))
            go.sendall(b"g")
        except (OSError, WarmUnavailable) as exc:
            go.close()
            go_child.close()
            self.stop()
            if isinstance(exc, WarmUnavailable):
                raise
            raise WarmUnavailable(f"the warm process failed: {exc}") from exc
        return Child(self, pid, go)

    def stop(self) -> None:
        """Kill the zygote's whole stack and free its cgroup (idempotent)."""
        with contextlib.suppress(OSError):
            self.ctl.close()
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            for pid in self.keep:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.wait()
            isolation.reap_orphans()
            self.proc = None
            if self.level is Level.FULL and os.geteuid() == 0:
                # The stack runs as the slot uid: gone, and reaped, before the slot is freed
                # (the next holder's RLIMIT_NPROC would count what is left).
                isolation.kill_uid(self.uid)
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if _zygotes.get(self.slot) is self:
            del _zygotes[self.slot]


_zygotes: dict[int, Zygote] = {}


def zygote(recipe: Recipe, home: Path | None) -> Zygote:
    """The slot's zygote for ``recipe``, started here if there is none (or another recipe)."""
    z = _zygotes.get(recipe.slot)
    if z is not None and (z.recipe != recipe or not z.alive()):
        z.stop()
        z = None
    if z is None:
        z = Zygote(recipe, home)
        _zygotes[recipe.slot] = z
    return z


@atexit.register
def stop_all() -> None:
    """Stop every zygote of this process. Also registered with multiprocessing (see
    autograder.grade.batch), whose worker processes end without running atexit."""
    for z in list(_zygotes.values()):
        z.stop()


def _address_space_mb(conf: Confinement) -> int:
    return isolation._address_space_mb(conf)


def child_spec(conf: Confinement, env: Mapping[str, str], cwd: str, argv0: str) -> dict:
    """What C and W need to confine a submission exactly as a cold sandbox at conf.level."""
    lim = conf.limits
    nproc = isolation._processes(conf)
    namespaces = conf.level in (Level.FULL, Level.ROOTLESS)
    return {
        "namespaces": namespaces,
        "uid": conf.uid,
        "limits": {
            "as": _address_space_mb(conf) << 20,
            "fsize": lim.file_mb << 20,
            "nofile": lim.nofile,
            "core": 0,
            "cpu": lim.cpu_seconds,
            "nproc": nproc + EXTRA_PROCESSES if namespaces else nproc,
        },
        "tmp_bytes": lim.tmp_mb << 20,
        "shm_bytes": isolation.SHM_MB << 20,
        "env": dict(env),
        "cwd": cwd,
        "argv0": argv0,
    }
