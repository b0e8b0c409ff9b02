"""The warm process of one sandbox slot: it imports once what every submission imports, then
forks one confined child per submission. Shipped into the sandbox beside worker.py.

Started by :mod:`autograder.run.warm` (which states the threat model) with the fd of a
control socket (argv[1]) and the level (argv[2]). It runs no student code, ever: it
imports numpy and matplotlib (Agg), says it is ready, then answers fork requests. A
request carries the submission's three fds (request pipe, reply pipe, a "go" socket)
and the confinement of the child as JSON. Per request the process tree is

    zygote ── C (trusted: reports itself on "go", waits for the grader's "g")
                └─ full, rootless: I = pid 1 of a fresh pid namespace ── W (student)
                   uid:            W (drops to the slot uid)

C tells the grader its exit status on "go" and is the only process the zygote ever
waits for (SIGCHLD is ignored: the kernel reaps C). Everything below C is discarded
with the submission. Only the standard library, numpy and matplotlib are used here.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import struct
import sys

libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
RLIMITS = {"as": "RLIMIT_AS", "fsize": "RLIMIT_FSIZE", "nofile": "RLIMIT_NOFILE",
           "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "nproc": "RLIMIT_NPROC"}  # fmt: skip
MAX_FDS = 3


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _prctl(option: int, arg: int = 0) -> None:
    _check(libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl {option}")


def _mount(src: str, target: str, fstype: str | None, flags: int, data: str | None = None):
    _check(
        libc.mount(src.encode(), target.encode(), fstype.encode() if fstype else None,
                   ctypes.c_ulong(flags), data.encode() if data else None),
        f"mount {target}",
    )  # fmt: skip


def _drop_capabilities() -> None:
    """No capability left in any set, none to regain (bounding set empty, no new privileges)."""
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break  # EINVAL: past the last capability this kernel knows
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    header = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = ctypes.create_string_buffer(24)  # two all-zero __user_cap_data_struct
    _check(libc.capset(header, data), "capset")
    status = open("/proc/self/status").read()
    for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        value = status.split(f"{key}:", 1)[1].split()[0]
        if int(value, 16):
            raise OSError(f"{key} is {value} after dropping capabilities")


def _set_limits(limits: dict) -> None:
    import resource

    for key, value in limits.items():
        which = getattr(resource, RLIMITS[key])
        resource.setrlimit(which, (value, value))


def _shared_writable_mappings() -> list[str]:
    """Writable MAP_SHARED mappings would be memory every child shares with this process."""
    found = []
    for line in open("/proc/self/maps"):
        perms = line.split()[1]
        if "w" in perms and "s" in perms:
            found.append(line.strip())
    return found


def _close_all_but(keep: set[int]) -> None:
    """Close every fd above stdio (/dev/null) except ``keep``."""
    low = 3
    for fd in [*sorted(k for k in keep if k >= 3), 1 << 16]:
        os.closerange(low, fd)
        low = fd + 1


def _new_namespaces() -> None:
    """C, full and rootless: fresh pid, mount, ipc, uts, net and cgroup namespaces (the
    zygote's user namespace, where C still holds capabilities until I drops them)."""
    _check(
        libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET
                     | CLONE_NEWCGROUP),
        "unshare",
    )  # fmt: skip


