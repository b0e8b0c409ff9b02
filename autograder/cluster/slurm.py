"""Workers as Slurm batch jobs, through dask-jobqueue's ``SLURMCluster``.

The scheduler runs in this process; each job runs one ``dask worker`` with the hw2
preload (one task at a time, one sandbox slot), from this checkout's Python and code.
Without TLS the scheduler listens on 127.0.0.1 only, so the jobs must run on this
node (a one-node cluster, or an interactive allocation); across nodes, configure TLS.
The jobs' own logs go to out/slurm-logs/ in this checkout.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from autograder import REPO_DIR

if TYPE_CHECKING:
    from autograder.cluster.client import ClusterOptions


@contextlib.contextmanager
def start_slurm(options: ClusterOptions, security: Any) -> Iterator[Any]:
    from dask_jobqueue import SLURMCluster

    from autograder.cluster.client import ClusterError

    if shutil.which("sbatch") is None:
        raise ClusterError("--cluster slurm: sbatch not found (is this a Slurm login node?)")
    scheduler_options: dict[str, Any] = {"host": "127.0.0.1"} if security is None else {}
    prologue = [f"export PYTHONPATH={shlex.quote(str(REPO_DIR))}"]
    if os.environ.get("SLURM_CONF"):
        prologue.append(f"export SLURM_CONF={shlex.quote(os.environ['SLURM_CONF'])}")
    cluster = SLURMCluster(
        queue=options.slurm_queue,
        walltime=options.slurm_walltime,
        cores=1,
        processes=1,
        memory=f"{options.slurm_memory_mb}MB",
        python=sys.executable,
        job_name="hw2-grade",
        job_script_prologue=prologue,
        worker_extra_args=["--preload", "autograder.cluster.preload"],
        scheduler_options=scheduler_options,
        security=security,
        protocol="tls://" if security is not None else "tcp://",
        # The jobs already read this checkout (PYTHONPATH), so they can write beside it;
        # out/ is ignored by git.
        log_directory=str(REPO_DIR / "out" / "slurm-logs"),
    )
    try:
        cluster.scale(options.workers)
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.close()
