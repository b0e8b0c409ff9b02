from tests.hostile import Case

# Every python process this one descends from, as far as it can see: a naive warm process
# (its parent, same uid, dumpable) would be attached to and written through /proc/<pid>/mem.
ATTACK = """
import ctypes, os
_libc = ctypes.CDLL(None, use_errno=True)
_pwned = []
_pid, _seen = os.getppid(), set()
while _pid > 0 and _pid not in _seen:
    _seen.add(_pid)
    try:
        _python = b"python" in open(f"/proc/{_pid}/cmdline", "rb").read()
    except OSError:
        _python = False
    # A warm parent is a python process (bwrap's own pid 1, above a cold worker, is not).
    if _python and _libc.ptrace(0x4206, _pid, None, None) == 0:  # PTRACE_SEIZE: no stop
        _pwned.append(("ptrace", _pid))
        _libc.ptrace(17, _pid, None, None)  # PTRACE_DETACH
    try:
        if _python:
            with open(f"/proc/{_pid}/mem", "r+b", buffering=0):
                _pwned.append(("mem", _pid))
    except OSError:
        pass
    try:
        _pid = int(open(f"/proc/{_pid}/status").read().split("PPid:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        break
if _pwned:
    os._exit(3)  # shown: the whole notebook fails, and the case with it
"""

CASE = Case(
    doc="ptrace and /proc/<pid>/mem of the process it was forked from (a warm parent)",
    extra=(ATTACK,),
)
