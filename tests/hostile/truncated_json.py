from tests.hostile import Case

CASE = Case(
    doc="truncated JSON",
    raw=b'{"cells": [{"cell_type": "code", "source": "x = ',
    status="unreadable",
    reason="not a valid Jupyter notebook",
)
