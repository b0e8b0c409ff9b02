from tests.hostile import Case

CASE = Case(
    doc="a file that is not JSON",
    raw=b"def sigmoid(z): return z\n",
    status="unreadable",
    reason="not a valid Jupyter notebook",
)
