from tests.hostile import Case, callers

CASE = Case(
    doc="generators, dicts, NaN, inf and a 10⁸-element array returned",
    overrides={
        "quadratic_grad": "def quadratic_grad(w, a, b):\n    return (v for v in (a * w[0], b * w[1]))\n",
        "contraction_factors": "def contraction_factors(a, b, lr):\n    return {'rho1': 1 - lr * a}\n",
        "max_stable_lr": "def max_stable_lr(a, b):\n    return float('nan')\n",
        "optimal_lr": "def optimal_lr(a, b):\n    return float('inf')\n",
        "sigmoid": "def sigmoid(z):\n    return np.zeros(10**8)\n",
    },
    zero=frozenset(
        {"quadratic_grad", "contraction_factors", "max_stable_lr", "optimal_lr", "sigmoid"}
    ),
    hurt=callers("quadratic_grad", "contraction_factors", "max_stable_lr", "optimal_lr", "sigmoid"),
)
