"""Plain Python containers everywhere numpy would turn them into the right numbers."""

CELLS = {
    "quadratic_loss": """def quadratic_loss(w, a, b):
    return np.float64(0.5 * (a * w[0] ** 2 + b * w[1] ** 2))
""",
    "quadratic_grad": """def quadratic_grad(w, a, b):
    return [a * w[0], b * w[1]]
""",
    "gd_step": """def gd_step(w, a, b, lr):
    g = quadratic_grad(w, a, b)
    return [w[0] - lr * g[0], w[1] - lr * g[1]]
""",
    "gd_trajectory": """def gd_trajectory(w0, a, b, lr, num_steps):
    rows = [list(w0)]
    for _ in range(num_steps):
        rows.append(gd_step(rows[-1], a, b, lr))
    return rows
""",
    "contraction_factors": """def contraction_factors(a, b, lr):
    return np.array([1 - lr * a, 1 - lr * b])
""",
    "train": """def train(x, y, W1, W2, lr, num_steps):
    W1, W2 = W1.copy(), W2.copy()
    losses = [squared_error(forward(x, W1, W2)[2], y)]
    for _ in range(num_steps):
        dW1, dW2 = backward(x, y, W1, W2)
        W1 = W1 - lr * dW1
        W2 = W2 - lr * dW2
        losses.append(squared_error(forward(x, W1, W2)[2], y))
    return W1, W2, losses
""",
}
