from tests.hostile import Case, callers

# Aimed at the warm process: any socket this process holds could be its control channel,
# so each is flooded with fork requests carrying descriptors (a naive warm process whose
# children keep that socket forks and leaks for them: the notebook then refuses to run).
# Then memory and descriptors are taken up to the caps and let go, and sigmoid_grad kills
# the worker: the restart is the next fork, and must find the warm process unharmed.
ATTACK = """
import array, os, socket, stat
import numpy as np
_reached = []
for _fd in range(3, 1024):
    try:
        _st = os.fstat(_fd)
    except OSError:
        continue
    if stat.S_ISSOCK(_st.st_mode):
        _s = socket.socket(fileno=os.dup(_fd))
        _s.settimeout(0.5)
        for _ in range(100):
            try:
                _s.sendmsg([b'{"namespaces": false, "limits": {}}'],
                           [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [0, 1, 2]))])
            except OSError:
                break
            _reached.append(_fd)
_hog = []
try:
    for _ in range(24):  # up to 1.5 GiB, every page touched
        _hog.append(np.ones((64 << 20) // 8))
except MemoryError:
    pass
_hog = None
_fds = []
try:
    while True:
        _fds.append(os.open("/dev/null", os.O_RDONLY))
except OSError:
    pass
for _fd in _fds:
    os.close(_fd)
if _reached:
    os._exit(3)
"""

CASE = Case(
    doc="flooding any inherited socket with fork requests, and taking memory and descriptors",
    extra=(ATTACK,),
    overrides={"sigmoid_grad": "def sigmoid_grad(z):\n    import os\n    os._exit(0)\n"},
    zero=frozenset({"sigmoid_grad"}),
    hurt=callers("sigmoid_grad"),
)
