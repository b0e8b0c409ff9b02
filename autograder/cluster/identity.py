"""What a worker must share with the client before it grades: versions and isolation.

The engine hash covers every source file of the autograder package except the hidden
graders; the assignment hash covers what decides a score for this assignment: the
rubric, the reference solution and the hidden graders. Two processes with equal hashes
grade a notebook identically (same code, same answers, same weights).
"""

from __future__ import annotations

import hashlib
import platform
from pathlib import Path

from autograder import PACKAGE_DIR, REFERENCE_PY
from autograder.run.isolation import Level

# Lowest first: `--min-isolation X` accepts X and every level after it.
ORDER = (Level.NONE, Level.UID, Level.ROOTLESS, Level.FULL)
GRADERS = PACKAGE_DIR / "graders"


def _hash(paths: list[Path], base: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.relative_to(base).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def engine_hash() -> str:
    """The autograder's own files (code, templates), outside graders/."""
    files = [p for p in PACKAGE_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    files = [p for p in files if GRADERS not in p.parents and p.suffix != ".pyc"]
    return _hash(sorted(files), PACKAGE_DIR.parent)


def assignment_hash() -> str:
    """The rubric, the reference solution and the hidden graders."""
    files = [PACKAGE_DIR / "rubric.toml", REFERENCE_PY, *sorted(GRADERS.glob("*.py"))]
    files += [GRADERS / "pytest.ini"] if (GRADERS / "pytest.ini").exists() else []
    return _hash(files, PACKAGE_DIR.parent)


def versions() -> dict[str, str]:
    """The facts that must be equal on the client and a worker."""
    return {
        "engine": engine_hash(),
        "assignment": assignment_hash(),
        "python": platform.python_version(),
    }


def difference(mine: dict[str, str], theirs: dict[str, str]) -> str:
    """'' when equal, else the first differing fact in a few words."""
    for key, value in mine.items():
        other = theirs.get(key)
        if other != value:
            return f"its {key} version is {other or '(none)'}, the client's is {value}"
    return ""


def at_least(level: str, minimum: Level) -> bool:
    """Whether ``level`` (a Level's value) is ``minimum`` or stronger."""
    try:
        return ORDER.index(Level(level)) >= ORDER.index(minimum)
    except ValueError:
        return False


def lowest(levels: list[str]) -> Level:
    return min((Level(v) for v in levels), key=ORDER.index)
