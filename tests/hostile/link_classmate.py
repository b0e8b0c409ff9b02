import os

from tests.hostile import Case

CASE = Case(
    doc="a relative symlink to a classmate's correct notebook (+A1.ipynb)",
    entry=lambda path, nb: os.symlink("+A1.ipynb", path),
    status="unreadable",
    reason="symbolic link",
)
