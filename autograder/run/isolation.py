"""Where student code (and xelatex) runs: the isolation level, the slots, the command line.

One module builds every sandboxed command line (the grading worker, xelatex, the
probe) and manages the job slots, so the guarantees below hold in one place.

Levels, chosen automatically (``detect_level``), weakest last:

========  ==============================================  =====================================
level     when                                            what isolates
========  ==============================================  =====================================
full      root, user namespaces work                      a uid of its own per slot (setpriv),
                                                          bwrap with every namespace, rlimits
rootless  not root, unprivileged user namespaces work     bwrap in an unprivileged user
                                                          namespace: pid, net, mount, ipc, uts;
                                                          clean-up through the pid namespace
uid       root, user namespaces denied (Docker's default  a uid of its own per slot (setpriv
          seccomp profile, Gradescope)                    --no-new-privs), rlimits, a private
                                                          working folder; grading refuses
                                                          while the repo, OUT or submissions
                                                          are readable by other uids (it
                                                          never changes their modes). It
                                                          cannot stop network access.
none      only with --unsafe-no-sandbox                   a separate process with rlimits
========  ==============================================  =====================================

**One cap for the whole submission, at every level.** ``memory_mb`` bounds the
submission's processes together *and* every file it can write: ``/`` and ``/dev``
are read-only, ``/tmp`` and ``/dev/shm`` are tmpfs mounts with a size, and

- where a cgroup can be made (cgroup v2 with ``memory``/``pids`` delegated, or
  cgroup v1 as root), the sandbox joins its own cgroup before it starts:
  ``memory.max`` (v1: ``memory.limit_in_bytes``) = ``memory_mb`` counts every
  process's pages and the tmpfs pages it writes, ``pids.max`` caps its processes;
- otherwise the sandbox may not start any process of its own (RLIMIT_NPROC, which
  inside a user namespace counts only that namespace's processes), so its one
  process's address space (``memory_mb`` minus the tmpfs sizes) plus the tmpfs
  sizes stay under ``memory_mb``.

At the uid level there is no mount namespace: the files the slot uid writes in the host's
world-writable folders and in its own slot folder, and the System V shared memory it makes
(no IPC namespace either), are held to the same budget by a watchdog (:class:`FileWatch`),
and removed by owner after each submission (:func:`cleanup`). POSIX message queues, which
only a mount of /dev/mqueue could list, are refused at every level (RLIMIT_MSGQUEUE 0).
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import os
import shutil
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SANDBOX_UID_BASE = 61000
MAX_SLOTS = 256
ROOT_BASE = Path("/run/hw2-autograder")  # root's locks and scratch (per user otherwise)
LEVEL_ENV = "HW2_ISOLATION"  # set by the grading command, read by its worker processes
SHM_MB = 16  # the sandbox's /dev/shm
# Where the per-slot uid can write at the uid level (no mount namespace there): cleaned after.
WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")
INNER_WORKDIR = "/work"
# How bwrap says user namespaces are denied (seccomp, sysctl, AppArmor).
NAMESPACE_DENIED = ("namespace", "Operation not permitted", "Permission denied", "uid map")


class SandboxUnavailable(Exception):
    """No sandbox can be set up here; the message says exactly what to do."""


class Level(enum.StrEnum):
    FULL = "full"
    ROOTLESS = "rootless"
    UID = "uid"
    NONE = "none"

    @property
    def isolated(self) -> bool:
        return self is not Level.NONE


# What each level cannot stop: shown in docs/isolation.md's table, the summary and results.json.
LIMITATIONS = {
    Level.FULL: "",
    Level.ROOTLESS: "",
    Level.UID: (
        "uid level (no user namespaces here): student code could reach the network and "
        "read world-readable files of this machine"
    ),
    Level.NONE: "not isolated (--unsafe-no-sandbox)",
}


@dataclass(frozen=True)
class ProcLimits:
    """Limits of one sandboxed process tree. ``memory_mb`` is its total: processes + files.

    No defaults for the sizes: a submission's come from ``sandbox.Limits``, the PDF
    tools' from ``pdf_sandbox.PdfLimits``, the level probe's from ``PROBE_LIMITS``.
    """

    memory_mb: int
    processes: int
    file_mb: int
    tmp_mb: int
    cpu_seconds: int
    nofile: int = 256
    # Without a cgroup: how many processes the command may run at once. Each gets an equal
    # share of memory_mb (less the tmpfs sizes) as its address space, so the total holds.
    # Student code: 1, its own process. A tool that starts helpers (pandoc) needs more.
    fallback_processes: int = 1


# The level probe runs `python -c pass`: room for that, and nothing to spare.
PROBE_LIMITS = ProcLimits(memory_mb=1024, processes=16, file_mb=16, tmp_mb=64, cpu_seconds=60)


# -- where this user keeps locks and scratch -------------------------------------------


def base_dir() -> Path:
    """This user's private folder for slot locks and scratch space, created safely.

    Root uses /run/hw2-autograder; anyone else $XDG_RUNTIME_DIR/hw2-autograder or
    /tmp/hw2-autograder-<uid>. So a root run and a user run never share a lock or a
    folder. A folder of that name owned by someone else is refused, never used.
    """
    uid = os.geteuid()
    if uid == 0 and (ROOT_BASE.is_dir() or os.access(ROOT_BASE.parent, os.W_OK)):
        path = ROOT_BASE
    elif uid == 0:  # a container without a writable /run
        path = Path("/tmp/hw2-autograder-0")
    elif (xdg := os.environ.get("XDG_RUNTIME_DIR")) and Path(xdg).is_dir():
        path = Path(xdg) / "hw2-autograder"
    else:
        path = Path(f"/tmp/hw2-autograder-{uid}")
    with contextlib.suppress(FileExistsError):
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(path, 0o711 if uid == 0 else 0o700)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o022:
        raise SandboxUnavailable(
            f"{path} is not a private folder of uid {uid} (owner {st.st_uid}, mode "
            f"{stat.filemode(st.st_mode)}); remove it and rerun"
        )
    return path


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
    """Claim a slot (and so, as root, a uid) no other grading process of this user holds.

    Two concurrent runs (two `make grade`s, or parallel tests) must never share a
    slot: cleaning up one slot kills every process of its uid. The claim is an
    flock, released by the kernel when this process exits, however it exits.
    """
    locks = base_dir() / "locks"
    with contextlib.suppress(FileExistsError):
        os.mkdir(locks, 0o700)
    for slot in slot_range():
        fd = os.open(locks / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        if os.geteuid() == 0 and not _clean_slot(slot):
            os.close(fd)
            continue
        _held_slots[slot] = fd
        return slot
    raise SandboxUnavailable("all sandbox slots are in use")


def _clean_slot(slot: int) -> bool:
    """As root, on a slot just claimed: kill what a holder that died left running under its
    uid (a warm process orphaned by a killed worker). False while processes of the uid remain:
    zombies some other process has yet to reap count against the next sandbox's
    RLIMIT_NPROC, and setpriv's exec would fail with EAGAIN."""
    uid = slot_uid(slot)
    for _ in range(50):
        kill_uid(uid)
        if not _any_process_of(uid):
            return True
        time.sleep(0.01)
    return False


