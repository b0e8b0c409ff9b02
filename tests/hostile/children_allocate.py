from tests.hostile import Case

CASE = Case(
    doc="8 children that each touch 1.5 GiB (RLIMIT_AS is per process: 12 GiB in all)",
    extra=(
        """
import os, signal, time
import numpy as np
children = []
for _ in range(8):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        try:
            a = np.ones((3 << 30) // 16)  # 1.5 GiB, every page touched
            time.sleep(30)
        finally:
            os._exit(0)
    children.append(pid)
time.sleep(2)
for pid in children:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass
""",
    ),
)
