from tests.hostile import Case

CASE = Case(
    doc="writing a huge file at top level",
    extra=(
        """
with open("/tmp/huge.bin", "wb") as f:
    chunk = b"x" * (1 << 20)
    for _ in range(4096):
        f.write(chunk)
""",
    ),
    reason="cell 2: ",
)
