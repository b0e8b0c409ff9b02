from tests.hostile import Case, callers

CASE = Case(
    doc="an infinite loop inside a graded function, every catchable signal ignored",
    overrides={
        "gd_trajectory": """
def gd_trajectory(w0, a, b, lr, num_steps):
    import signal
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
        signal.signal(s, signal.SIG_IGN)
    while True:
        pass
"""
    },
    zero=frozenset({"gd_trajectory"}),
    hurt=callers("gd_trajectory"),
)
