from tests.hostile import ALL, Case

CASE = Case(
    doc="os._exit(0) at top level: the notebook never finishes",
    extra=("import os\nos._exit(0)",),
    zero=ALL,
    reason="did not finish running",
)
