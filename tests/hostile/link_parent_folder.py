import os
import shutil
from pathlib import Path

from tests.conftest import REPO
from tests.hostile import Case


def _linked_folder(path: Path, notebook: bytes) -> None:
    # nbgrader's <student>/hw2/hw2.ipynb, where <student> is a link to a folder elsewhere
    # holding the instructor notebook: the link is a parent, not the file itself.
    outside = path.parent.parent / "outside-the-submissions"
    (outside / "hw2").mkdir(parents=True)
    shutil.copy(REPO / "solutions" / "hw2_instructor.ipynb", outside / "hw2" / "hw2.ipynb")
    os.symlink(outside, path)


CASE = Case(
    doc="an nbgrader student folder that is a symlink to a folder outside the submissions",
    filename=b"link_parent_folder",
    entry=_linked_folder,
    status="unreadable",
    reason="symbolic link",
)
