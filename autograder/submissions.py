"""Step 0: find the submissions named on the command line and read their code cells.

A SUBMISSION argument may be a notebook file (student id = file stem), a folder
of notebooks (ids = stems), or an nbgrader tree ``submitted/<student>/<assignment>/``
(id = the student folder). Reading happens in the trusted process but only
parses JSON: nothing in the notebook is executed here.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from autograder.run.wire import MAX_HEADER_BYTES

MAX_NOTEBOOK_BYTES = 100 << 20
# The code cells travel to the sandbox in one request header, JSON-escaped.
MAX_CODE_BYTES = MAX_HEADER_BYTES - 4096
MAX_ID_CHARS = 80  # ids name files under OUT/ (≤ 255 bytes with prefixes and suffixes)
_ID_RE = re.compile(r"[^A-Za-z0-9_.@+-]+")
# Folders that tools, not students, put beside submissions: never searched.
_TOOL_DIRS = {".ipynb_checkpoints", "__MACOSX"}
_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder named like a notebook",
}
LINK_PROBLEM = "not graded: a symbolic link (links are never followed; submit the notebook file)"


class SubmissionError(Exception):
    """A command-line SUBMISSION argument that names nothing gradable."""


class UnreadableNotebook(Exception):
    """A notebook file that cannot be graded; the message is the reason in its row."""


@dataclass(frozen=True)
class Submission:
    """One row of the gradebook: a notebook to grade, or an entry that says why not.

    ``path`` is ``root`` joined with the parts below it; every part below ``root`` is
    opened without following links. ``problem`` is why the entry is not graded
    (a link, a FIFO, a hidden file, …); ``note`` is shown in the row (a changed id).
    """

    student: str
    path: Path
    root: Path | None = None
    problem: str = ""
    note: str = ""


def _short_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:8]


def student_id(name: str) -> str:
    """A file-system-safe id for a name: any bytes and any length.

    A name already in the safe alphabet ([A-Za-z0-9_.@+-], no leading or trailing
    ``.``/``_``, at most MAX_ID_CHARS) is its own id. Any other name keeps a readable
    prefix plus a hash of its bytes, so ``alicé``, ``.alice`` and ``M\\x81ller`` get
    ids distinct from ``alice`` and ``M_ller`` and the same id on every run.
    """
    safe = _ID_RE.sub("_", name).strip("._")
    if safe == name and len(safe) <= MAX_ID_CHARS:
        return safe
    return f"{safe[: MAX_ID_CHARS - 9] or 'unnamed'}-{_short_hash(os.fsencode(name))}"


def _problem(st: os.stat_result, name: str) -> str:
    """Why this directory entry (from lstat) is not a notebook to grade, or ""."""
    if stat.S_ISLNK(st.st_mode):
        return LINK_PROBLEM
    if not stat.S_ISREG(st.st_mode):
        return f"not graded: {_KINDS.get(stat.S_IFMT(st.st_mode), 'not a regular file')}"
    if name.startswith("._"):
        return "not a submission: a macOS metadata file (AppleDouble, its name starts with '._')"
    if name.startswith("."):
        return "not graded: a hidden file (its name starts with '.'); rename it to grade it"
    return ""


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None


def _entry(path: Path, root: Path | None, name: str) -> Submission:
    st = _lstat(path)
    problem = "not graded: the file cannot be read" if st is None else _problem(st, path.name)
    return Submission(student_id(name), path, root, problem)


def _notebooks_below(folder: Path, depth: int) -> list[tuple[Path, os.stat_result]]:
    """Every ``*.ipynb`` entry up to ``depth`` levels below ``folder``, links not followed."""
    found = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return []
    for e in entries:
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        path = Path(e.path)
        if e.name.endswith(".ipynb"):
            found.append((path, st))
        elif stat.S_ISDIR(st.st_mode) and depth > 1 and e.name not in _TOOL_DIRS:
            found += _notebooks_below(path, depth - 1)
    return found


def _nbgrader_student(root: Path, student_dir: Path, assignment: str) -> Submission | None:
    """The row of ``<root>/<student>/<assignment>/<notebook>.ipynb``, or None if no notebook.

    A folder holding notebooks only elsewhere (one level too deep, or none but a
    hidden file) still gets a row that says where its notebook should be.
    """
    student = student_id(student_dir.name)
    below = _notebooks_below(student_dir, 3)
    placed = [(p, st) for p, st in below if len(p.relative_to(student_dir).parts) == 2]

    def rank(item: tuple[Path, os.stat_result]) -> tuple[bool, bool, bool, str]:
        p, st = item
        return (bool(_problem(st, p.name)), p.parent.name != assignment, p.stem != assignment,
                p.name)  # fmt: skip

    if placed:
        path, st = min(placed, key=rank)
        return Submission(student, path, root, _problem(st, path.name))
    if below:
        where = ", ".join(str(p.relative_to(root)) for p, _ in below[:3])
        problem = (
            f"not graded: no notebook at {student_dir.name}/{assignment}/*.ipynb (found {where})"
        )
        return Submission(student, below[0][0], root, problem)
    return None


def _resolve_collisions(found: list[Submission]) -> list[Submission]:
    """Give submissions whose ids collide (case-insensitively, as on macOS) distinct ids.

    Each keeps a readable prefix plus a hash of its absolute path, so the ids are
    stable across runs, and gets a note naming the others. Nobody is refused.
    """
    groups: dict[str, list[Submission]] = {}
    for s in found:
        groups.setdefault(s.student.casefold(), []).append(s)
    out = []
    for group in groups.values():
        if len(group) == 1:
            out += group
            continue
        for s in group:
            new = f"{s.student[: MAX_ID_CHARS - 9]}-{_short_hash(os.fsencode(s.path.absolute()))}"
            note = (
                f"id {s.student!r} is shared by {len(group)} submissions; "
                f"this one ({s.path.name}) is graded as {new!r}"
            )
            out.append(Submission(new, s.path, s.root, s.problem, note))
    return out


def discover(args: list[Path], assignment: str = "hw2") -> list[Submission]:
    """Expand SUBMISSION arguments into rows, sorted by student id.

    Every ``*.ipynb`` entry in a folder gets a row: links, FIFOs, devices, folders
    named ``*.ipynb``, hidden files and AppleDouble files get one saying why they
    are not graded, and links are never followed below an argument. Colliding ids
    are made distinct. Raises SubmissionError only for a missing path, a folder
    without notebooks or a file that is not named ``.ipynb``.
    """
    found: list[Submission] = []
    for arg in args:
        st = _lstat(arg)
        if st is None:
            raise SubmissionError(f"{arg}: no such file or folder")
        if stat.S_ISLNK(st.st_mode) and arg.is_dir():
            st = os.stat(arg)  # a folder the instructor named: follow that one link
        if not stat.S_ISDIR(st.st_mode):
            if arg.suffix != ".ipynb":
                raise SubmissionError(f"{arg}: not a notebook (.ipynb) file")
            # The final part is opened without following a link; the parents are the instructor's.
            found.append(_entry(arg, arg.parent, arg.stem))
            continue
        before = len(found)
        for path, st in _notebooks_below(arg, 1):
            found.append(Submission(student_id(path.stem), path, arg, _problem(st, path.name)))
        try:
            entries = sorted(os.scandir(arg), key=lambda e: e.name)
        except OSError as exc:
            raise SubmissionError(f"{arg}: cannot be read ({exc.strerror})") from None
        for e in entries:
            if e.name.endswith(".ipynb") or e.name in _TOOL_DIRS:
                continue
            if e.is_symlink() and e.is_dir():  # stat only: nothing is opened
                # A link to a folder, perhaps an nbgrader student's: never followed, not dropped.
                found.append(Submission(student_id(e.name), Path(e.path), arg, LINK_PROBLEM))
            elif e.is_dir(follow_symlinks=False):
                sub = _nbgrader_student(arg, Path(e.path), assignment)
                if sub is not None:
                    found.append(sub)
        if len(found) == before:
            raise SubmissionError(f"{arg}: no notebooks (.ipynb) in this folder")
    unique = list({(s.path.absolute(), s.student): s for s in found}.values())
    return sorted(_resolve_collisions(unique), key=lambda s: s.student)


def _open_path(path: Path, root: Path | None) -> int:
    """An O_PATH descriptor of ``path``: no part below ``root`` followed if it is a link.

    O_PATH opens nothing: a device's driver is not called, a FIFO does not block.
    """
    final = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
    if root is None or not path.is_relative_to(root):
        return os.open(path, final)
    parts = path.relative_to(root).parts
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                          dir_fd=fd)  # fmt: skip
            os.close(fd)
            fd = nxt
        return os.open(parts[-1], final, dir_fd=fd)
    finally:
        os.close(fd)


def read_notebook_bytes(path: Path, root: Path | None = None) -> bytes:
    """The bytes of a submitted file, read safely.

    No link is followed (below ``root``, and never the file itself); only a regular
    file is ever opened for reading, never a FIFO or a device; the size is checked on
    that file before any byte is read, so a huge (or sparse) file costs nothing.
    Raises UnreadableNotebook.
    """
    try:
        handle = _open_path(path, root)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # a link where a folder should be
            raise UnreadableNotebook(LINK_PROBLEM) from None
        raise UnreadableNotebook(f"the file cannot be read ({exc.strerror})") from None
    try:
        st = os.fstat(handle)
        problem = _problem(st, "")
        if problem:
            raise UnreadableNotebook(problem)
        if st.st_size == 0:
            raise UnreadableNotebook("the file is empty")
        if st.st_size > MAX_NOTEBOOK_BYTES:
            raise UnreadableNotebook(f"the file is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
        # The very file just checked, reopened for reading: no window to swap it.
        fd = os.open(f"/proc/self/fd/{handle}", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise UnreadableNotebook(f"the file cannot be read ({exc.strerror})") from None
    finally:
        os.close(handle)
    try:
        chunks, got = [], 0
        while got <= MAX_NOTEBOOK_BYTES and (chunk := os.read(fd, 1 << 20)):
            chunks.append(chunk)
            got += len(chunk)
        if got > MAX_NOTEBOOK_BYTES:  # it grew while we read
            raise UnreadableNotebook(f"the file is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableNotebook(f"the file cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)


def read_submission(sub: Submission) -> bytes:
    """The bytes of ``sub``'s notebook, or UnreadableNotebook with the reason for its row."""
    if sub.problem:
        raise UnreadableNotebook(sub.problem)
    return read_notebook_bytes(sub.path, sub.root)


