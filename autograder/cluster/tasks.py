"""What runs on a Dask worker: the same grading and PDF rendering as a local run.

A task receives plain data (a student id, notebook bytes, the limits as a dict) and
returns plain data (JSON text, PDF bytes): nothing it returns has behaviour, and the
client validates it before writing anything. A task may run twice (Dask runs a task
at least once), so it writes nothing outside its own temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.cluster.identity import ORDER, versions
from autograder.run.isolation import Level

UNSAFE_ENV = "HW2_WORKER_UNSAFE"  # `hw2 worker --unsafe-no-sandbox`: grade without isolation


@dataclass
class _Worker:
    level: Level
    slot: int
    versions: dict[str, str]


_worker: _Worker | None = None
failure = ""  # why the preload could not set this worker up (no sandbox, say)


def resource_name(version: dict[str, str], level: Level) -> str:
    """The Dask resource a worker with ``version`` at isolation ``level`` (or stronger)
    offers: a task asks for it, so the scheduler sends it only to matching workers."""
    return f"hw2-{version['engine']}-{version['assignment']}-{version['python']}-{level.value}"


def setup() -> dict[str, float]:
    """Detect this worker's isolation level and claim its sandbox slot, once per process.

    Returns the resources the worker offers: one per level it satisfies. Raises
    SandboxUnavailable (the worker does not start) when no level is available.
    """
    global _worker
    if _worker is None:
        from autograder.run.isolation import acquire_slot
        from autograder.run.sandbox import check_sandbox, default_runtime

        unsafe = os.environ.get(UNSAFE_ENV) == "1"
        level = check_sandbox(default_runtime(), unsafe=unsafe)
        _worker = _Worker(level, acquire_slot(), versions())
    w = _worker
    return {resource_name(w.versions, lv): 1 for lv in ORDER[: ORDER.index(w.level) + 1]}


def identity() -> dict[str, Any]:
    """What the client checks (run on every worker through ``Client.run``)."""
    if _worker is None:
        return {"versions": versions(), "isolation": "", "preload": False, "failure": failure}
    return {"versions": _worker.versions, "isolation": _worker.level.value, "preload": True}


def _worker_name() -> str:
    from distributed import get_worker

    try:
        return str(get_worker().name)
    except ValueError:
        return ""


def grade_bytes(items: list[tuple[str, bytes]], limits: dict[str, Any], unsafe: bool) -> str:
    """Grade notebooks given as (student, bytes) in one pytest session.

    Returns JSON text: ``{"worker", "isolation", "results": [SubmissionResult.to_json()]}``.
    """
    from autograder.grade.session import grade_chunk
    from autograder.run.sandbox import Limits, default_runtime
    from autograder.submissions import Submission

    if _worker is None:
        raise RuntimeError("this worker was not started with the hw2 preload")
    tmp = Path(tempfile.mkdtemp(prefix="hw2-cluster-"))
    try:
        subs = []
        for k, (student, data) in enumerate(items):
            folder = tmp / str(k)
            folder.mkdir()
            (folder / "submission.ipynb").write_bytes(data)
            subs.append(Submission(student, folder / "submission.ipynb", root=folder))
        results = grade_chunk(
            subs,
            runtime=default_runtime(),
            slot=_worker.slot,
            limits=Limits(**limits),
            unsafe=unsafe,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    for r in results:
        r.isolation = _worker.level.value
        rows.append(r.to_json())
    return json.dumps({"worker": _worker_name(), "isolation": _worker.level.value, "results": rows})


def render_pdf(result: dict[str, Any], notebook: bytes | None) -> tuple[str, bytes]:
    """The graded PDF of one result (its manual grades included), made here.

    Returns (JSON of the outcome without its path, the PDF's bytes or b"").
    """
    from autograder.grade.outcome import SubmissionResult
    from autograder.report.pdf import render_graded_pdf
    from autograder.rubric import load_rubric

    r = SubmissionResult.from_json(dict(result))
    tmp = Path(tempfile.mkdtemp(prefix="hw2-cluster-pdf-"))
    try:
        nb = tmp / "submission.ipynb"
        if notebook is not None:
            nb.write_bytes(notebook)
        dest = tmp / "graded.pdf"
        outcome = render_graded_pdf(r, load_rubric(), nb, dest)
        data = dest.read_bytes() if outcome.produced and dest.exists() else b""
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    fields = {
        "produced": outcome.produced and bool(data),
        "degraded": outcome.degraded,
        "reason": outcome.reason,
        "seconds": outcome.seconds,
    }
    return json.dumps(fields), data
