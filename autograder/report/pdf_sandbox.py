"""The PDF sandbox: the PDF worker and xelatex, each in the same kind of sandbox as student code.

Both parse student data, so both run as an unprivileged per-slot uid (or, started
by a non-root user, as that user in an unprivileged user namespace), under
prlimit → setpriv → bwrap, in new namespaces (no network), with a wall-clock
deadline enforced from outside. Every command line comes from
:func:`autograder.run.isolation.command` (so the same rlimits, cgroup, read-only root,
sized /tmp and /dev/shm as student code); :func:`proc_limits` maps :class:`PdfLimits`
onto it. At the uid level (no user namespaces) there is no PDF sandbox: :class:`Lane`
refuses with :class:`SandboxUnavailable` and the PDF step reports it per submission.

xelatex sees only:

- /usr (programs, libraries, fonts, the TeX trees under /usr/share) read-only;
- /etc/texmf, /var/lib/texmf (TeX configuration and format files) and /etc/fonts,
  /var/cache/fontconfig (font lookup) read-only;
- the preloaded format of our fixed preamble, read-only;
- a private working folder holding only the .tex and its images.

On top of that, kpathsea runs paranoid (``openin_any=p``, ``openout_any=p``: no
absolute paths, no ``..``) and shell escape is off. Nothing else of the host,
not even /etc/hostname, exists inside.

The worker (``pdf_worker.py``) additionally sees the PDF runtime (a venv on Debian's
Python with nbconvert, nbformat, pygments, Pillow: :func:`pdf_runtime`), read-only, and
a world-readable copy of its own source file, ``answers.py`` (how written answers are
found, the one matching every reader uses) and the template; nothing of this checkout,
which may be under a folder the slot uid cannot enter.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import selectors
import shutil
import stat
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from autograder.run import isolation
from autograder.run.isolation import Level, SandboxUnavailable, acquire_slot, release_slot
from autograder.run.sandbox import recorded_runtime

_HERE = Path(__file__).resolve().parent
# Read-only trees xelatex needs beyond /usr (Debian's TeX configuration, formats, fonts).
RO_TREES = ("/etc/texmf", "/var/lib/texmf", "/etc/fonts", "/var/cache/fontconfig")
MAX_PDF_BYTES = 64 << 20  # also the sandbox's RLIMIT_FSIZE: no file bigger can be written
MAX_FORMAT_BYTES = 64 << 20
MAX_FORMAT_UNPACKED = 256 << 20  # ours unpacks to 33 MB
MAX_REPLY_BYTES = 256 << 20  # the worker's .tex plus images
RUN_TIMEOUT = 30.0  # wall-clock seconds per xelatex run
MAX_RUNS = 2  # a second run only when the visible output would change (see _needs_rerun)
WORKER_START_TIMEOUT = 90.0  # importing nbconvert on a busy machine
WORKER_REQUESTS = 200  # then a fresh worker: RLIMIT_CPU counts its whole life
FORMAT = "graded"  # the preloaded xelatex format: fixed preamble, dumped once per process
FORMAT_PREFIX = "hw2-pdf-format-"  # + the pid of the process that made it, in the temp folder
# xdvipdfmx recompresses every PNG; its default level 9 costs 0.28 s more than 3 on a notebook
# with six plots (0.52 → 0.24 s) for a PDF 11% smaller (bench/pdf_bench.py).
DEFLATE_LEVEL = 3


@dataclass(frozen=True)
class PdfLimits:
    """Resource limits of one PDF sandbox process tree (xelatex run or worker)."""

    memory_mb: int = 1536  # RLIMIT_AS per process (pandoc has its own -M512m heap cap)
    processes: int = 32
    file_bytes: int = MAX_PDF_BYTES
    open_files: int = 256
    cpu_seconds: int = int(RUN_TIMEOUT) + 5
    tmp_mb: int = 64


XELATEX_LIMITS = PdfLimits()
WORKER_LIMITS = PdfLimits(memory_mb=2048, cpu_seconds=3600)


def proc_limits(limits: PdfLimits, *, cgroup: bool = True, tasks: int = 4) -> isolation.ProcLimits:
    """``limits`` as isolation's limits (with a cgroup: ``memory_mb`` for the whole tree).

    Without a cgroup, isolation would split ``memory_mb`` into ``tasks`` address spaces,
    too small for these tools: pandoc's threaded runtime alone needs 5 tasks (RLIMIT_NPROC
    counts threads) and more than 328 MB of address space. So there, as before this
    module used isolation, each process gets ``memory_mb`` of address space and the tree
    at most ``tasks`` tasks: the worker 8 (itself, pandoc, rsvg-convert), xelatex 4
    (itself, xdvipdfmx).
    """
    memory_mb = limits.memory_mb
    if not cgroup:
        memory_mb = limits.memory_mb * tasks + limits.tmp_mb + isolation.SHM_MB
    return isolation.ProcLimits(
        memory_mb=memory_mb,
        processes=limits.processes,
        file_mb=limits.file_bytes >> 20,
        tmp_mb=limits.tmp_mb,
        cpu_seconds=limits.cpu_seconds,
        nofile=limits.open_files,
        fallback_processes=tasks,
    )


def confine(level: Level, slot: int, limits: PdfLimits, tasks: int) -> isolation.Confinement:
    """The confinement of one PDF sandbox in ``slot``: its own cgroup where one can be made."""
    procs = proc_limits(limits, tasks=tasks)
    cgroup = isolation.make_cgroup(f"hw2-{os.getpid()}-{slot}-{time.monotonic_ns()}", procs)
    if cgroup is None:
        procs = proc_limits(limits, cgroup=False, tasks=tasks)
    return isolation.Confinement(level, slot, procs, cgroup)


def _trees() -> list[str]:
    return [tree for tree in RO_TREES if Path(tree).is_dir()]


def pdf_level() -> Level:
    """The isolation level of PDF sandboxes: bubblewrap always (full as root, else rootless).

    At the uid level (root without user namespaces: Docker, Gradescope) the worker's
    paths and the TeX sandbox's private mounts do not exist, so there is no PDF sandbox.
    --unsafe-no-sandbox (none) leaves student code unconfined, never the PDF parsers.
    """
    if os.geteuid() != 0:
        return Level.ROOTLESS
    if isolation.current_level() is Level.UID:
        raise SandboxUnavailable(
            "PDFs need user namespaces, which this machine denies (run with --no-pdf)"
        )
    return Level.FULL


# -- a lane: one slot, one worker, one xelatex at a time --------------------------------------
class Lane:
    """One PDF at a time: two sandbox slots and a long-lived worker.

    The worker and xelatex get a slot each: after every xelatex run everything of
    its slot (as root: its uid) is killed, and that must not take the worker with it.
    """

    def __init__(self) -> None:
        self.level = pdf_level()
        self.slots: list[int] = []
        try:
            self.slots = [acquire_slot(), acquire_slot()]  # worker, xelatex
        except SandboxUnavailable:
            self.close()
            raise
        self.worker: PdfWorker | None = None
        self.waiting: Prestarted | None = None  # the next PDF's xelatex, format loaded

    @property
    def xelatex_slot(self) -> int:
        return self.slots[1]

    def request(self, header: dict, blob: bytes, timeout: float) -> tuple[dict, bytes]:
        """Ask the worker; on a timeout or a crash it is killed (a fresh one comes next)."""
        if self.worker is None or self.worker.served >= WORKER_REQUESTS:
            self.stop_worker()
            self.worker = PdfWorker(self.level, self.slots[0])
        try:
            return self.worker.request(header, blob, timeout)
        except WorkerFailed:
            self.stop_worker()
            raise

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None

    def discard_waiting(self) -> None:
        """Kill the pre-started xelatex (before anything else runs in its slot)."""
        if self.waiting is not None:
            waiting, self.waiting = self.waiting, None
            waiting.stop()
            shutil.rmtree(waiting.work, ignore_errors=True)

    def waiting_for(self, fmt: Path) -> Prestarted | None:
        """The pre-started xelatex if it loaded ``fmt``; one that loaded another is killed."""
        if self.waiting is not None and self.waiting.fmt != fmt:
            self.discard_waiting()
        return self.waiting

    def close(self) -> None:
        self.discard_waiting()
        self.stop_worker()
        while self.slots:
            release_slot(self.slots.pop())


class WorkerFailed(Exception):
    """The worker did not answer in time, crashed, or broke the protocol."""


def pdf_runtime() -> Path:
    """The PDF runtime: a venv on Debian's Python with the worker's packages (nbconvert,
    nbformat, pygments, Pillow; requirements-pdf.txt), built by scripts/setup.sh where every
    uid can read it. $HW2_PDF_RUNTIME names another."""
    runtime = recorded_runtime("pdf-runtime", "HW2_PDF_RUNTIME")
    if runtime is None or not (runtime / "bin" / "python").exists():
        raise WorkerFailed("no PDF runtime: run `make setup` (scripts/setup.sh) first")
    return runtime


def _jupyter_data(runtime: Path) -> str:
    """Where nbconvert's own templates are (``share/jupyter`` of the PDF runtime)."""
    share = runtime / "share" / "jupyter"
    if not (share / "nbconvert" / "templates" / "latex").is_dir():
        raise WorkerFailed(f"nbconvert's LaTeX templates are not in {runtime}: rerun `make setup`")
    return str(share)


