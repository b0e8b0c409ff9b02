"""Integrations: run this assignment inside nbgrader and otter-grader courses, and on Gradescope.

Each module writes a ready-to-use folder (or zip) from the single source,
``solutions/hw2_instructor.ipynb``, called by a command of ``hw2`` (autograder.cli)::

    hw2 nbgrader-course DEST      # an nbgrader course folder
    hw2 otter DEST                # an otter-assign master notebook
    hw2 gradescope OUT_DIR        # OUT_DIR/autograder.zip

The hidden graders stay the single source: the otter export replays them
(``otter_replay``) and the nbgrader course imports their results into its gradebook.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def venv_env(extra_path: Path | None = None) -> dict[str, str]:
    """The environment for running the venv's command-line tools (nbgrader, otter).

    nbgrader's ``generate_assignment`` runs ``alembic`` from PATH, so the venv's bin/
    (the folder of the running interpreter) goes first.
    """
    env = dict(os.environ)
    bins = [str(Path(sys.executable).parent)]
    if extra_path:
        bins.insert(0, str(extra_path))
    env["PATH"] = os.pathsep.join([*bins, env.get("PATH", "")])
    return env
