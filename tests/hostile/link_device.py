import os

from tests.hostile import Case

CASE = Case(
    doc="a symlink to /dev/zero",
    entry=lambda path, nb: os.symlink("/dev/zero", path),
    status="unreadable",
    reason="symbolic link",
)
