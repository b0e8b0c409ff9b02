from tests.hostile import Case

CASE = Case(
    doc="an infinite loop at top level with SIGINT and SIGTERM ignored",
    extra=(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass",
    ),
    reason="timed out",
)
