from tests.hostile import Case, callers

CASE = Case(
    doc="an ndarray subclass overriding __eq__, __array_function__ and __array_ufunc__",
    overrides={
        "sigmoid": """
class Always(np.ndarray):
    def __eq__(self, other):
        return True
    def __array_function__(self, func, types, args, kwargs):
        return True
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.ones(np.shape(inputs[0]), dtype=bool)

def sigmoid(z):
    return np.zeros(np.shape(z)).view(Always)
"""
    },
    zero=frozenset({"sigmoid"}),
    hurt=callers("sigmoid"),
)
