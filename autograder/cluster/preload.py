"""``dask worker ADDRESS --nthreads 1 --preload autograder.cluster.preload``: a worker
that can grade. Before it registers with the scheduler it checks the sandbox (it does
not start without one), claims a sandbox slot, and offers the Dask resources that name
its versions and isolation level; tasks ask for those, so no task reaches a worker
of another version or below the level the client requires.
"""

from __future__ import annotations

from typing import Any

from autograder.cluster import tasks


def dask_setup(worker: Any) -> None:
    if worker.state.nthreads != 1:
        # One sandbox slot per worker process: two tasks at once would share it.
        raise RuntimeError("a grading worker runs one task at a time: start it with --nthreads 1")
    try:
        offered = tasks.setup()
    except Exception as exc:
        # Dask starts the worker anyway: it then offers nothing, so it never gets a task,
        # and the client names the reason when it refuses it.
        tasks.failure = f"{type(exc).__name__}: {exc}"
        raise
    for name, quantity in offered.items():
        worker.state.total_resources[name] = quantity
        worker.state.available_resources[name] = quantity
