from autograder.rubric import load_rubric
from tests.hostile import ALL, Case

CASE = Case(
    doc="every function kills the process: the restarts run out, and the message says so",
    overrides={
        i.id: f"def {i.id}(*args, **kwargs):\n    import os\n    os._exit(1)\n"
        for i in load_rubric().auto
    },
    zero=ALL,
    message="could not be called: the sandbox was already restarted",
)
