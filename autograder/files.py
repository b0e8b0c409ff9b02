"""Output files: atomic writes, so a reader (or a crash) never sees half a file.

Grades are private: every output is readable by its owner and group (files 640,
folders 750, whatever the umask), never by other users, unless the caller asks for a
wider mode (the student notebook is 644). Outputs belong to the user who ran the
command; under sudo, to the user who invoked sudo (SUDO_UID/SUDO_GID).

A top-level module, below every subpackage: release, grade, report, review and the
integrations all write through it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

FILE_MODE = 0o640
DIR_MODE = 0o750


def output_owner() -> tuple[int, int] | None:
    """(uid, gid) outputs are handed to under sudo; None when they stay the runner's."""
    uid = os.environ.get("SUDO_UID", "")
    if os.geteuid() != 0 or not uid.isdigit() or int(uid) == 0:
        return None
    gid = os.environ.get("SUDO_GID", "")
    return int(uid), int(gid) if gid.isdigit() else int(uid)


def make_dirs(path: Path, mode: int = DIR_MODE) -> None:
    """``mkdir -p`` whose new folders get ``mode`` and the output owner."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    owner = output_owner()
    for folder in reversed(missing):
        try:
            os.mkdir(folder, mode)
        except FileExistsError:
            continue
        os.chmod(folder, mode)  # the umask may have taken bits away
        if owner:
            os.chown(folder, *owner)


def _dir_mode(file_mode: int) -> int:
    """Folders as open as the file inside: whoever may read it may enter them."""
    read = file_mode & 0o444
    return 0o700 | read | (read >> 2)


def write_atomic(path: Path, data: str | bytes, mode: int = FILE_MODE) -> None:
    """Write ``data`` (text as UTF-8) to a temporary file beside ``path``, fsync it,
    then rename over ``path``, which gets ``mode``.

    Missing folders are made, as open as ``mode`` lets its readers in. The temporary
    name keeps at most 50 characters of ``path``'s name, so it stays under the
    255-byte limit of a file name whatever ``path`` is called; it matches TEMPORARIES.
    """
    path = Path(path)
    make_dirs(path.parent, _dir_mode(mode))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:50]}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        if owner := output_owner():
            os.fchown(fd, *owner)
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_private(path: Path, mode: int = FILE_MODE) -> None:
    """Create ``path`` if missing (empty) and give it ``mode`` and the output owner, whatever
    the umask: for files another library writes in place, such as an SQLite database."""
    make_dirs(path.parent, _dir_mode(mode))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)
        if owner := output_owner():
            os.fchown(fd, *owner)
    finally:
        os.close(fd)


TEMPORARIES = ".*.tmp"  # the temporaries of write_atomic


def remove_stale_temporaries(folder: Path) -> None:
    """Delete write_atomic's temporaries under ``folder``: only a run killed mid-write
    leaves one behind."""
    if folder.is_dir():
        for tmp in folder.rglob(TEMPORARIES):
            tmp.unlink(missing_ok=True)
