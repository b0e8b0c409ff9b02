from tests.hostile import Case, callers

CASE = Case(
    doc="a return value whose __array__ walks the caller's frames for the expected answer",
    overrides={
        "max_stable_lr": """
class Spy:
    def __array__(self, dtype=None, copy=None):
        import sys
        f = sys._getframe()
        while f is not None:
            for name in ("want", "expected", "ref", "dW1"):
                if name in f.f_locals:
                    return np.asarray(f.f_locals[name], dtype=float)
            f = f.f_back
        return np.asarray(0.0)

def max_stable_lr(a, b):
    return Spy()
"""
    },
    zero=frozenset({"max_stable_lr"}),
    hurt=callers("max_stable_lr"),
)
