from tests.hostile import Case

CASE = Case(doc="a student id that spreadsheets run as a formula: +A1", filename=b"+A1.ipynb")
