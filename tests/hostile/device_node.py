import os
import stat

from tests.hostile import Case

CASE = Case(
    doc="a character device (/dev/zero's numbers) named like a notebook",
    entry=lambda path, nb: os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 5)),
    status="unreadable",
    reason="character device",
)
