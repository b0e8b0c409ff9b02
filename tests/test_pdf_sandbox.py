"""The PDF sandbox's command lines come from isolation.command (issue 12: one isolation module).

The worker and every xelatex run are started through autograder.run.isolation, so
they get what only isolation.command adds: a read-only root (``--remount-ro /``), a
sized /dev/shm, the rlimits of PdfLimits mapped onto ProcLimits.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from autograder.report import pdf, pdf_sandbox
from autograder.run import isolation

pytestmark = pytest.mark.skipif(
    bool(pdf.pdf_toolchain_missing()), reason="the PDF toolchain is not installed"
)


def _has(cmd: list[str], *seq: str) -> bool:
    n = len(seq)
    return any(cmd[i : i + n] == list(seq) for i in range(len(cmd) - n + 1))


def test_worker_and_xelatex_commands_come_from_isolation(monkeypatch):
    built: list[list[str]] = []
    started: list[list[str]] = []
    real_command, real_popen = isolation.command, subprocess.Popen

    def command(*args, **kwargs):
        cmd = real_command(*args, **kwargs)
        built.append(cmd)
        return cmd

    class Popen(real_popen):
        def __init__(self, args, *rest, **kwargs):
            started.append(list(args))
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(isolation, "command", command)
    monkeypatch.setattr(subprocess, "Popen", Popen)
    monkeypatch.setattr(pdf_sandbox, "_formats", {})  # so the format is built here: xelatex -ini
    lane = pdf_sandbox.Lane()
    try:
        fmt = pdf_sandbox.format_dir(lane)  # starts the worker, then xelatex -ini
        work = pdf_sandbox.new_workdir()
        try:
            (work / "notebook.tex").write_text("\\begin{document}\nσ(Z)\n\\end{document}\n")
            run = pdf_sandbox.run_xelatex(work, lane, fmt)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    finally:
        lane.close()
    assert run.pdf is not None and run.pdf.startswith(b"%PDF"), run.log_tail
    worker = [c for c in started if "/opt/pdf/pdf_worker.py" in c]
    xelatex = [c for c in started if "xelatex" in c]
    assert len(worker) == 1 and len(xelatex) >= 2  # the format, then the notebook
    for cmd in worker + xelatex:
        assert cmd in built  # nothing started with a command line of its own
        assert _has(cmd, "--remount-ro", "/") and _has(cmd, "--unshare-all")
        assert _has(cmd, "--size", str(isolation.SHM_MB << 20), "--tmpfs", "/dev/shm")
        assert f"--fsize={pdf_sandbox.MAX_PDF_BYTES}" in cmd and "--nofile=256" in cmd
        for tree in filter(os.path.isdir, pdf_sandbox.RO_TREES):
            assert _has(cmd, "--ro-bind", tree, tree)
    assert all(f"--cpu={pdf_sandbox.XELATEX_LIMITS.cpu_seconds}" in c for c in xelatex)
    assert f"--cpu={pdf_sandbox.WORKER_LIMITS.cpu_seconds}" in worker[0]
    assert all(_has(c, "--setenv", "openin_any", "p") for c in xelatex)
    assert all(_has(c, "--setenv", "shell_escape", "f") for c in xelatex)
    files = pdf_sandbox.worker_files()
    assert _has(worker[0], "--ro-bind", str(files / "pdf_worker.py"), "/opt/pdf/pdf_worker.py")
    runtime = str(pdf_sandbox.pdf_runtime())
    assert _has(worker[0], "--ro-bind", runtime, runtime)
    # Nothing is bound from the checkout (a slot uid may be unable to enter it: issue 19).
    repo = pdf_sandbox._HERE.parents[1]
    for cmd in worker + xelatex:
        binds = [cmd[i + 1] for i, arg in enumerate(cmd) if arg in ("--ro-bind", "--bind")]
        assert binds and not any(Path(b).resolve().is_relative_to(repo) for b in binds), binds


def test_uid_level_has_no_pdf_sandbox_and_says_so(monkeypatch):
    if os.geteuid() != 0:
        pytest.skip("the uid level is root's")
    monkeypatch.setenv(isolation.LEVEL_ENV, "uid")
    with pytest.raises(isolation.SandboxUnavailable, match="--no-pdf"):
        pdf_sandbox.Lane()


def test_without_a_cgroup_each_process_keeps_its_address_space(monkeypatch):
    """No cgroup (a student's `make pdf`): pandoc's threads fit, each process keeps memory_mb."""
    monkeypatch.setenv("HW2_NO_CGROUP", "1")
    for limits, tasks in ((pdf_sandbox.WORKER_LIMITS, 8), (pdf_sandbox.XELATEX_LIMITS, 4)):
        conf = pdf_sandbox.confine(isolation.Level.ROOTLESS, 150, limits, tasks)
        cmd = isolation.command(conf, ["true"], env={})
        assert conf.cgroup is None
        assert f"--as={limits.memory_mb << 20}" in cmd
        assert _has(cmd, "prlimit", f"--nproc={tasks + 1}", "--")  # + bwrap's pid 1


DOC = "\\hwfonts\n\\hwbegindocument\nσ(Z) = u, $\\hat y = W_2 u$\n\\end{document}\n"


@pytest.fixture
def lane():
    lane = pdf_sandbox.Lane()
    yield lane, pdf_sandbox.format_dir(lane)
    lane.close()


def _alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().split(") ", 1)[1][0] not in "ZX"
    except OSError:
        return False


def test_a_prestarted_xelatex_makes_the_same_pdf_as_a_cold_one(lane):
    lane, fmt = lane
    assert lane.waiting is None
    cold = pdf_sandbox.typeset({"notebook.tex": DOC.encode()}, lane, fmt)
    waiting = lane.waiting  # typeset started the next one before it returned
    assert waiting is not None and waiting.proc.poll() is None
    warm = pdf_sandbox.typeset({"notebook.tex": DOC.encode()}, lane, fmt)
    assert waiting.proc.returncode == 0  # it was the one that ran
    assert cold.pdf is not None and cold.pdf.startswith(b"%PDF"), cold.log_tail
    assert warm.pdf == cold.pdf  # SOURCE_DATE_EPOCH: same document, same bytes
    assert not waiting.work.exists()


def test_a_prestarted_xelatex_that_died_is_replaced_by_a_cold_run(lane):
    lane, fmt = lane
    pdf_sandbox.prestart_xelatex(lane, fmt)
    dead = lane.waiting
    dead.stop()
    run = pdf_sandbox.typeset({"notebook.tex": DOC.encode()}, lane, fmt)
    assert run.pdf is not None and run.pdf.startswith(b"%PDF"), run.log_tail
    assert lane.waiting is not None and lane.waiting is not dead


def test_a_document_cannot_read_the_prestarted_xelatex_terminal(lane):
    lane, fmt = lane
    pdf_sandbox.prestart_xelatex(lane, fmt)
    doc = "\\hwbegindocument\n\\read-1 to\\x \\x\n\\end{document}\n"
    run = pdf_sandbox.typeset({"notebook.tex": doc.encode()}, lane, fmt)
    # Nonstop mode: TeX stops at once ("*** (cannot \read from terminal in nonstop modes)").
    assert run.pdf is None and "Emergency stop" in run.log_tail, run.log_tail
    assert run.error_lines == [2]


def test_closing_the_lane_kills_the_waiting_xelatex(lane):
    lane, fmt = lane
    pdf_sandbox.prestart_xelatex(lane, fmt)
    waiting = lane.waiting
    assert _alive(waiting.proc.pid)
    lane.close()
    assert lane.waiting is None and not _alive(waiting.proc.pid)
    assert not waiting.work.exists()


def test_a_private_pdf_runtime_is_named_not_a_bare_worker_exit(monkeypatch, tmp_path):
    """As root, the worker runs as a slot uid: a runtime named by hand ($HW2_PDF_RUNTIME)
    under a 0700 folder is unreachable, and the error says so and what to do."""
    if os.geteuid() != 0:
        pytest.skip("the slot uid is root's")
    private = tmp_path / "private"
    private.mkdir()
    runtime = private / "pdf-runtime"
    runtime.symlink_to(pdf_sandbox.pdf_runtime())  # a real runtime, behind a private folder
    private.chmod(0o700)
    monkeypatch.setenv("HW2_PDF_RUNTIME", str(runtime))
    with pytest.raises(pdf_sandbox.WorkerFailed, match=r"cannot read .*private.*chmod o\+x"):
        pdf_sandbox.PdfWorker(isolation.Level.FULL, 150)


def test_without_a_pdf_runtime_the_error_says_to_run_setup(monkeypatch, tmp_path):
    monkeypatch.setenv("HW2_PDF_RUNTIME", str(tmp_path / "none"))
    with pytest.raises(pdf_sandbox.WorkerFailed, match=r"no PDF runtime: run `make setup`"):
        pdf_sandbox.PdfWorker(isolation.Level.ROOTLESS, 150)
