import os

from tests.hostile import Case

CASE = Case(
    doc="a FIFO named like a notebook (opening it would block)",
    entry=lambda path, nb: os.mkfifo(path),
    status="unreadable",
    reason="FIFO",
)