# What the worker runs, by its name inside the sandbox (/opt/pdf/NAME): answers.py is the
# one matching of written answers that review and manual.csv use too.
WORKER_FILES = {
    "pdf_worker.py": _HERE / "pdf_worker.py",
    "answers.py": _HERE.parent / "answers.py",
    "latex": _HERE / "latex",
}


def worker_files() -> Path:
    """The worker's source and the LaTeX template, copied where every uid can read them
    (a slot uid cannot enter a checkout under a private folder)."""
    return isolation.shared_tree(WORKER_FILES)


class PdfWorker:
    """``pdf_worker.py`` in a sandbox, spoken to over its stdin/stdout in frames."""

    def __init__(self, level: Level, slot: int) -> None:
        runtime = pdf_runtime()
        python = str(runtime / "bin" / "python")
        share = _jupyter_data(runtime)
        files = worker_files()
        ro_map = {str(files / name): f"/opt/pdf/{name}" for name in WORKER_FILES}
        env = {
            "PATH": "/usr/bin",
            "HOME": "/tmp",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "JUPYTER_PATH": share,
            "JUPYTER_PLATFORM_DIRS": "1",
            "OMP_NUM_THREADS": "1",
        }
        # The runtime may be one a user named by hand ($HW2_PDF_RUNTIME): the worker runs as
        # a slot uid, which must reach it.
        if level is Level.FULL:
            for path in [runtime, *ro_map]:
                if why := isolation.unreachable(Path(path), "PDF sandbox"):
                    raise WorkerFailed(why)
        argv = [python, "-s", "-B", "/opt/pdf/pdf_worker.py"]
        self.conf = confine(level, slot, WORKER_LIMITS, tasks=8)
        self.served = 0
        isolation.become_subreaper()
        cmd = isolation.command(
            self.conf, argv, env=env, ro=[*_trees(), str(runtime)], ro_map=ro_map
        )
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None if os.environ.get("HW2_PDF_DEBUG") else subprocess.DEVNULL,
            start_new_session=True,
        )
        os.set_blocking(self.proc.stdin.fileno(), False)
        os.set_blocking(self.proc.stdout.fileno(), False)
        hello, _ = self._exchange(b"", WORKER_START_TIMEOUT)
        if not hello.get("ready"):
            self.close()
            raise WorkerFailed("the PDF worker did not start")

    def request(self, header: dict, blob: bytes, timeout: float) -> tuple[dict, bytes]:
        import json

        data = json.dumps(header).encode()
        frame = struct.pack(">I", len(data)) + data + struct.pack(">Q", len(blob)) + blob
        self.served += 1
        return self._exchange(frame, timeout)

    def _exchange(self, out: bytes, timeout: float) -> tuple[dict, bytes]:
        """Write ``out`` and read one reply frame, both within ``timeout`` seconds."""
        import json

        deadline = time.monotonic() + timeout
        sel = selectors.DefaultSelector()
        wfd, rfd = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        if out:
            sel.register(wfd, selectors.EVENT_WRITE)
        sel.register(rfd, selectors.EVENT_READ)
        view, buf, need = memoryview(out), bytearray(), None
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WorkerFailed(f"no answer within {timeout:g} s")
                for key, _ in sel.select(left):
                    if key.fd == wfd:
                        try:
                            n = os.write(wfd, view[: 1 << 16])
                        except BlockingIOError:
                            continue
                        except BrokenPipeError:
                            raise WorkerFailed("the PDF worker exited") from None
                        view = view[n:]
                        if not view:
                            sel.unregister(wfd)
                    else:
                        try:
                            chunk = os.read(rfd, 1 << 20)
                        except BlockingIOError:
                            continue
                        if not chunk:
                            raise WorkerFailed("the PDF worker exited")
                        buf += chunk
                need = _frame_size(buf)
                if need is not None and len(buf) >= need:
                    break
        finally:
            sel.close()
        (n,) = struct.unpack(">I", buf[:4])
        try:
            header = json.loads(bytes(buf[4 : 4 + n]))
        except ValueError:
            raise WorkerFailed("the PDF worker broke the protocol") from None
        if not isinstance(header, dict):
            raise WorkerFailed("the PDF worker broke the protocol")
        return header, bytes(buf[4 + n + 8 : need])

    def close(self) -> None:
        isolation.cleanup(self.conf, self.proc)
        for f in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                f.close()


