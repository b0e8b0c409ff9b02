"""Resume: a rerun reuses a submission's result when nothing that decides it changed.

The key of a result hashes the notebook's bytes together with everything on the
trusted side that can change a score: the hidden graders, the checks, the
sandbox and worker code, the reference solution, the rubric and the limits.
Edit any of them and every submission is regraded; ``--force`` regrades anyway.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from autograder import PACKAGE_DIR, REFERENCE_PY
from autograder.files import write_atomic
from autograder.grade.outcome import SubmissionResult
from autograder.run.sandbox import Limits
from autograder.submissions import Submission, UnreadableNotebook, read_submission

_DECIDING = [
    *sorted((PACKAGE_DIR / "graders").glob("*.py")),
    *sorted((PACKAGE_DIR / "grade").glob("*.py")),
    *sorted((PACKAGE_DIR / "run").glob("*.py")),
    PACKAGE_DIR / "rubric.toml",
    REFERENCE_PY,
]


def grader_fingerprint(limits: Limits, unsafe: bool, level: str = "") -> str:
    h = hashlib.sha256()
    for path in _DECIDING:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(repr((limits, unsafe, level)).encode())
    return h.hexdigest()


def submission_key(sub: Submission, fingerprint: str) -> str:
    """Hash the bytes as read for grading: links not followed, size checked before reading."""
    h = hashlib.sha256(fingerprint.encode())
    try:
        h.update(read_submission(sub))
    except UnreadableNotebook as exc:
        h.update(b"<unreadable>" + str(exc).encode())
    return h.hexdigest()


class ResultCache:
    """OUT/.state/<student>.json: the key and the full result of the last grading."""

    def __init__(self, out: Path) -> None:
        self.dir = out / ".state"

    def get(self, student: str, key: str) -> SubmissionResult | None:
        try:
            data = json.loads((self.dir / f"{student}.json").read_text())
            if data.get("key") != key:
                return None
            return SubmissionResult.from_json(data["result"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # missing or damaged (even valid JSON of another shape): grade again

    def others(self, students: set[str]) -> list[SubmissionResult]:
        """The stored results of students not in ``students`` (graded by an earlier run)."""
        kept = []
        for path in sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []:
            if path.stem in students:
                continue
            try:
                kept.append(SubmissionResult.from_json(json.loads(path.read_text())["result"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # damaged: nothing to keep
        return [r for r in kept if r.student not in students]

    def put(self, student: str, key: str, result: SubmissionResult) -> None:
        data = {"key": key, "result": result.to_json()}
        write_atomic(self.dir / f"{student}.json", json.dumps(data, sort_keys=True))
