"""Warm sandboxes (autograder.run.warm): a child forked from the slot's warm process is
confined as a cold sandbox is, leaves nothing for the next, and a broken warm process is
replaced cold. The hostile suite attacks them at every level (tests/hostile/warm_*.py);
here each of those attacks is also shown to succeed against a naive warm process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

from autograder.run import isolation, warm
from autograder.run.isolation import Confinement, Level, ProcLimits
from autograder.run.sandbox import Limits, Sandbox, check_sandbox, default_runtime
from tests import levels
from tests.conftest import REPO
from tests.hostile import warm_exhaust, warm_lurker, warm_patch_next, warm_ptrace_parent

CORRECT = REPO / "examples" / "submissions" / "correct.ipynb"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the full level needs root")

# What a submission can see of its own confinement, as one array of numbers and a name.
PROBE = """
import os, socket
def probe():
    status = open("/proc/self/status").read()
    caps = [int(status.split(k + ":")[1].split()[0], 16) for k in ("CapEff", "CapPrm", "CapBnd")]
    import resource
    limits = [resource.getrlimit(getattr(resource, "RLIMIT_" + n))[1]
              for n in ("AS", "FSIZE", "NOFILE", "CORE", "CPU")]
    pids = len([p for p in os.listdir("/proc") if p.isdigit()])
    fds = len(os.listdir("/proc/self/fd"))
    return [os.getuid(), *caps, *limits, pids, fds, len(os.listdir("/tmp")), len(os.environ)]
def where():
    return socket.gethostname() + ":" + os.getcwd()
"""


@pytest.fixture(scope="module")
def runtime():
    rt = default_runtime()
    check_sandbox(rt)
    return rt


@pytest.fixture
def slot():
    s = isolation.acquire_slot()
    yield s
    warm.stop_all()
    isolation.release_slot(s)


def _probe(runtime, slot, monkeypatch, mode: str):
    monkeypatch.setenv(warm.ENV, mode)
    with Sandbox(runtime, slot=slot, limits=Limits()) as sb:
        report = sb.start([PROBE])
        assert report.cells == [{"status": "ok"}]
        kind = type(sb.proc).__name__
        if kind == "Child":
            kind += f" of {sb.proc.zygote.pid}"
        (_, numbers), (where, _) = (
            sb.call("probe", [], [], max_bytes=1 << 16),
            sb.call("where", [], [], max_bytes=1 << 16),
        )
    return kind, [a.tolist() for a in numbers], where["value"]["s"]


def test_a_warm_child_is_confined_exactly_as_a_cold_worker(runtime, slot, monkeypatch):
    cold = _probe(runtime, slot, monkeypatch, "0")
    first = _probe(runtime, slot, monkeypatch, "1")
    second = _probe(runtime, slot, monkeypatch, "1")
    # Both forked from one warm process (the second paid no imports).
    assert cold[0] == "Popen" and first[0] == second[0] == f"Child of {warm._zygotes[slot].pid}"
    # uid, no capability at all, the same rlimits, a /proc with only its own two
    # processes, the same fds, an empty /tmp but for mpl, the same environment.
    assert first[1:] == second[1:] == cold[1:]
    assert first[1][1:4] == [0, 0, 0]
    assert first[2] == cold[2] == "sandbox:/tmp"


def test_a_dead_warm_process_is_replaced_and_the_submission_still_runs(runtime, slot, monkeypatch):
    monkeypatch.setenv(warm.ENV, "1")
    cells = ["import numpy as np\ndef f(a):\n    return a * 2\n"]
    with Sandbox(runtime, slot=slot) as sb:
        sb.start(cells)
    z = warm._zygotes[slot]
    os.kill(z.pid, signal.SIGKILL)
    for _ in range(2):  # cold, or warm from a new warm process: graded the same
        with Sandbox(runtime, slot=slot) as sb:
            assert sb.start(cells).cells == [{"status": "ok"}]
            _, out = sb.call("f", [{"array": 0}], [np.arange(3.0)], max_bytes=1 << 16)
            assert out[0].tolist() == [0.0, 2.0, 4.0]
    assert isinstance(sb.proc, type(None)) and warm._zygotes[slot] is not z
    assert warm._zygotes[slot].alive()


# -- each new hostile case, against a naive warm process ---------------------------------

# A naive warm process, inside a cold sandbox (the lurker must not reach the host): it has
# imported numpy, forks a child per "submission" with nothing more (same uid and pid
# namespace, dumpable, its control socket inherited, no clean-up), or reuses one process.
NAIVE = r"""
import json, os, signal, socket, sys, time
import numpy
attacks = json.loads(sys.stdin.read())
ctl, _peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)

