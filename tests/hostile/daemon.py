from tests.hostile import Case

CASE = Case(
    doc="a double-forked daemon that tries to outlive grading",
    extra=(
        """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for _ in range(3600):
            time.sleep(1)
    os._exit(0)
""",
    ),
)
