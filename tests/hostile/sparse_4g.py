from pathlib import Path

from tests.hostile import Case


def _sparse(path: Path, notebook: bytes) -> None:
    with open(path, "wb") as f:
        f.truncate(4 << 30)  # 4 GiB that take no disk space


CASE = Case(
    doc="a 4 GiB sparse file (it must not be read, nor hashed)",
    entry=_sparse,
    status="unreadable",
    reason="larger than",
)
