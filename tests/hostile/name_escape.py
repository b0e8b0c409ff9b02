from tests.hostile import Case

CASE = Case(
    doc="a file name holding terminal escape sequences",
    filename=b"\x1b]0;owned\x07\x1b[2J\x1b[31mred.ipynb",
)
