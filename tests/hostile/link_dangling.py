import os

from tests.hostile import Case

CASE = Case(
    doc="a dangling symlink",
    entry=lambda path, nb: os.symlink("no-such-notebook.ipynb", path),
    status="unreadable",
    reason="symbolic link",
)
