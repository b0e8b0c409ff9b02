"""Timing and memory of one command's whole process tree, plus the machine it ran on.

Memory is measured two ways, since psutil is not installed:
- ``largest_mib``: ``ru_maxrss`` from ``os.wait4``, which Linux reports as the
  largest single process among the command and every descendant it reaped;
- ``tree_mib``: /proc sampled every 0.2 s, summing the PSS (proportional set size,
  /proc/<pid>/smaps_rollup) of the command's live descendants. PSS splits each
  shared page between the processes sharing it, so a just-forked child does not
  count its parent's copy-on-write pages a second time (summed RSS did: a worker's
  fork for the next sandbox showed up as 76 MiB more). Processes of the sandbox
  uids (SANDBOX_UID_BASE and up) are counted apart, so the grader's own memory is not mixed with
  the student code it runs.
"""

from __future__ import annotations

import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.run.isolation import SANDBOX_UID_BASE

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Run:
    """One command: wall seconds, exit status and memory peaks (MiB)."""

    wall_s: float
    returncode: int
    largest_mib: float
    tree_mib: float  # peak summed PSS of the command's own (non-sandbox) processes
    sandbox_tree_mib: float  # peak summed PSS of its sandboxed processes
    timed_out: bool = False
    output_tail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Sampler:
    root: int
    peak: float = 0.0
    peak_sandbox: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.wait(0.2):
            own, sandbox = _tree_pss(self.root)
            self.peak, self.peak_sandbox = max(self.peak, own), max(self.peak_sandbox, sandbox)


def _pss_kib(pid: int, fallback_pages: int) -> float:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return fallback_pages * PAGE / 1024


def _tree_pss(root: int) -> tuple[float, float]:
    """(MiB of the tree's trusted processes, MiB of its sandboxed ones), right now."""
    children: dict[int, list[int]] = {}
    info: dict[int, tuple[int, int]] = {}  # pid → (rss pages, uid)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            uid = entry.stat().st_uid
        except (OSError, IndexError):
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)  # fields[1] is the ppid
        info[pid] = (int(fields[21]), uid)  # rss in pages
    own = sandbox = 0.0
    stack = [root]
    while stack:
        pid = stack.pop()
        rss, uid = info.get(pid, (0, 0))
        kib = _pss_kib(pid, rss) if pid in info else 0.0
        if uid >= SANDBOX_UID_BASE:
            sandbox += kib
        else:
            own += kib
        stack.extend(children.get(pid, []))
    return own / 1024, sandbox / 1024


def run(
    cmd: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 3600,
    quiet_output: bool = True,
) -> Run:
    """Run ``cmd`` to the end (or kill its process group after ``timeout`` s) and measure it."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if quiet_output else None,
        stderr=subprocess.STDOUT if quiet_output else None,
        start_new_session=True,  # so a timeout can kill everything it started
    )
    sampler = _Sampler(proc.pid)
    threading.Thread(target=sampler.run, daemon=True).start()
    tail = bytearray()

    def drain() -> None:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(65536):
            tail.extend(chunk)
            del tail[:-8192]

    drainer = threading.Thread(target=drain, daemon=True)
    if quiet_output:
        drainer.start()
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    timer.cancel()
    sampler.stop.set()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if quiet_output:
        drainer.join(timeout=5)
    return Run(
        wall_s=wall,
        returncode=proc.returncode,
        largest_mib=usage.ru_maxrss / 1024,
        tree_mib=sampler.peak,
        sandbox_tree_mib=sampler.peak_sandbox,
        timed_out=timed_out.is_set(),
        output_tail=tail.decode("utf-8", "replace")[-2000:],
    )


def stats(seconds: list[float]) -> dict[str, float | int]:
    """Median, p95 (nearest rank), mean, min and max of per-submission seconds."""
    if not seconds:
        return {"n": 0}
    s = sorted(seconds)
    p95 = s[min(len(s) - 1, max(0, -(-95 * len(s) // 100) - 1))]
    return {
        "n": len(s),
        "median_s": round(statistics.median(s), 4),
        "p95_s": round(p95, 4),
        "mean_s": round(statistics.fmean(s), 4),
        "min_s": round(s[0], 4),
        "max_s": round(s[-1], 4),
    }


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PHYS_PAGES") * PAGE / 2**30
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(mem_gib, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "os_release": _os_release(),
        "loadavg_at_start": list(os.getloadavg()),
    }


def _os_release() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return "unknown"
