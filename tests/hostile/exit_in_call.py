from tests.hostile import Case, callers

CASE = Case(
    doc="os._exit(0), sys.exit(0) and a skip exception inside graded calls",
    overrides={
        "sigmoid_grad": "def sigmoid_grad(z):\n    import os\n    os._exit(0)\n",
        "squared_error": "def squared_error(y_hat, y):\n    import sys\n    sys.exit(0)\n",
        "quadratic_loss": (
            "class Skipped(BaseException):\n    pass\n\n"
            "def quadratic_loss(w, a, b):\n    raise Skipped('pytest.skip')\n"
        ),
    },
    zero=frozenset({"sigmoid_grad", "squared_error", "quadratic_loss"}),
    hurt=callers("sigmoid_grad", "squared_error", "quadratic_loss"),
)
