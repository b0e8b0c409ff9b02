"""Atomic writes: a reader (or a crash) never sees half a file.

Grades are private: every output is readable by its owner and group (files 640,
folders 750, whatever the umask), never by other users. Outputs belong to the user
who ran the command; under sudo, to the user who invoked sudo (SUDO_UID/SUDO_GID).
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


def make_dirs(path: Path) -> None:
    """``mkdir -p`` whose new folders get DIR_MODE and the output owner."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    owner = output_owner()
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(folder, DIR_MODE)  # the umask may have taken bits away
        if owner:
            os.chown(folder, *owner)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename over ``path``.

    The temporary name keeps at most 50 characters of ``path``'s name, so it stays
    under the 255-byte limit of a file name whatever ``path`` is called.
    """
    make_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:50]}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
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
