"""numpy scalars (and 0-d arrays) where a Python float would do."""

CELLS = {
    "squared_error": """def squared_error(y_hat, y):
    return np.sum(np.square(y_hat - y))
""",
    "quadratic_loss": """def quadratic_loss(w, a, b):
    w = np.asarray(w)
    return 0.5 * np.dot(np.array([a, b]), w**2)
""",
    "max_stable_lr": """def max_stable_lr(a, b):
    return np.float64(2) / np.maximum(a, b)
""",
    "optimal_lr": """def optimal_lr(a, b):
    return np.array(2.0 / (a + b))
""",
    "contraction_factors": """def contraction_factors(a, b, lr):
    return np.float64(1 - lr * a), np.float64(1 - lr * b)
""",
}
