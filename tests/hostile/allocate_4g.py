from tests.hostile import Case, callers

CASE = Case(
    doc="allocating 4 GiB inside a graded function",
    overrides={
        "optimal_lr": """
def optimal_lr(a, b):
    block = np.ones(4 * 2**30 // 8)
    return float(block[0])
"""
    },
    zero=frozenset({"optimal_lr"}),
    hurt=callers("optimal_lr"),
)
