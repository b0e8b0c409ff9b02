from tests.hostile import Case, callers

CASE = Case(
    doc="time.sleep(3600) inside a graded function",
    overrides={
        "quadratic_loss": "def quadratic_loss(w, a, b):\n    import time\n    time.sleep(3600)\n"
    },
    zero=frozenset({"quadratic_loss"}),
    hurt=callers("quadratic_loss"),
)
