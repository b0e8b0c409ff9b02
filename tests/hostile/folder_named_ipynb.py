from pathlib import Path

from tests.hostile import Case


def _folder(path: Path, notebook: bytes) -> None:
    path.mkdir()
    (path / "hw2.ipynb").write_bytes(notebook)


CASE = Case(
    doc="a folder named like a notebook",
    entry=_folder,
    status="unreadable",
    reason="folder named like a notebook",
)
