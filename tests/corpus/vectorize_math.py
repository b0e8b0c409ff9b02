"""A scalar function from the math module, vectorised with np.vectorize."""

CELLS = {
    "sigmoid": """def _sigma(t):
    if t >= 0:
        return 1.0 / (1.0 + math.exp(-t))
    e = math.exp(t)
    return e / (1.0 + e)


def sigmoid(z):
    return np.vectorize(_sigma, otypes=[float])(z)
""",
    "sigmoid_grad": """def sigmoid_grad(z):
    return np.vectorize(lambda t: _sigma(t) * (1.0 - _sigma(t)), otypes=[float])(z)
""",
    "quadratic_loss": """def quadratic_loss(w, a, b):
    return 0.5 * (a * math.pow(w[0], 2) + b * math.pow(w[1], 2))
""",
    "max_stable_lr": """def max_stable_lr(a, b):
    return 2 / max(a, b)
""",
    "optimal_lr": """def optimal_lr(a, b):
    return math.fsum([2.0]) / math.fsum([a, b])
""",
}
