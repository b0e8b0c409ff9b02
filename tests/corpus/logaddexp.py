"""A stable sigmoid from logaddexp, and σ' from exponentials of −|z|."""

CELLS = {
    "sigmoid": """def sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=float)))
""",
    "sigmoid_grad": """def sigmoid_grad(z):
    e = np.exp(-np.abs(np.asarray(z, dtype=float)))
    return e / (1 + e) ** 2
""",
}
