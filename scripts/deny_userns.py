#!/usr/bin/env python3
"""Run a command with namespace creation denied, the way Docker's default seccomp profile does.

    python3 scripts/deny_userns.py COMMAND [ARG...]

Installs a seccomp filter on this process only (inherited by COMMAND and everything
it starts), then execs COMMAND. Under the filter:

- ``unshare`` and ``clone`` with any namespace flag (CLONE_NEWNS, NEWCGROUP, NEWUTS,
  NEWIPC, NEWUSER, NEWPID, NEWNET: the mask 0x7E020000) fail with EPERM;
- ``clone3`` fails with ENOSYS (its flags sit in memory a filter cannot read), so
  the C library falls back to ``clone``, as under Docker.

Nothing global changes: no sysctl, no file. This is how the test suite reproduces a
Gradescope or CI container (bubblewrap then fails with "Operation not permitted") on
a machine where user namespaces work.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
import sys

NAMESPACE_FLAGS = 0x7E020000
# (audit arch, unshare, clone, clone3) per machine.
SYSCALLS = {
    "x86_64": (0xC000003E, 272, 56, 435),
    "aarch64": (0xC00000B7, 97, 220, 435),
}
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
LD_W_ABS, JEQ_K, JSET_K, RET_K = 0x20, 0x15, 0x45, 0x06
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def program() -> bytes:
    """The BPF program (struct sock_filter[]) for this machine."""
    try:
        arch, unshare, clone, clone3 = SYSCALLS[platform.machine()]
    except KeyError:
        sys.exit(f"deny_userns: unsupported machine {platform.machine()}")
    return b"".join([
        _insn(LD_W_ABS, 0, 0, 4),  # 0: A = seccomp_data.arch
        _insn(JEQ_K, 1, 0, arch),  # 1: native calls only
        _insn(RET_K, 0, 0, RET_ERRNO | errno.EPERM),  # 2: other ABIs (x32, i386): refused
        _insn(LD_W_ABS, 0, 0, 0),  # 3: A = seccomp_data.nr
        _insn(JEQ_K, 3, 0, unshare),  # 4: → 8
        _insn(JEQ_K, 2, 0, clone),  # 5: → 8
        _insn(JEQ_K, 4, 0, clone3),  # 6: → 11
        _insn(RET_K, 0, 0, RET_ALLOW),  # 7
        _insn(LD_W_ABS, 0, 0, 16),  # 8: A = low 32 bits of args[0] (the flags)
        _insn(JSET_K, 0, 2, NAMESPACE_FLAGS),  # 9: any namespace flag → 10, else → 12
        _insn(RET_K, 0, 0, RET_ERRNO | errno.EPERM),  # 10
        _insn(RET_K, 0, 0, RET_ERRNO | errno.ENOSYS),  # 11: clone3
        _insn(RET_K, 0, 0, RET_ALLOW),  # 12
    ])  # fmt: skip


def install() -> None:
    """Install the filter on the calling process (and so on all it will start)."""
    code = program()
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("HxxxxxxP", len(code) // 8, ctypes.addressof(buf))
    fprog_buf = ctypes.create_string_buffer(fprog, len(fprog))
    if os.geteuid() != 0 and libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        sys.exit(f"deny_userns: no_new_privs: {os.strerror(ctypes.get_errno())}")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, fprog_buf, 0, 0) != 0:
        sys.exit(f"deny_userns: seccomp: {os.strerror(ctypes.get_errno())}")


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit(__doc__)
    install()
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
