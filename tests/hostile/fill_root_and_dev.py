from autograder.rubric import load_rubric
from tests.hostile import Case

CASE = Case(
    doc="files on every writable-looking place: /, /dev, /dev/shm, /tmp, /var/tmp, 3 GiB each",
    extra=(
        """
import os
chunk = b"x" * (1 << 20)
for folder in ("/", "/dev", "/dev/shm", "/tmp", "/var/tmp", os.path.expanduser("~")):
    for n in range(48):  # 48 files of up to 64 MiB: 3 GiB per folder, if nothing stops it
        try:
            with open(os.path.join(folder, f"fill-{n}.bin"), "wb") as f:
                for _ in range(64):
                    f.write(chunk)
        except OSError:
            break
""",
    ),
    at={
        "uid": {
            "hurt": frozenset(i.id for i in load_rubric().auto),
            "why": "no mount namespace: /dev/shm and /tmp are the host's. The cgroup (or the "
            "process cap) keeps the whole under --memory; when it is reached the notebook "
            "stops, and what it has not defined by then scores 0",
        }
    },
)
