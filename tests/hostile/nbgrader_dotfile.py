from pathlib import Path

from tests.hostile import Case


def _dotfile(path: Path, notebook: bytes) -> None:
    (path / "hw2").mkdir(parents=True)
    (path / "hw2" / ".hw2.ipynb").write_bytes(notebook)


CASE = Case(
    doc="an nbgrader submission whose only notebook is a hidden file hw2/.hw2.ipynb",
    filename=b"nbgrader_dotfile",
    entry=_dotfile,
    status="unreadable",
    reason="hidden file",
)
