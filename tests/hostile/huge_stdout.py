from tests.hostile import Case

CASE = Case(
    doc="300 MB of stdout at top level",
    extra=(
        "import sys\nline = 'y' * 1023 + '\\n'\nfor _ in range(300 * 1024):\n    sys.stdout.write(line)",
    ),
)
