from tests.hostile import Case

CASE = Case(
    doc="sys.exit(0) and a fake pytest.skip at top level: the cell fails, the rest still runs",
    extra=(
        "import sys\nsys.exit(0)",
        "class Skipped(BaseException):\n    pass\nraise Skipped('skip')",
    ),
    reason="SystemExit",
)
