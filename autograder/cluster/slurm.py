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
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder import REPO_DIR

if TYPE_CHECKING:
    from autograder.cluster.client import ClusterOptions


def slurm_logs() -> Path:
    """Where the jobs' logs go: out/slurm-logs in this checkout, or, where its path has white
    space, the temporary folder (which every node has)."""
    logs = REPO_DIR / "out" / "slurm-logs"
    return Path(tempfile.gettempdir()) if any(c.isspace() for c in str(logs)) else logs


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
    # dask-jobqueue writes both into the job script as they are: the Python into a bash
    # command line (so quoted), the log folder into #SBATCH -e/-o, which sbatch splits at
    # white space.
    logs = slurm_logs()
    if logs.parent.parent != REPO_DIR:
        print(f"cluster: Slurm's job logs go to {logs} (this checkout's path has white "
              "space, which #SBATCH cannot take)", file=sys.stderr)  # fmt: skip
    cluster = SLURMCluster(
        queue=options.slurm_queue,
        walltime=options.slurm_walltime,
        cores=1,
        processes=1,
        memory=f"{options.slurm_memory_mb}MB",
        python=shlex.quote(sys.executable),
        job_name="hw2-grade",
        job_script_prologue=prologue,
        worker_extra_args=["--preload", "autograder.cluster.preload"],
        scheduler_options=scheduler_options,
        security=security,
        protocol="tls://" if security is not None else "tcp://",
        # The jobs already read this checkout (PYTHONPATH), so they can write beside it;
        # out/ is ignored by git.
        log_directory=str(logs),
    )
    try:
        cluster.scale(options.workers)
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster.close()