def cell_place(number: int, grade_id: str = "") -> str:
    """How feedback names a cell: its number among all the notebook's cells, counted from
    1 as Jupyter shows them, with the item it answers if any: "cell 61 (backward)"."""
    return f"cell {number}" + (f" ({grade_id})" if grade_id else "")


def read_code_cells(sub: Submission) -> list[str]:
    """The source of every code cell, in order (see :func:`read_code_cells_placed`)."""
    return read_code_cells_placed(sub)[0]


def read_code_cells_placed(sub: Submission) -> tuple[list[str], list[str]]:
    """(sources, places): every code cell's source and :func:`cell_place`, in order.
    nbformat 3 notebooks are upgraded to 4.

    Raises UnreadableNotebook with a one-line reason for anything that is not a
    notebook: a link, FIFO or device, empty, binary, truncated or non-JSON, too
    large, or with more code than one request to the sandbox may carry.
    """
    import nbformat

    try:
        text = read_submission(sub).decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableNotebook("the file is not text (not a Jupyter notebook)") from None
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises many types for broken JSON
        kind = "JSON" if "JSON" in type(exc).__name__ or "Expecting" in str(exc) else "notebook"
        raise UnreadableNotebook(f"the file is not a valid Jupyter notebook (bad {kind})") from None
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise UnreadableNotebook("the notebook has no list of cells")
    sources, places = [], []
    for number, cell in enumerate(cells, start=1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            src = cell.get("source", "")
            sources.append("".join(src) if isinstance(src, list) else str(src))
            meta = cell.get("metadata")
            grade = meta.get("nbgrader") if isinstance(meta, dict) else None
            gid = grade.get("grade_id") if isinstance(grade, dict) else None
            ok = isinstance(gid, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", gid)
            places.append(cell_place(number, gid if ok else ""))
    size = len(json.dumps(sources))
    if size > MAX_CODE_BYTES:
        raise UnreadableNotebook(
            f"the notebook's code cells hold {size / (1 << 20):.1f} MiB of code; the grader "
            f"runs at most {MAX_CODE_BYTES / (1 << 20):.1f} MiB (is there data pasted into a cell?)"
        )
    return sources, places
