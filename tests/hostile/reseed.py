from tests.hostile import Case, callers

CASE = Case(
    doc="predicting the hidden inputs by re-seeding and patching np.random",
    extra=(
        """
np.random.seed(0)
_orig = np.random.default_rng
np.random.default_rng = lambda *a, **k: _orig(0)
""",
    ),
    overrides={
        "quadratic_loss": """
def quadratic_loss(w, a, b):
    rng = np.random.default_rng(0)
    guess = rng.normal(size=2)
    return float(0.5 * (a * guess[0] ** 2 + b * guess[1] ** 2))
"""
    },
    zero=frozenset({"quadratic_loss"}),
    hurt=callers("quadratic_loss"),
)
