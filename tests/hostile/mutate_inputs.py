from tests.hostile import Case, callers

CASE = Case(
    doc="mutating the input arrays in place so a reference computed afterwards agrees",
    overrides={
        "backward": """
def backward(x, y, W1, W2):
    x[...] = 0.0
    y[...] = 0.0
    W1[...] = 0.0
    return np.zeros(W1.shape), np.zeros(W2.shape)
"""
    },
    zero=frozenset({"backward"}),
    hurt=callers("backward"),
)
