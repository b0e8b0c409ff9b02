from autograder.rubric import load_rubric
from tests.hostile import Case

CASE = Case(
    doc="34 × 60 MB in HOME, TMPDIR and the working folder (at the uid level: the slot's "
    "own folder, outside the world-writable ones)",
    extra=(
        """
import os, tempfile
chunk = b"x" * (1 << 20)
for folder in {os.getcwd(), os.environ.get("HOME", "/tmp"), tempfile.gettempdir()}:
    for n in range(34):
        try:
            with open(os.path.join(folder, f"home-{n}.bin"), "wb") as f:
                for _ in range(60):
                    f.write(chunk)
        except OSError:
            break
""",
    ),
    at={
        "uid": {
            "hurt": frozenset(i.id for i in load_rubric().auto),
            "why": "the slot folder is on the host's disk: the watchdog counts it with the "
            "world-writable folders; when it trips the notebook stops, and what it has not "
            "defined by then scores 0",
        }
    },
)
