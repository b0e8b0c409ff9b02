from tests.hostile import Case, callers

# A daemon that waits for the next fork from the slot's warm process (the restart after
# sigmoid_grad kills the worker, as the next student's would be) and kills every process
# that appears after it. A naive warm sandbox, whose children share a pid namespace and
# outlive their submission, loses the restarted notebook: every later function scores 0.
ATTACK = """
import os, signal, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        _seen = {int(p) for p in os.listdir("/proc") if p.isdigit()}
        _end = time.monotonic() + 60
        while time.monotonic() < _end:
            for _p in os.listdir("/proc"):
                if _p.isdigit() and int(_p) not in _seen:
                    _seen.add(int(_p))
                    try:
                        os.kill(int(_p), signal.SIGKILL)
                    except OSError:
                        pass
            time.sleep(0.002)
    os._exit(0)
time.sleep(0.2)
"""

CASE = Case(
    doc="a daemon left waiting for the next fork from the warm process, to kill it",
    extra=(ATTACK,),
    overrides={"sigmoid_grad": "def sigmoid_grad(z):\n    import os\n    os._exit(0)\n"},
    zero=frozenset({"sigmoid_grad"}),
    hurt=callers("sigmoid_grad"),
)
