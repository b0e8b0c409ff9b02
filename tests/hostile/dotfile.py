from tests.hostile import Case

CASE = Case(
    doc="a hidden file .collide.ipynb",
    filename=b".collide.ipynb",
    status="unreadable",
    reason="hidden file",
)
