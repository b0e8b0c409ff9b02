import os

from tests.conftest import REPO
from tests.hostile import Case

CASE = Case(
    doc="a symlink to the instructor notebook (which would score 4/4 and leak the model answers)",
    entry=lambda path, nb: os.symlink(REPO / "solutions" / "hw2_instructor.ipynb", path),
    status="unreadable",
    reason="symbolic link",
)
