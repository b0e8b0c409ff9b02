from tests.hostile import Case

CASE = Case(
    doc="more than 1 MiB of code in the cells (too much for one request to the sandbox)",
    extra=("x = 0\n" * 200_000,),
    status="unreadable",
    reason="MiB of code",
)