def forked(src):
    pid = os.fork()
    if pid == 0:
        exec(src, {"__name__": "__main__"})
        os._exit(0)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

out = {}
out["ptrace"] = forked(attacks["ptrace"])
out["exhaust"] = forked(attacks["exhaust"])
ns = {"__name__": "__main__"}
exec(attacks["patch"], ns)  # one reused process: the next "submission" runs in it again
pid = os.fork()
if pid == 0:
    exec(attacks["patch"], {"__name__": "__main__"})
    os._exit(0)
out["patch"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
forked(attacks["lurker"])
time.sleep(0.3)
pid = os.fork()
if pid == 0:
    time.sleep(2)
    os._exit(0)
out["lurker"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print(json.dumps(out))
"""


def test_each_warm_hostile_case_succeeds_against_a_naive_warm_process(runtime, slot):
    attacks = {
        "ptrace": warm_ptrace_parent.ATTACK,
        "exhaust": warm_exhaust.ATTACK,
        "patch": warm_patch_next.ATTACK,
        "lurker": warm_lurker.ATTACK,
    }
    limits = ProcLimits(memory_mb=2048, processes=64, file_mb=16, tmp_mb=64, cpu_seconds=120)
    cgroup = isolation.make_cgroup(f"hw2-{os.getpid()}-{slot}-naive", limits)
    read, write = os.pipe()
    os.write(write, NAIVE.encode())
    os.close(write)
    conf = Confinement(Level.FULL, slot, limits, cgroup, {"/opt/naive/naive.py": read})
    python = str(Path(runtime) / "bin" / "python")
    cmd = isolation.command(conf, [python, "-E", "-s", "-B", "/opt/naive/naive.py"],
                            env={"OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"},
                            ro=[str(runtime)])  # fmt: skip
    try:
        done = subprocess.run(cmd, input=json.dumps(attacks), capture_output=True, text=True,
                              timeout=120, start_new_session=True, pass_fds=(read,))  # fmt: skip
    finally:
        os.close(read)
        isolation.cleanup(conf)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # Each attack caught what it aimed at: the notebook refuses to run (exit 3), or the
    # next "submission" was killed.
    assert out == {"ptrace": 3, "exhaust": 3, "patch": 3, "lurker": -signal.SIGKILL}


# -- every level ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("level", levels.LEVELS)
def test_every_level_grades_warm_and_scores_as_cold(level, tmp_path):
    """Later submissions on a slot pay no imports (the split in OUT/logs: a module already
    imported costs microseconds, a fresh numpy and matplotlib a second), and warm and
    cold grades are the same."""
    if why := levels.unavailable(level):
        pytest.skip(f"{level}: {why}")
    place = levels.place(level)
    try:
        folder = place.scratch / "subs"
        folder.mkdir()
        for i in range(3):
            shutil.copy(CORRECT, folder / f"c{i}.ipynb")
        shutil.copy(REPO / "examples" / "submissions" / "typical_mistakes.ipynb", folder)
        if place.uid:
            for p in (folder, *folder.iterdir()):
                os.chown(p, place.uid, place.uid)
        grades = {}
        for mode in ("warm", "cold"):
            out = place.scratch / mode
            args = ["-m", "autograder", "grade", str(folder), "--out", str(out), "--no-pdf",
                    "--jobs", "1", *(["--cold"] if mode == "cold" else [])]  # fmt: skip
            done = place.run(args, capture_output=True, text=True, timeout=900)
            assert done.returncode == 0, done.stderr[-2000:]
            assert f"isolation: {level}" in done.stdout
            grades[mode] = (out / "grades.csv").read_text(encoding="utf-8")
            imports = []
            for log in sorted((out / "logs").glob("c*.txt")):
                line = next(x for x in log.read_text().splitlines() if x.startswith("phases: "))
                imports.append(float(line.split("imports=")[1].split()[0]))
            if mode == "warm":
                assert sorted(imports)[1] < 0.05, imports  # two of three forked warm
            else:
                assert min(imports) > 0.05, imports  # each paid numpy and matplotlib
        assert grades["warm"] == grades["cold"]
    finally:
        place.cleanup()
