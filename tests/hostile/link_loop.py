import os

from tests.hostile import Case

CASE = Case(
    doc="a symlink to itself (a loop)",
    entry=lambda path, nb: os.symlink(path.name, path),
    status="unreadable",
    reason="symbolic link",
)
