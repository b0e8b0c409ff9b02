"""`review` as the hostile tests drive it: the real server and `--export`, each in a child
with a memory cap and a time limit, and the answer part of an item page."""

from __future__ import annotations

import re
import resource
import select
import subprocess
import sys
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import HTTPCookieProcessor, build_opener

import pytest

from tests.conftest import REPO


def _cap(memory: int):
    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return cap


def review_export_bounded(out: Path, timeout: float = 120, memory: int = 2 << 30) -> None:
    """`review OUT --export` in a child with a memory cap and a time limit: a reader that
    follows /dev/zero dies of MemoryError, one that opens a FIFO hangs until killed."""

    try:
        p = subprocess.run([sys.executable, "-m", "autograder", "review", str(out), "--export"],
                           cwd=REPO, capture_output=True, text=True, timeout=timeout,
                           preexec_fn=_cap(memory))  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"`review --export` still running after {timeout} s (a FIFO opened?)")
    assert p.returncode == 0, p.stderr[-3000:]


def answer_section(page: str) -> str:
    """The part of an item page that shows the student's answer (not the model answer)."""
    return page.split('<section class="answer">', 1)[1].split("</section>", 1)[0]


class ReviewServer:
    """`review OUT --port 0`, signed in: it must print its URL within ``timeout`` s under a
    memory cap (reading /dev/zero killed it with MemoryError; opening a FIFO hung it)."""

    def __init__(self, out: Path, timeout: float = 120, memory: int = 2 << 30) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder", "review", str(out), "--port", "0"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=_cap(memory),
        )  # fmt: skip
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        m = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
        if m is None:
            self.close()
            pytest.fail(f"`review` printed no URL within {timeout} s: "
                        f"{self.proc.stderr.read()[-3000:]}")  # fmt: skip
        self.base = m.group(1)
        self.opener = build_opener(HTTPCookieProcessor())
        self.get(f"/?token={m.group(2)}")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=60) as r:
                return r.status, r.read().decode()
        except HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=20)
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()
