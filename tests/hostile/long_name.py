from tests.hostile import Case

CASE = Case(
    doc="a 249-character stem: the longest name the file system allows",
    filename=b"L" * 249 + b".ipynb",
)