def _frame_size(buf: bytearray) -> int | None:
    if len(buf) < 4:
        return None
    (n,) = struct.unpack(">I", buf[:4])
    if len(buf) < 4 + n + 8:
        if n > MAX_REPLY_BYTES:
            raise WorkerFailed("the PDF worker's reply is too large")
        return None
    (m,) = struct.unpack(">Q", buf[4 + n : 4 + n + 8])
    if n + m > MAX_REPLY_BYTES:
        raise WorkerFailed("the PDF worker's reply is too large")
    return 4 + n + 8 + m


# -- the preloaded format ---------------------------------------------------------------------
_formats: dict[str, Path] = {}
_format_lock = threading.Lock()


def format_dir(lane: Lane) -> Path:
    """A folder holding graded.fmt, our fixed preamble dumped by xelatex -ini (once per
    process and preamble): each PDF then starts with every package loaded."""
    with _format_lock:
        reply, _ = lane.request({"op": "preamble"}, b"", WORKER_START_TIMEOUT)
        if not reply.get("ok"):
            raise WorkerFailed(f"no preamble: {reply.get('reason')}")
        tex = str(reply["tex"]).encode()
        key = hashlib.sha256(tex).hexdigest()
        if key in _formats and (_formats[key] / f"{FORMAT}.fmt").exists():
            return _formats[key]
        lane.discard_waiting()  # xelatex -ini runs in its slot
        work = new_workdir()
        try:
            (work / f"{FORMAT}.tex").write_bytes(tex)
            argv = ["xelatex", "-ini", "-interaction=nonstopmode", "-no-shell-escape",
                    f"-jobname={FORMAT}", "&xelatex", f"{FORMAT}.tex"]  # fmt: skip
            code = _run(argv, lane, work, {})
            fmt = _read_regular(work / f"{FORMAT}.fmt", MAX_FORMAT_BYTES)
            if code != 0 or not fmt:
                log = _read_regular(work / f"{FORMAT}.log", 1 << 20) or b""
                raise WorkerFailed(f"the LaTeX format could not be built: {_first_error(log)}")
            fmt = _unpacked(fmt)
            _remove_stale_formats()
            folder = Path(tempfile.mkdtemp(prefix=f"{FORMAT_PREFIX}{os.getpid()}-"))
            folder.chmod(0o755)  # the sandbox uid reads it
            (folder / f"{FORMAT}.fmt").write_bytes(fmt)
            (folder / f"{FORMAT}.fmt").chmod(0o644)
            _formats[key] = folder
            import atexit

            atexit.register(shutil.rmtree, folder, True)
            return folder
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _remove_stale_formats(tmp: Path | None = None) -> None:
    """Remove the format folders of grading processes that died without their atexit
    (killed): 33 MB each. Only this user's, only real folders, only of dead pids."""
    tmp = Path(tmp or tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for entry in os.scandir(tmp):
            if not isolation.left_by_dead_process(entry.name, FORMAT_PREFIX):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid():
                shutil.rmtree(entry.path, ignore_errors=True)


def _unpacked(fmt: bytes) -> bytes:
    """The format without its gzip layer: web2c reads formats through zlib's gzread, which
    passes an uncompressed file through, and 33 MB unpacked load 0.13 s of CPU faster than
    9 MB packed, in every xelatex run. Unpacked here once, bounded (the sandbox wrote it);
    anything unexpected keeps the packed format, which works as well."""
    if not fmt.startswith(b"\x1f\x8b"):
        return fmt
    unzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = unzip.decompress(fmt, MAX_FORMAT_UNPACKED)
    except zlib.error:
        return fmt
    return out if unzip.eof and not unzip.unconsumed_tail else fmt


# -- xelatex ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LatexRun:
    pdf: bytes | None  # None when xelatex failed
    log_tail: str  # the first error, for the reason
    runs: int
    error_lines: list[int] = field(default_factory=list)  # .tex lines LaTeX complained about


_ENV = {
    "PATH": "/usr/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "TEXMFVAR": "/tmp/texmf-var",
    "TEXMFOUTPUT": "/work",
    "TEXFORMATS": "/fmt:",  # our format first, then the system's (for -ini)
    "openin_any": "p",  # kpathsea: no absolute paths, no .., no dotfiles
    "openout_any": "p",
    "shell_escape": "f",
    "SOURCE_DATE_EPOCH": "0",  # reproducible PDFs: same notebook, same bytes
    "FORCE_SOURCE_DATE": "1",
}


def _start(argv: list[str], lane: Lane, work: Path, ro_map: dict[str, str],
           stdin: int) -> tuple[isolation.Confinement, subprocess.Popen]:  # fmt: skip
    """Start xelatex ``argv`` in ``lane``'s xelatex slot, confined by
    :func:`isolation.command` with the PDF sandbox's limits."""
    conf = confine(lane.level, lane.xelatex_slot, XELATEX_LIMITS, tasks=4)
    isolation.prepare_workdir(conf, work)
    isolation.become_subreaper()
    cmd = isolation.command(conf, argv, env=_ENV, ro=_trees(), workdir=work, ro_map=ro_map)
    proc = subprocess.Popen(
        cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    return conf, proc


def _finish(conf: isolation.Confinement, proc: subprocess.Popen) -> int:
    """Wait for the run (-1: timed out after RUN_TIMEOUT); everything it left is killed."""
    try:
        return proc.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        return -1
    finally:
        isolation.cleanup(conf, proc)


def _run(argv: list[str], lane: Lane, work: Path, ro_map: dict[str, str]) -> int:
    """One xelatex run in ``lane``'s xelatex slot (-1: timed out)."""
    return _finish(*_start(argv, lane, work, ro_map, subprocess.DEVNULL))


# The first line of a pre-started xelatex: it loads the format and the fonts and begins the
# document (notebook.tex then skips both: \hwfonts, \hwbegindocument), then blocks
# reading one line from the terminal (its stdin; scroll mode allows that), and only then
# turns to nonstop mode and reads the document. A document cannot read the terminal in
# nonstop mode, and stdin is closed by then anyway.
_DRIVER = r"\hwfonts\hwbegindocument\read-1to\hwgo\nonstopmode\input notebook.tex"


@dataclass
class Prestarted:
    """An xelatex started before its document exists, in the folder the document goes to:
    the format and fonts load (0.3–0.4 s) while the worker converts the notebook."""

    work: Path
    fmt: Path
    conf: isolation.Confinement
    proc: subprocess.Popen

    def go(self) -> int | None:
        """Let it read notebook.tex; its exit code, or None if it died while waiting."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"go\n")
                self.proc.stdin.close()
            except (BrokenPipeError, ValueError):
                pass  # it died just now: stopped below, like one found dead
            else:
                return _finish(self.conf, self.proc)
        self.stop()
        return None

    def stop(self) -> None:
        isolation.cleanup(self.conf, self.proc)
        with contextlib.suppress(OSError, ValueError):
            self.proc.stdin.close()


def prestart_xelatex(lane: Lane, fmt: Path) -> None:
    """Start the lane's next xelatex now, in a fresh folder, unless one is waiting.
    When it cannot start, the next run starts cold (and says why if it fails too)."""
    if lane.waiting_for(fmt) is not None:
        return
    work = new_workdir()
    try:
        conf, proc = _start(_argv("-interaction=scrollmode", "-jobname=notebook", _DRIVER),
                            lane, work, {str(fmt): "/fmt"}, subprocess.PIPE)  # fmt: skip
    except (OSError, SandboxUnavailable):
        shutil.rmtree(work, ignore_errors=True)
        return
    lane.waiting = Prestarted(work, fmt, conf, proc)


def _read_regular(path: Path, cap: int) -> bytes | None:
    """Read a file the sandbox wrote, refusing symlinks: as root we must not follow one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        return f.read(cap + 1)[: cap + 1]


_ERROR_LINE = re.compile(rb"^\S*\.tex:(\d+): ", re.M)


def _first_error(log: bytes) -> str:
    """The first LaTeX error in the log (``file:line: message`` or ``! message``)."""
    lines = log.decode("utf-8", "replace").splitlines()
    for k, line in enumerate(lines):
        if line.startswith("!") or re.match(r"^\S*\.tex:\d+: ", line):
            return " ".join(x.strip() for x in lines[k : k + 2])[:300]
    return "xelatex failed (no error in its log)"


def _needs_rerun(log: bytes, tex: bytes) -> bool:
    """Rerun only if a visible page would change: nbconvert's fixed 3 runs cost 3× the time.

    Headings always give "Label(s) may have changed", which matters only when the
    notebook links to them; outlines are written in one run by the bookmark package.
    """
    if b"Table widths have changed" in log:
        return True
    refs = (b"\\ref{", b"\\hyperref[", b"\\pageref{", b"\\autoref{", b"\\eqref{")
    return b"Rerun to get cross-references right" in log and any(r in tex for r in refs)


def _argv(*args: str) -> list[str]:
    driver = f"-output-driver=xdvipdfmx -z{DEFLATE_LEVEL}"
    return ["xelatex", f"-fmt={FORMAT}", "-no-shell-escape", "-file-line-error", driver, *args]


def run_xelatex(workdir: Path, lane: Lane, fmt: Path, tex_name: str = "notebook.tex",
                ready: Prestarted | None = None) -> LatexRun:  # fmt: skip
    """Compile ``workdir/tex_name`` against the format in ``fmt``; rerun once if needed.

    ``workdir`` (from :func:`new_workdir`) must hold only the .tex and its images:
    it is the whole writable world of the sandbox. Errors do not stop the run
    (nonstopmode), so one run reports every failing line: ``error_lines``. The first
    run is ``ready`` (an xelatex pre-started in ``workdir``) when given and alive.
    """
    stem = tex_name.rsplit(".", 1)[0]
    log = b""
    runs = 0
    tex = (workdir / tex_name).read_bytes()
    argv = _argv("-interaction=nonstopmode", tex_name)
    for runs in range(1, MAX_RUNS + 1):
        code = ready.go() if ready is not None and runs == 1 else None
        if code is None:
            code = _run(argv, lane, workdir, {str(fmt): "/fmt"})
        log = _read_regular(workdir / f"{stem}.log", 4 << 20) or b""
        if code != 0:
            if code == -1:
                return LatexRun(None, f"xelatex timed out after {RUN_TIMEOUT:g} s", runs)
            lines = sorted({int(m) for m in _ERROR_LINE.findall(log)})
            return LatexRun(None, _first_error(log), runs, lines)
        if not _needs_rerun(log, tex):
            break
    pdf = _read_regular(workdir / f"{stem}.pdf", MAX_PDF_BYTES)
    if pdf is None or not pdf.startswith(b"%PDF") or len(pdf) > MAX_PDF_BYTES:
        return LatexRun(None, "xelatex produced no usable PDF", runs)
    return LatexRun(pdf, "", runs)


def typeset(files: dict[str, bytes], lane: Lane, fmt: Path) -> LatexRun:
    """notebook.tex and its images (``files``, names checked by the caller) → a PDF.

    They go into the folder of the lane's pre-started xelatex when there is one (else a
    fresh folder), created new, never through a link. The lane's next xelatex is started
    before this returns, so it loads while the caller asks the worker for the next .tex.
    """
    ready, lane.waiting = lane.waiting_for(fmt), None
    work = ready.work if ready is not None else new_workdir()
    try:
        for name, data in files.items():
            fd = os.open(work / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        return run_xelatex(work, lane, fmt, ready=ready)
    finally:
        if ready is not None and ready.proc.returncode is None:
            ready.stop()
        shutil.rmtree(work, ignore_errors=True)
        prestart_xelatex(lane, fmt)


def new_workdir() -> Path:
    """A fresh private folder, the sandbox's whole writable world (handed to the slot by
    :func:`isolation.prepare_workdir`)."""
    return isolation.scratch("pdf-")
