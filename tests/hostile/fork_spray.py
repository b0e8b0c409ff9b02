from tests.hostile import Case

CASE = Case(
    doc="a spray of 60 sleeping processes, then a classic fork bomb",
    extra=(
        """
import os, time
for _ in range(60):
    try:
        if os.fork() == 0:
            time.sleep(3600)
            os._exit(0)
    except OSError:
        break
""",
        """
import os
def bomb():
    while True:
        try:
            os.fork()
        except OSError:
            return
pid = os.fork()
if pid == 0:
    bomb()
    os._exit(0)
""",
    ),
)