def _any_process_of(uid: int) -> bool:
    """Whether any process, live or zombie, has real uid ``uid``."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                for line in open(f"/proc/{entry.name}/status"):
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            return True
                        break
    return False


def release_slot(slot: int) -> None:
    """Give back a slot claimed by acquire_slot, killing whatever still runs under it."""
    fd = _held_slots.pop(slot, None)
    if fd is not None:
        if os.geteuid() == 0:
            kill_uid(slot_uid(slot))
        os.close(fd)


def slot_uid(slot: int) -> int:
    return SANDBOX_UID_BASE + slot


# -- the level ---------------------------------------------------------------------------


def _missing_tools() -> list[str]:
    return [
        package
        for tool, package in (("bwrap", "bubblewrap"), ("setpriv", "util-linux"),
                              ("prlimit", "util-linux"))
        if shutil.which(tool) is None
    ]  # fmt: skip


def detect_level(runtime: Path, *, unsafe: bool = False) -> Level:
    """The strongest level this machine allows, or SandboxUnavailable saying what to do.

    The result is put in the environment (HW2_ISOLATION) so the grading command's
    worker processes use the same level without probing again.
    """
    if not (runtime / "bin" / "python").exists():
        raise SandboxUnavailable(f"the sandbox runtime {runtime} is missing: run `make setup`")
    if unsafe:
        level = Level.NONE
    else:
        if os.geteuid() == 0 and (why := unreachable(runtime)):
            raise SandboxUnavailable(why)  # a slot uid runs it
        missing = _missing_tools()
        if missing:
            names = " and ".join(f"`{t}`" for t in ("bwrap", "setpriv", "prlimit")
                                 if shutil.which(t) is None)  # fmt: skip
            raise SandboxUnavailable(
                f"{names} is not installed (Debian package {' '.join(sorted(set(missing)))}): "
                f"apt-get install --no-install-recommends {' '.join(sorted(set(missing)))}"
            )
        level = _probe(runtime)
    os.environ[LEVEL_ENV] = level.value
    return level


def current_level(runtime: Path | None = None) -> Level:
    """The level the grading command chose (detected here when this process is the first)."""
    value = os.environ.get(LEVEL_ENV)
    if value in {lv.value for lv in Level}:
        return Level(value)
    if runtime is None:
        from autograder.run.sandbox import default_runtime

        runtime = default_runtime()
    return detect_level(runtime)


def _probe(runtime: Path) -> Level:
    """Try the strongest level first: full (root) or rootless (not root), then uid."""
    root = os.geteuid() == 0
    become_subreaper()  # bwrap's pid 1 is ours to reap: a zombie would count against the slot
    slot = acquire_slot()  # a slot of its own: another run's clean-up must not kill the probe
    try:
        conf = Confinement(Level.FULL if root else Level.ROOTLESS, slot, PROBE_LIMITS, cgroup=None)
        probe = subprocess.run(
            command(conf, [str(runtime / "bin" / "python"), "-c", "pass"], env={},
                    ro=[str(runtime)]),
            capture_output=True, text=True, timeout=60, start_new_session=True,
        )  # fmt: skip
        if probe.returncode == 0:
            return conf.level
        why = probe.stderr.strip().splitlines()[-1:] or [f"exit {probe.returncode}"]
        if not root:
            raise SandboxUnavailable(
                f"bubblewrap cannot create a user namespace here ({why[0]}). Enable unprivileged "
                "user namespaces (sysctl -w kernel.unprivileged_userns_clone=1 "
                "user.max_user_namespaces=15000; on Ubuntu 24.04 also "
                "kernel.apparmor_restrict_unprivileged_userns=0), or run the command with sudo"
            )
        if not any(m in probe.stderr for m in NAMESPACE_DENIED):
            # Not a container's denial: a weaker level would hide a broken set-up.
            raise SandboxUnavailable(f"bubblewrap failed here ({why[0]}); rerun `make setup`")
        conf = Confinement(Level.UID, slot, PROBE_LIMITS, cgroup=None)
        probe = subprocess.run(
            command(conf, [str(runtime / "bin" / "python"), "-c", "pass"], env={}),
            capture_output=True, text=True, timeout=60, start_new_session=True,
            cwd=private_dir(conf),
        )  # fmt: skip
        if probe.returncode != 0:
            raise SandboxUnavailable(
                "neither bubblewrap nor setpriv can start a sandbox here ("
                + (probe.stderr.strip() or f"exit {probe.returncode}")
                + "); the sandbox runtime must be readable by every uid (rerun `make setup`)"
            )
        return Level.UID
    finally:
        cleanup(Confinement(Level.UID if root else Level.ROOTLESS, slot, PROBE_LIMITS, None))
        reap_orphans()
        release_slot(slot)


# -- a cgroup for the whole submission -------------------------------------------------


@dataclass(frozen=True)
class Cgroup:
    """One sandbox's cgroup(s): every process and tmpfs page of the submission counts in it."""

    dirs: tuple[Path, ...]  # v2: one; v1: the memory and the pids hierarchy

    @property
    def procs(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def remove(self) -> None:
        for d in self.dirs:
            with contextlib.suppress(OSError):
                kill = d / "cgroup.kill"
                if kill.exists():
                    kill.write_text("1")
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # still has processes: they are being killed
                    time.sleep(0.01)

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer ended here at the memory cap."""
        for d in self.dirs:
            for name in ("memory.events", "memory.oom_control"):  # v2, v1
                with contextlib.suppress(OSError, ValueError):
                    for line in (d / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill":
                            return int(value)
        return 0


def _own_cgroup(controller: str) -> tuple[Path, bool] | None:
    """(the folder of this process's cgroup for ``controller``, is it v2) or None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        hid, controllers, path = line.split(":", 2)
        if hid != "0" and controller in controllers.split(","):
            root = Path("/sys/fs/cgroup") / controller
            if (root / path.lstrip("/")).is_dir():
                return root / path.lstrip("/"), False
    for line in lines:
        hid, _, path = line.split(":", 2)
        if hid == "0":
            for mount in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
                folder = mount / path.lstrip("/")
                if (mount / "cgroup.controllers").exists() and controller in (
                    mount / "cgroup.controllers"
                ).read_text().split():
                    return folder, True
    return None


def left_by_dead_process(name: str, prefix: str) -> bool:
    """Whether ``name`` is ``prefix<pid>-…``, named by a grading process that is gone."""
    pid = name.removeprefix(prefix).split("-")[0] if name.startswith(prefix) else ""
    return pid.isdigit() and not Path(f"/proc/{pid}").exists()


def _remove_stale(parent: Path) -> None:
    """Remove the empty cgroups a killed grading process left (hw2-<its pid>-…)."""
    with contextlib.suppress(OSError):
        for entry in parent.iterdir():
            if left_by_dead_process(entry.name, "hw2-"):
                with contextlib.suppress(OSError):
                    entry.rmdir()


def make_cgroup(name: str, limits: ProcLimits) -> Cgroup | None:
    """A fresh cgroup with the memory and process caps, or None where none can be made.

    cgroup v1 (separate memory and pids hierarchies) needs root. cgroup v2 needs the
    memory and pids controllers enabled below this process's cgroup (root, or a
    delegated subtree such as a systemd user service).
    """
    if os.environ.get("HW2_NO_CGROUP") == "1":  # tests: exercise the fallback caps
        return None
    memory_bytes = limits.memory_mb << 20
    mem, pids = _own_cgroup("memory"), _own_cgroup("pids")
    if mem is None or pids is None:
        return None
    made: list[Path] = []
    try:
        if mem[1]:  # v2: one folder beside ours would escape our limits; a child of ours
            parent = mem[0]
            sub = parent / "cgroup.subtree_control"
            if "memory" not in sub.read_text() or "pids" not in sub.read_text():
                sub.write_text("+memory +pids")  # fails where our cgroup holds processes
            _remove_stale(parent)
            d = parent / name
            d.mkdir()
            made.append(d)
            (d / "memory.max").write_text(str(memory_bytes))
            with contextlib.suppress(OSError):
                (d / "memory.swap.max").write_text("0")
            (d / "pids.max").write_text(str(limits.processes))
        else:
            for base, files in (
                (mem[0], {"memory.limit_in_bytes": memory_bytes}),
                (pids[0], {"pids.max": limits.processes}),
            ):
                _remove_stale(base)
                d = base / name
                d.mkdir()
                made.append(d)
                for key, value in files.items():
                    (d / key).write_text(str(value))
            with contextlib.suppress(OSError):  # no swap accounting: no swap to cap
                (made[0] / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
        return Cgroup(tuple(made))
    except OSError:
        Cgroup(tuple(made)).remove()
        return None


# -- building the command --------------------------------------------------------------


@dataclass(frozen=True)
class Confinement:
    """Everything a sandboxed command line depends on."""

    level: Level
    slot: int
    limits: ProcLimits
    cgroup: Cgroup | None = None
    data: Mapping[str, int] = field(default_factory=dict)  # path inside → readable fd

    @property
    def uid(self) -> int | None:
        """The slot's own uid, where there is one (full and uid levels)."""
        return slot_uid(self.slot) if self.level in (Level.FULL, Level.UID) else None


def usr_links() -> list[str]:
    """Debian merges / into /usr; recreate the top-level links the dynamic loader expects."""
    links = []
    for name in ("bin", "lib", "lib64", "sbin"):
        if Path(f"/usr/{name}").exists():
            links += ["--symlink", f"usr/{name}", f"/{name}"]
    return links


def _address_space_mb(conf: Confinement) -> int:
    lim = conf.limits
    if conf.cgroup is not None or not conf.level.isolated:
        return lim.memory_mb
    # processes × address space + files ≤ memory_mb
    return max((lim.memory_mb - lim.tmp_mb - SHM_MB) // lim.fallback_processes, 64)


def _processes(conf: Confinement) -> int:
    """RLIMIT_NPROC: the cap itself with a cgroup; without one, ``fallback_processes``.

    Inside bwrap the count is per user namespace and has bwrap's pid 1 in it (+1).
    At the uid level it counts the slot uid's processes: the command's alone.
    """
    if conf.cgroup is not None:
        return conf.limits.processes
    n = conf.limits.fallback_processes
    return n + 1 if conf.level in (Level.FULL, Level.ROOTLESS) else n


def inner_path(conf: Confinement, workdir: Path) -> str:
    """How ``workdir`` (passed to :func:`command`) is seen by the sandboxed process."""
    return INNER_WORKDIR if conf.level in (Level.FULL, Level.ROOTLESS) else str(workdir)


def command(
    conf: Confinement,
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    ro: Iterable[str] = (),
    workdir: Path | None = None,
    ro_map: Mapping[str, str] = {},
    keep_caps: bool = False,
) -> list[str]:
    """The full command line that runs ``argv`` confined at ``conf.level``.

    ``ro`` are host folders visible read-only at the same path (full and rootless;
    at the uid level they must already be readable by every uid). ``workdir`` is the
    one writable host folder, seen as /work (see :func:`inner_path`); at the uid
    and full levels it must belong to the slot uid (:func:`prepare_workdir`).
    ``conf.data`` maps paths inside to readable fds (the worker's own source).
    ``ro_map`` maps host paths to other paths inside, read-only (full and rootless only:
    at the uid and none levels the command sees host paths, so give it paths every uid
    can read, e.g. a :func:`shared_copy`).
    ``keep_caps`` (full and rootless): ``argv`` keeps every capability *inside* its user
    namespace; only for a warm process, whose children drop them (autograder.run.warm).
    """
    lim = conf.limits
    nproc = _processes(conf)
    rlimits = [
        "prlimit",
        f"--as={_address_space_mb(conf) << 20}",
        f"--fsize={lim.file_mb << 20}",
        f"--nofile={lim.nofile}",
        "--core=0",
        f"--cpu={lim.cpu_seconds}",
        # No POSIX message queue: without an IPC namespace one outlives the sandbox, and
        # nothing lists it to remove it unless /dev/mqueue is mounted.
        "--msgqueue=0",
    ]
    # Inside a user namespace RLIMIT_NPROC counts only that namespace's processes, so bwrap
    # levels set it inside. Outside, the slot uid's count also has bwrap itself in it (full);
    # a rootless user's count has all their other processes (no cap there); at the uid level
    # the count is the command's alone.
    outer_nproc = {
        Level.FULL: [f"--nproc={lim.processes + 2}"],
        Level.UID: [f"--nproc={nproc}"],
    }.get(conf.level, [])
    join = []
    if conf.cgroup is not None:
        # The shell writes its own pid into each cgroup, then execs the rest: every
        # descendant starts inside. The paths are arguments, never part of the script.
        n = len(conf.cgroup.procs)
        script = " && ".join(f'echo 0 >"${i}"' for i in range(1, n + 1))
        join = ["/bin/sh", "-c", f'{script} && shift {n} && exec "$@"', "sh", *conf.cgroup.procs]
    outer = [*join, *rlimits, *outer_nproc, "--"]
    setpriv = []
    if conf.uid is not None:
        setpriv = [
            "setpriv", f"--reuid={conf.uid}", f"--regid={conf.uid}", "--clear-groups",
            "--no-new-privs", "--",
        ]  # fmt: skip
    if conf.level in (Level.UID, Level.NONE):
        return [*outer, *setpriv, "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]
    bwrap = [
        "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
        "--hostname", "sandbox", *(["--cap-add", "ALL"] if keep_caps else []),
        "--ro-bind", "/usr", "/usr", *usr_links(),
        "--proc", "/proc",
        "--dev", "/dev", "--size", str(SHM_MB << 20), "--tmpfs", "/dev/shm",
        "--size", str(lim.tmp_mb << 20), "--tmpfs", "/tmp",
    ]  # fmt: skip
    for path in ro:
        bwrap += ["--ro-bind", path, path]
    for src, dest in ro_map.items():
        bwrap += ["--ro-bind", src, dest]
    for inner, fd in conf.data.items():
        bwrap += ["--dir", str(Path(inner).parent), "--ro-bind-data", str(fd), inner]
    if workdir is not None:
        bwrap += ["--bind", str(workdir), INNER_WORKDIR, "--chdir", INNER_WORKDIR]
    else:
        bwrap += ["--chdir", "/tmp"]
    # Nothing else is writable: no file on / or /dev escapes the size of /tmp and /dev/shm.
    bwrap += ["--remount-ro", "/dev", "--remount-ro", "/"]
    for key, value in env.items():
        bwrap += ["--setenv", key, value]
    inner = ["prlimit", f"--nproc={nproc}", "--"]
    return [*outer, *setpriv, *bwrap, "--", *inner, *argv]


def run_confined(
    argv: Sequence[str],
    *,
    slot: int,
    limits: ProcLimits,
    env: Mapping[str, str],
    timeout: float,
    ro: Iterable[str] = (),
    ro_map: Mapping[str, str] = {},
    workdir: Path | None = None,
    level: Level | None = None,
) -> int:
    """Run ``argv`` confined, wait at most ``timeout`` s, clean up; its exit code (-1: timed out).

    The entry point for one-shot sandboxed tools (xelatex, nbconvert): the level is the
    grading command's (or detected), the slot the caller's (``acquire_slot``), ``workdir``
    (made with :func:`scratch`, so the slot uid can reach it)
    is handed to the slot (its only writable folder, seen as :func:`inner_path`), and the
    whole tree is capped by ``limits`` like student code. stdin, stdout and stderr are
    /dev/null: results go through ``workdir``.
    """
    level = level or current_level()
    cgroup = make_cgroup(f"hw2-{os.getpid()}-{slot}-{time.monotonic_ns()}", limits)
    conf = Confinement(level, slot, limits, cgroup)
    cwd = None
    if workdir is not None:
        prepare_workdir(conf, workdir)
        cwd = workdir
    elif level in (Level.UID, Level.NONE):
        cwd = private_dir(conf)
    become_subreaper()
    cmd = command(conf, argv, env=env, ro=ro, workdir=workdir, ro_map=ro_map)
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, cwd=cwd,
    )  # fmt: skip
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1
    finally:
        cleanup(conf, proc)


# -- per-slot folders and clean-up ------------------------------------------------------


def slot_dir(slot: int) -> Path:
    """Where :func:`private_dir` puts the slot's working folder."""
    return base_dir() / f"slot-{slot}"


def writable_places(uid: int) -> tuple[str, ...]:
    """Where the slot ``uid`` can write at the uid level: the world-writable folders and
    its own slot folder (its cwd, HOME and TMPDIR)."""
    return (*WORLD_WRITABLE, str(slot_dir(uid - SANDBOX_UID_BASE)))


def private_dir(conf: Confinement) -> Path:
    """The slot's private, empty working folder (uid and none levels: cwd, HOME and TMPDIR).

    At the uid level it belongs to the slot uid, mode 700, inside a folder only root
    can list; nothing of the repo, OUT or other submissions is in it.
    """
    path = slot_dir(conf.slot)
    shutil.rmtree(path, ignore_errors=True)
    os.mkdir(path, 0o700)
    if conf.uid is not None and os.geteuid() == 0:
        os.chown(path, conf.uid, conf.uid)
    return path


def scratch(prefix: str = "work-") -> Path:
    """A fresh folder in this user's base folder, which every slot uid can traverse (root)
    and nobody else can list: where a sandboxed tool's ``workdir`` should live."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix=prefix, dir=base_dir()))


def prepare_workdir(conf: Confinement, workdir: Path) -> None:
    """Hand ``workdir`` to the slot: its uid owns it (full, uid), nobody else can read it."""
    if conf.uid is not None and os.geteuid() == 0:
        os.chown(workdir, conf.uid, conf.uid)
    os.chmod(workdir, 0o700)


def shared_tree(sources: Mapping[str, Path]) -> Path:
    """A root-owned, world-readable copy of files and folders (name → source), for the uid
    level, where a tool cannot see the (protected) repo: e.g. the PDF worker and templates."""
    files: dict[str, bytes] = {}
    for name, src in sources.items():
        paths = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        for path in paths:
            rel = name if path == src else f"{name}/{path.relative_to(src).as_posix()}"
            files[rel] = path.read_bytes()
    return shared_copy(files)


def shared_copy(files: Mapping[str, bytes]) -> Path:
    """A root-owned, world-readable folder holding ``files`` (the worker at the uid level)."""
    import hashlib

    digest = hashlib.sha256(b"".join(k.encode() + v for k, v in sorted(files.items())))
    folder = base_dir() / f"grader-{digest.hexdigest()[:16]}"
    if not folder.is_dir():
        tmp = base_dir() / f".grader-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        os.mkdir(tmp, 0o755)
        for name, data in files.items():
            (tmp / name).parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            (tmp / name).write_bytes(data)
            os.chmod(tmp / name, 0o644)
        try:
            os.rename(tmp, folder)
        except OSError:  # another process made it first
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


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


def become_subreaper() -> None:
    """Adopt this process's orphaned descendants (PR_SET_CHILD_SUBREAPER), so we can reap them.

    When a sandbox is killed, bwrap's inner process (pid 1 of the sandbox's pid
    namespace) outlives the outer bwrap by a moment and would be re-parented to the
    machine's init. Its zombie then keeps counting against the slot uid until init
    gets round to reaping it, which some container inits do late. As a subreaper the
    grading process inherits it instead and reaps it at once.
    """
    import ctypes

    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_orphans() -> None:
    """Reap the zombies this (subreaper) process adopted: bwrap's pid 1 once bwrap is gone."""
    me = str(os.getpid())
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] == "Z" and fields[1] == me:
                    os.waitpid(int(entry.name), os.WNOHANG)


def kill_uid(uid: int) -> int:
    """SIGKILL every live process whose real uid is ``uid``; returns how many were signalled.

    Zombies run nothing: those that are our children are reaped; a zombie some other
    process has to reap is not waited for.
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


def files_of(uid: int, roots: Iterable[str] = WORLD_WRITABLE, depth: int = 3) -> int:
    """Bytes on disk of what ``uid`` owns in ``roots`` (never following links).

    The uid can create entries only in world-writable folders and its own, so only
    those are descended into; a folder it owns is counted whole.
    """
    total = 0
    for root in roots:
        with contextlib.suppress(OSError):
            for entry in os.scandir(root):
                with contextlib.suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    if st.st_uid == uid and stat.S_ISDIR(st.st_mode):
                        for folder, _, names in os.walk(entry.path):
                            for name in names:
                                with contextlib.suppress(OSError):
                                    total += os.lstat(os.path.join(folder, name)).st_blocks * 512
                    elif st.st_uid == uid:
                        total += st.st_blocks * 512
                    elif stat.S_ISDIR(st.st_mode) and st.st_mode & 0o002 and depth > 0:
                        total += files_of(uid, [entry.path], depth - 1)
    return total


class FileWatch:
    """The uid level: the slot uid's files in the host's world-writable folders and its own
    slot folder (tmpfs or disk), plus its System V shared memory, are held to the same budget
    as the sandbox's tmpfs mounts elsewhere.

    A thread sums them every ``interval`` seconds and kills the slot's processes once
    they exceed ``budget`` bytes (the overshoot is what can be written in one interval;
    the hostile suite measures it). Each file is also capped by RLIMIT_FSIZE.
    """

    def __init__(self, uid: int, budget: int, interval: float = 0.05) -> None:
        self.uid, self.budget, self.interval = uid, budget, interval
        self.tripped = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        places = writable_places(self.uid)
        while not self._stop.wait(self.interval):
            if files_of(self.uid, places) + sysv_shm_bytes(self.uid) > self.budget:
                self.tripped = True
                kill_uid(self.uid)
                _remove_files_of(self.uid, places)
                remove_sysv_ipc(self.uid)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _remove_files_of(uid: int, roots: Iterable[str], depth: int = 3) -> None:
    """Delete what ``uid`` left in ``roots`` (never following a link).

    The uid can create entries only in world-writable folders and its own, so only
    those are descended into; what it owns is removed whole.
    """
    for root in roots:
        with contextlib.suppress(OSError):
            for entry in os.scandir(root):
                with contextlib.suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    if st.st_uid == uid:
                        if stat.S_ISDIR(st.st_mode):
                            shutil.rmtree(entry.path, ignore_errors=True)
                        else:
                            os.unlink(entry.path)
                    elif stat.S_ISDIR(st.st_mode) and st.st_mode & 0o002 and depth > 0:
                        _remove_files_of(uid, [entry.path], depth - 1)


_SYSV_KINDS = {"shm": "shmid", "sem": "semid", "msg": "msqid"}  # table → its id column


def _sysv_table(kind: str) -> list[dict[str, str]]:
    """The rows of /proc/sysvipc/<kind> (this IPC namespace's objects), by column name."""
    try:
        lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
    except OSError:
        return []
    head = lines[0].split() if lines else []
    return [dict(zip(head, line.split(), strict=False)) for line in lines[1:]]


def _owned(row: Mapping[str, str], uid: int) -> bool:
    return str(uid) in (row.get("uid"), row.get("cuid"))


def sysv_shm_bytes(uid: int) -> int:
    """Bytes of System V shared memory that ``uid`` owns or made, resident or swapped (all
    of its size on kernels whose table has no rss column)."""
    total = 0
    for row in _sysv_table("shm"):
        if _owned(row, uid):
            with contextlib.suppress(KeyError, ValueError):
                total += int(row["rss"]) + int(row["swap"]) if "rss" in row else int(row["size"])
    return total


def remove_sysv_ipc(uid: int) -> int:
    """Remove every System V shared memory segment, semaphore set and message queue that
    ``uid`` owns or made (IPC_RMID; a segment still attached goes when its last user does);
    returns how many. Only root may remove another uid's objects."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    IPC_RMID = 0
    removed = 0
    for kind, column in _SYSV_KINDS.items():
        for row in _sysv_table(kind):
            if not _owned(row, uid) or column not in row:
                continue
            ident = int(row[column])
            if kind == "shm":
                rc = libc.shmctl(ident, IPC_RMID, None)
            elif kind == "sem":
                rc = libc.semctl(ident, 0, IPC_RMID)
            else:
                rc = libc.msgctl(ident, IPC_RMID, None)
            removed += rc == 0
    return removed


def cleanup(conf: Confinement, proc: subprocess.Popen | None = None) -> None:
    """Stop everything the confined command left and free its cgroup, folders and IPC objects.

    full and uid: every process of the slot uid is killed. rootless: killing bwrap
    kills its pid 1 (--die-with-parent), and with it the whole pid namespace (and its
    IPC namespace). uid: there is no mount or IPC namespace, so its files in every
    writable place and its System V objects on the host are removed by owner. none: only
    its working folder; it runs as this user, whose own files cannot be told apart.
    """
    if proc is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        reap_orphans()
    if conf.uid is not None and os.geteuid() == 0:
        kill_uid(conf.uid)
        remove_sysv_ipc(conf.uid)  # full: none (its IPC namespace died with it); uid: the host's
        if conf.level is Level.UID:
            _remove_files_of(conf.uid, writable_places(conf.uid))
    if conf.level in (Level.UID, Level.NONE):
        shutil.rmtree(slot_dir(conf.slot), ignore_errors=True)
    if conf.cgroup is not None:
        conf.cgroup.remove()


# -- the uid level: what the slot uid must not read -------------------------------------


def readable_by_others(path: Path) -> bool:
    """Could a uid with no groups read ``path`` (every ancestor o+x, the path itself o+r)?"""
    path = Path(os.path.abspath(path))
    try:
        for parent in reversed(path.parents):
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                return False
        return bool(os.stat(path).st_mode & stat.S_IROTH)
    except OSError:
        return False


def unreachable(path: Path, who: str = "sandbox") -> str | None:
    """Why a slot uid cannot read ``path`` (a folder above it is private), or None.

    For paths a user names by hand ($HW2_SANDBOX_RUNTIME, $HW2_PDF_RUNTIME): the set-up
    builds its own where every uid can read them.
    """
    if readable_by_others(path):
        return None
    return (
        f"the {who}'s user cannot read {path}: a folder above it is private (in /root or a "
        "mktemp -d folder, say); move it where other users can enter, or chmod o+x its parents"
    )


def repo_paths(repo: Path) -> list[Path]:
    """What of a checkout the per-slot uid must not read: everything but the .venv link.

    The reference, the hidden graders, the instructor notebook and the example answers
    all live there, and so does git's history of them (a worktree's is elsewhere).
    The venv stays reachable: the grader runs from it.
    """
    paths = [p for p in sorted(repo.iterdir()) if p.name != ".venv" and not p.is_symlink()]
    git = repo / ".git"
    if git.is_file():  # a worktree: "gitdir: <common>/worktrees/<name>"
        gitdir = Path(git.read_text().partition(":")[2].strip())
        if gitdir.parent.name == "worktrees":
            paths.append(gitdir.parent.parent)
    return paths


def exposed(paths: Iterable[Path]) -> list[Path]:
    """Those of ``paths`` a slot uid could read (:func:`readable_by_others`). Nothing changes.

    At the uid level nothing but file modes keeps the slot uids out, and grading never
    changes the modes of the instructor's files (a `chmod o-rwx` of a checkout outlives the
    run: TAs lose the README, and the next full-level grade cannot bind its templates). So
    the grading command refuses while one of these is exposed, and says what to do.
    """
    return [p for p in paths if p.exists() and not p.is_symlink() and readable_by_others(p)]


def protect(paths: Iterable[Path]) -> list[Path]:
    """Make each of ``paths`` unreadable to other uids (chmod o-rwx); the changed.

    Only for a copy this program unpacked for itself and will throw away (the Gradescope
    image's source folder), never for an instructor's checkout: see :func:`exposed`.
    """
    changed = []
    for path in exposed(paths):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        os.chmod(path, mode & ~0o007)
        changed.append(path)
    return changed
