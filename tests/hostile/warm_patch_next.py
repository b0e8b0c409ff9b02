from tests.hostile import Case, callers

# Run at every start of the notebook: a restart (sigmoid_grad kills the process) is the
# next fork from the slot's warm process, as the next student's is. If anything this
# notebook left is still there, the notebook refuses to run and every later function
# scores 0: builtins, numpy, sys.modules, the environment, an open fd, files in /tmp and
# /dev/shm.
ATTACK = """
import builtins, os, sys
import numpy
_left = [
    getattr(builtins, "_hw2_planted", False),
    getattr(numpy, "_hw2_planted", False),
    "hw2_planted_module" in sys.modules,
    os.environ.get("HW2_PLANTED") == "1",
    os.path.exists("/tmp/hw2_planted") or os.path.exists("/dev/shm/hw2_planted"),
]
try:
    os.fstat(200)
    _left.append(True)
except OSError:
    pass
if any(_left):
    os._exit(3)
builtins._hw2_planted = True
numpy._hw2_planted = True
numpy.allclose = lambda *a, **k: True
builtins.len = lambda x: 0 if getattr(x, "_hw2", False) else type(x).__len__(x)
sys.modules["hw2_planted_module"] = numpy
os.environ["HW2_PLANTED"] = "1"
for _path in ("/tmp/hw2_planted", "/dev/shm/hw2_planted"):
    try:
        open(_path, "w").write("x")
    except OSError:
        pass
os.dup2(os.open("/dev/null", os.O_RDONLY), 200)
"""

CASE = Case(
    doc="numpy, builtins, sys.modules, environment, fds and files patched for the next fork",
    extra=(ATTACK,),
    overrides={"sigmoid_grad": "def sigmoid_grad(z):\n    import os\n    os._exit(0)\n"},
    zero=frozenset({"sigmoid_grad"}),
    hurt=callers("sigmoid_grad"),
)
