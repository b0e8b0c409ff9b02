from pathlib import Path

from tests.hostile import Case


def _deeper(path: Path, notebook: bytes) -> None:
    (path / "hw2" / "hw2").mkdir(parents=True)
    (path / "hw2" / "hw2" / "hw2.ipynb").write_bytes(notebook)


CASE = Case(
    doc="an nbgrader submission one folder too deep: hw2/hw2/hw2.ipynb",
    filename=b"nbgrader_deeper",
    entry=_deeper,
    status="unreadable",
    reason="no notebook at nbgrader_deeper/hw2/*.ipynb",
)
