from tests.hostile import Case, callers

CASE = Case(
    doc="a plain object overriding __eq__ and __array__, returned instead of an array",
    overrides={
        "quadratic_grad": """
class Liar:
    def __eq__(self, other):
        return True
    def __array__(self, dtype=None, copy=None):
        return np.full(2, 7.0)
    def __len__(self):
        return 2

def quadratic_grad(w, a, b):
    return Liar()
"""
    },
    zero=frozenset({"quadratic_grad"}),
    hurt=callers("quadratic_grad"),
)
