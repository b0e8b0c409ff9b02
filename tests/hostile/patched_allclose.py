from tests.hostile import Case, callers

CASE = Case(
    doc="np.allclose, np.isclose and numpy.testing patched in a cell, plus a wrong backward",
    extra=(
        """
import numpy.testing
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)
np.array_equal = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
""",
    ),
    overrides={
        "backward": """
def backward(x, y, W1, W2):
    return np.zeros(W1.shape), np.zeros(W2.shape)
"""
    },
    zero=frozenset({"backward"}),
    hurt=callers("backward"),
)
