from tests.hostile import Case

CASE = Case(doc="a student id that spreadsheets run as a formula: -1+1", filename=b"-1+1.ipynb")
