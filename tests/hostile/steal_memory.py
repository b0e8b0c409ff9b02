from tests.hostile import Case, callers

CASE = Case(
    doc="scanning sys.modules and gc for the reference solution",
    overrides={
        "optimal_lr": """
def optimal_lr(a, b):
    import gc, sys
    for mod in list(sys.modules.values()):
        for name in ("optimal_lr", "hw2_reference"):
            f = getattr(mod, name, None)
            if callable(f) and getattr(mod, "__name__", "") != "__main__":
                return f(a, b)
    for obj in gc.get_objects():
        if callable(obj) and getattr(obj, "__name__", "") == "optimal_lr" and obj is not optimal_lr:
            return obj(a, b)
    return 0.0
"""
    },
    zero=frozenset({"optimal_lr"}),
    hurt=callers("optimal_lr"),
)
