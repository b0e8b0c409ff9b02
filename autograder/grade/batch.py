"""Grades many submissions across ``jobs`` worker processes, one sandbox slot each.

Submissions are cut into small chunks handed out dynamically, so one slow
submission does not hold back a whole shard. Each worker process runs one
pytest session per chunk. If a worker process itself dies, its chunk is
retried one submission at a time in a fresh pool; a submission that still
fails gets a row saying so. No submission is ever dropped.
"""

from __future__ import annotations

import math
import multiprocessing as mp
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from autograder.grade.outcome import SubmissionResult
from autograder.run.sandbox import Limits, acquire_slot
from autograder.submissions import Submission

_slot = 0
CHUNK_MAX = 4
# Imported once in the forkserver, so each worker (and each retry pool) starts warm.
_PRELOAD = ["autograder.grade.session"]


def _init_worker() -> None:
    global _slot
    _die_with_parent()
    _slot = acquire_slot()
    # A pool's worker ends with os._exit: atexit would not stop the slot's warm process, and
    # the next holder of the slot would find it still dying.
    from multiprocessing.util import Finalize

    from autograder.run import warm

    Finalize(None, warm.stop_all, exitpriority=10)


def _die_with_parent() -> None:
    # If the grading command is killed, its workers (and so their sandboxes) go too,
    # instead of finishing a chunk nobody will read.
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _grade(chunk: list[Submission], runtime: Path, limits: Limits, unsafe: bool):
    from autograder.grade.session import grade_chunk

    return grade_chunk(chunk, runtime=runtime, slot=_slot, limits=limits, unsafe=unsafe)


def grade_all(
    subs: list[Submission],
    *,
    runtime: Path,
    jobs: int,
    limits: Limits,
    unsafe: bool,
    on_result: Callable[[SubmissionResult], None] = lambda r: None,
) -> list[SubmissionResult]:
    """Grade ``subs``; ``on_result`` is called in this process as each result arrives."""
    jobs = max(1, min(jobs, len(subs)))
    # A chunk costs one pytest session (~30 ms); a small chunk keeps the workers evenly
    # loaded at the end of a run (the last chunk can otherwise idle a worker for seconds).
    size = max(1, min(CHUNK_MAX, math.ceil(len(subs) / (jobs * 8))))
    pending = [subs[i : i + size] for i in range(0, len(subs), size)]
    results: dict[str, SubmissionResult] = {}
    retry_single = False
    while pending:
        failed: list[list[Submission]] = []
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker) as pool:
            futures = {pool.submit(_grade, c, runtime, limits, unsafe): c for c in pending}
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in done:
                    chunk = futures.pop(fut)
                    try:
                        chunk_results = fut.result()
                    except BrokenProcessPool:
                        failed.append(chunk)
                        continue
                    except Exception as exc:  # a bug in the grader: say so in the rows
                        chunk_results = [
                            SubmissionResult(s.student, str(s.path), "failed",
                                             reason=f"internal grader error: {type(exc).__name__}",
                                             unsafe=unsafe)
                            for s in chunk
                        ]  # fmt: skip
                    for r in chunk_results:
                        results[r.student] = r
                        on_result(r)
        if not failed:
            break
        if retry_single:
            for chunk in failed:
                for s in chunk:
                    r = SubmissionResult(s.student, str(s.path), "failed",
                                         reason="the grading process crashed on this submission",
                                         unsafe=unsafe)  # fmt: skip
                    results[s.student] = r
                    on_result(r)
            break
        pending = [[s] for chunk in failed for s in chunk]
        retry_single = True
    return [results[s.student] for s in subs]
