from autograder.rubric import load_rubric
from tests.hostile import Case

CASE = Case(
    doc="3 × 400 MB of System V shared memory, touched and detached: no process holds it",
    extra=(
        """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
for _ in range(3):
    shmid = libc.shmget(0, 400 << 20, 0o1000 | 0o600)
    if shmid < 0:
        break
    addr = libc.shmat(shmid, None, 0)
    if addr in (None, ctypes.c_void_p(-1).value):
        break
    ctypes.memset(addr, 1, 400 << 20)
    libc.shmdt(addr)
""",
    ),
    at={
        "uid": {
            "hurt": frozenset(i.id for i in load_rubric().auto),
            "why": "no IPC namespace: the segments are the host's. The watchdog counts them with "
            "the slot's files against the same budget; when it trips the notebook stops, and "
            "what it has not defined by then scores 0",
        }
    },
)
