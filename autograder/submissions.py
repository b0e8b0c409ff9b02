"""Step 0: find the submissions named on the command line and read their code cells.

A SUBMISSION argument may be a notebook file (student id = file stem), a folder
of notebooks (ids = stems), or an nbgrader tree ``submitted/<student>/<assignment>/``
(id = the student folder). Reading happens in the trusted process but only
parses JSON: nothing in the notebook is executed here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MAX_NOTEBOOK_BYTES = 100 << 20
_ID_RE = re.compile(r"[^A-Za-z0-9_.@+-]+")


class SubmissionError(Exception):
    """A command-line SUBMISSION argument that names nothing gradable."""


class UnreadableNotebook(Exception):
    """A notebook file that cannot be graded; the message is the reason in its row."""


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path


def _student_id(name: str) -> str:
    # Ids become file names under OUT/: keep them to a safe alphabet.
    return _ID_RE.sub("_", name).strip("._") or "unnamed"


def discover(args: list[Path], assignment: str = "hw2") -> list[Submission]:
    """Expand SUBMISSION arguments into submissions, sorted by student id.

    Raises SubmissionError for a missing path, a folder without notebooks, a
    file that is not a .ipynb, or two submissions claiming the same student id.
    """
    found: list[Submission] = []
    for arg in args:
        if not arg.exists():
            raise SubmissionError(f"{arg}: no such file or folder")
        if arg.is_file():
            if arg.suffix != ".ipynb":
                raise SubmissionError(f"{arg}: not a notebook (.ipynb) file")
            found.append(Submission(_student_id(arg.stem), arg))
            continue
        here = sorted(p for p in arg.glob("*.ipynb") if p.is_file())
        found += [Submission(_student_id(p.stem), p) for p in here]
        # nbgrader: <arg>/<student>/<assignment>/<notebook>.ipynb
        for student_dir in sorted(p for p in arg.iterdir() if p.is_dir()):
            notebooks = sorted(student_dir.glob("*/*.ipynb"))
            preferred = [p for p in notebooks if p.parent.name == assignment] or notebooks
            preferred = [p for p in preferred if not p.name.startswith(".")]
            if preferred:
                exact = [p for p in preferred if p.stem == assignment]
                found.append(Submission(_student_id(student_dir.name), (exact or preferred)[0]))
        if not here and not any(s.path.is_relative_to(arg) for s in found):
            raise SubmissionError(f"{arg}: no notebooks (.ipynb) in this folder")
    ids = [s.student for s in found]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise SubmissionError(f"two submissions for the same student id: {', '.join(dupes)}")
    return sorted(found, key=lambda s: s.student)


def read_code_cells(path: Path) -> list[str]:
    """The source of every code cell, in order. nbformat 3 notebooks are upgraded to 4.

    Raises UnreadableNotebook with a one-line reason for anything that is not a
    notebook: empty, binary, truncated or non-JSON, or too large.
    """
    import nbformat

    try:
        size = path.stat().st_size
        if size == 0:
            raise UnreadableNotebook("the file is empty")
        if size > MAX_NOTEBOOK_BYTES:
            raise UnreadableNotebook(f"the file is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadableNotebook("the file is not text (not a Jupyter notebook)") from None
    except OSError as exc:
        raise UnreadableNotebook(f"the file cannot be read ({exc.strerror})") from None
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises many types for broken JSON
        kind = "JSON" if "JSON" in type(exc).__name__ or "Expecting" in str(exc) else "notebook"
        raise UnreadableNotebook(f"the file is not a valid Jupyter notebook (bad {kind})") from None
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise UnreadableNotebook("the notebook has no list of cells")
    sources = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            src = cell.get("source", "")
            sources.append("".join(src) if isinstance(src, list) else str(src))
    return sources