def _fresh_mounts(spec: dict) -> None:
    """I (pid 1 of the new pid namespace): its own /proc, /tmp and /dev/shm, as bwrap makes
    them for a cold sandbox; the zygote's are hidden underneath and cannot be unmounted."""
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for name in ("sys", "sysrq-trigger", "irq", "bus"):  # read-only, as bwrap leaves them
        path = f"/proc/{name}"
        if os.path.exists(path):
            _mount(path, path, None, MS_BIND | MS_REC)
            _mount(path, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={spec['tmp_bytes']},mode=0755")
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={spec['shm_bytes']},mode=0755")  # fmt: skip
    os.mkdir("/tmp/mpl", 0o755)
    # bwrap brings the loopback interface of a new network namespace up; so do we.
    import fcntl

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", 0x1 | 0x8 | 0x40))  # SIOCSIFFLAGS


def _drop_uid(uid: int) -> None:
    """C's child at the uid level: the slot uid, no groups, no new privileges."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def _wait_for(pid: int, *, reap_all: bool) -> int:
    """Wait for ``pid`` (reaping orphans too, as pid 1 must); its exit code, 128+n for signal n."""
    while True:
        try:
            got, status = os.wait() if reap_all else os.waitpid(pid, 0)
        except ChildProcessError:
            return 255
        except InterruptedError:
            continue
        if got == pid:
            return _exit_code(status)


def _worker(req: int, reply: int, spec: dict) -> None:
    """W: the student's process, the same as a cold worker from here on."""
    import numpy as np

    _close_all_but({req, reply})
    _prctl(PR_SET_DUMPABLE, 1)  # as a freshly started worker is (the zygote is not)
    os.environ.clear()
    os.environ.update(spec["env"])
    os.chdir(spec["cwd"])
    sys.argv = [spec["argv0"], str(req), str(reply)]
    np.random.seed()  # a cold worker's global generator is seeded afresh at import
    import worker

    try:
        worker.main(req, reply)
    finally:
        os._exit(0)


def _child(req: int, reply: int, go: int, spec: dict) -> None:
    """C: confine, then start the student's process; report its exit status on ``go``."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # ignored (inherited) would break waitpid
    os.setsid()
    _close_all_but({req, reply, go})
    gosock = socket.socket(fileno=go)
    gosock.sendall(b"c")  # the grader reads C's pid off this (SO_PASSCRED) and moves C …
    if gosock.recv(1) != b"g":  # … into the submission's cgroup before saying go
        os._exit(1)
    if spec["namespaces"]:
        _new_namespaces()
    pid = os.fork()
    if pid == 0:
        try:
            gosock.close()
            if spec["namespaces"]:
                _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                _fresh_mounts(spec)
                _set_limits(spec["limits"])
                _drop_capabilities()
                # pid 1 gets only the signals it handles: none, like bwrap's pid 1.
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                w = os.fork()
                if w == 0:
                    _worker(req, reply, spec)
                _close_all_but(set())
                os._exit(_wait_for(w, reap_all=True))
            _set_limits(spec["limits"])
            _drop_uid(spec["uid"])
            _worker(req, reply, spec)
        except BaseException:
            os._exit(125)
    os.close(req)
    os.close(reply)
    code = _wait_for(pid, reap_all=False)
    try:
        gosock.sendall(json.dumps({"status": code}).encode())
    finally:
        os._exit(0)


def _serve(ctl: socket.socket) -> None:
    while True:
        try:
            msg, ancdata, _, _ = ctl.recvmsg(1 << 16, socket.CMSG_SPACE(MAX_FDS * 4))
        except InterruptedError:
            continue
        if not msg:
            return  # the grader closed its end: this slot is done
        fds: list[int] = []
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds += list(struct.unpack(f"{len(data) // 4}i", data[: len(data) // 4 * 4]))
        try:
            if len(fds) != 3:
                continue
            spec = json.loads(msg)
            if os.fork() == 0:
                try:
                    ctl.close()
                    _child(*fds, spec)
                finally:
                    os._exit(124)
        finally:
            for fd in fds:
                os.close(fd)


def main() -> None:
    ctl_fd, level = int(sys.argv[1]), sys.argv[2]
    _prctl(PR_SET_DUMPABLE, 0)  # not ptrace-able, its /proc files not readable by its uid
    if level == "uid":  # root here, outside any namespace: go when the grader goes
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # C is reaped by the kernel
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot
    import numpy  # noqa: F401
    import worker  # noqa: F401  (and with it wire and objective)

    ctl = socket.socket(fileno=ctl_fd)
    shared = _shared_writable_mappings()
    ctl.sendall(json.dumps({"ready": not shared, "shared": shared[:3]}).encode())
    if shared:
        os._exit(3)
    _serve(ctl)
    os._exit(0)


if __name__ == "__main__":
    main()
