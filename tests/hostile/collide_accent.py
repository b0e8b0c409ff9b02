from tests.hostile import Case

CASE = Case(
    doc="collide + a combining accent, which an ASCII-only id would merge with collide",
    filename="collide\u0301.ipynb".encode(),
)
