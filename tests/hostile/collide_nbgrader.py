from pathlib import Path

from tests.hostile import Case


def _nbgrader(path: Path, notebook: bytes) -> None:
    (path / "hw2").mkdir(parents=True)
    (path / "hw2" / "hw2.ipynb").write_bytes(notebook)


CASE = Case(
    doc="the same stem in two folders: nbgrader's collide/hw2/hw2.ipynb beside collide.ipynb",
    filename=b"collide",
    entry=_nbgrader,
    reason="is shared by 2 submissions",
)
