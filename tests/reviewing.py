"""`review` as the hostile tests drive it: bounded, and the answer part of an item page."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def review_export_bounded(out: Path, timeout: float = 120, memory: int = 2 << 30) -> None:
    """`review OUT --export` in a child with a memory cap and a time limit: a reader that
    follows /dev/zero dies of MemoryError, one that opens a FIFO hangs until killed."""

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    try:
        p = subprocess.run([sys.executable, "-m", "autograder", "review", str(out), "--export"],
                           cwd=REPO, capture_output=True, text=True, timeout=timeout,
                           preexec_fn=cap)  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"`review --export` still running after {timeout} s (a FIFO opened?)")
    assert p.returncode == 0, p.stderr[-3000:]


def answer_section(page: str) -> str:
    """The part of an item page that shows the student's answer (not the model answer)."""
    return page.split('<section class="answer">', 1)[1].split("</section>", 1)[0]
