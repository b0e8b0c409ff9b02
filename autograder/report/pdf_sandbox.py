"""xelatex inside the same kind of sandbox as student code: prlimit → setpriv → bwrap.

The .tex is built from student markdown, and LaTeX can read any file by path
(``\\input{/etc/hostname}``) or run commands (``\\write18``). So xelatex runs as an
unprivileged per-slot uid, in new namespaces (no network), and sees only:

- /usr (programs, libraries, fonts, the TeX trees under /usr/share) read-only;
- /etc/texmf, /var/lib/texmf (TeX configuration and format files) and /etc/fonts,
  /var/cache/fontconfig (font lookup) read-only;
- a private working folder holding only the .tex and its images.

On top of that, kpathsea runs paranoid (``openin_any=p``, ``openout_any=p``: no
absolute paths, no ``..``) and shell escape is off. Nothing else of the host,
not even /etc/hostname, exists inside.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from autograder.run.sandbox import SANDBOX_UID_BASE, _usr_links, acquire_slot, kill_uid

# Read-only trees xelatex needs beyond /usr (Debian's TeX configuration, formats, fonts).
RO_TREES = ("/etc/texmf", "/var/lib/texmf", "/etc/fonts", "/var/cache/fontconfig")
MAX_PDF_BYTES = 64 << 20  # also the sandbox's RLIMIT_FSIZE: no file bigger can be written
RUN_TIMEOUT = 60.0  # wall-clock seconds per xelatex run
MAX_RUNS = 2  # a second run only when the visible output would change (see _needs_rerun)

_slot: int | None = None


def slot_uid() -> int:
    """This process's sandbox uid: claims a slot once (grading pools hold their own)."""
    global _slot
    if _slot is None:
        _slot = acquire_slot()
    return SANDBOX_UID_BASE + _slot


@dataclass(frozen=True)
class LatexRun:
    pdf: bytes | None  # None when xelatex failed
    log_tail: str  # the last lines of the .log, for the reason
    runs: int


def _command(uid: int, workdir: Path, tex_name: str) -> list[str]:
    env = {
        "PATH": "/usr/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "TEXMFVAR": "/tmp/texmf-var",
        "TEXMFOUTPUT": "/work",
        "openin_any": "p",  # kpathsea: no absolute paths, no .., no dotfiles
        "openout_any": "p",
        "shell_escape": "f",
        "SOURCE_DATE_EPOCH": "0",  # reproducible PDFs: same notebook, same bytes
        "FORCE_SOURCE_DATE": "1",
    }
    prlimit = [
        "prlimit", f"--as={1536 << 20}", "--nproc=32", f"--fsize={MAX_PDF_BYTES}",
        "--nofile=256", "--core=0", f"--cpu={int(RUN_TIMEOUT) + 5}", "--",
    ]  # fmt: skip
    setpriv = [
        "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--",
    ]  # fmt: skip
    bwrap = [
        "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
        "--hostname", "sandbox",
        "--ro-bind", "/usr", "/usr", *_usr_links(),
        "--dev", "/dev", "--proc", "/proc",
        "--size", str(64 << 20), "--tmpfs", "/tmp",
        "--bind", str(workdir), "/work", "--chdir", "/work",
    ]  # fmt: skip
    for tree in RO_TREES:
        if Path(tree).is_dir():
            bwrap += ["--ro-bind", tree, tree]
    for key, value in env.items():
        bwrap += ["--setenv", key, value]
    xelatex = [
        "xelatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
        "-file-line-error", tex_name,
    ]  # fmt: skip
    return [*prlimit, *setpriv, *bwrap, "--", *xelatex]


def _read_regular(path: Path, cap: int) -> bytes | None:
    """Read a file the sandbox wrote, refusing symlinks: as root we must not follow one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        return f.read(cap + 1)[: cap + 1]


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


def run_xelatex(workdir: Path, tex_name: str = "notebook.tex") -> LatexRun:
    """Compile ``workdir/tex_name`` in the sandbox; rerun once if the layout asks for it.

    ``workdir`` must hold only the .tex and its images: it is the whole writable
    world of the sandbox. It is handed to the sandbox uid here.
    """
    uid = slot_uid()
    os.chown(workdir, uid, uid)
    os.chmod(workdir, 0o700)
    stem = tex_name.rsplit(".", 1)[0]
    log = b""
    runs = 0
    tex = (workdir / tex_name).read_bytes()
    for runs in range(1, MAX_RUNS + 1):
        try:
            proc = subprocess.run(
                _command(uid, workdir, tex_name),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=RUN_TIMEOUT,
                start_new_session=True,
            )
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = -1
        finally:
            kill_uid(uid)  # whatever the run left behind: the slot is clean for the next
        log = _read_regular(workdir / f"{stem}.log", 4 << 20) or b""
        if code != 0:
            why = f"xelatex timed out after {RUN_TIMEOUT:g} s" if code == -1 else _first_error(log)
            return LatexRun(None, why, runs)
        if not _needs_rerun(log, tex):
            break
    pdf = _read_regular(workdir / f"{stem}.pdf", MAX_PDF_BYTES)
    if pdf is None or not pdf.startswith(b"%PDF") or len(pdf) > MAX_PDF_BYTES:
        return LatexRun(None, "xelatex produced no usable PDF", runs)
    return LatexRun(pdf, "", runs)
