"""float32 arithmetic where the tolerance allows it."""

CELLS = {
    "sigmoid": """def sigmoid(z):
    z = np.asarray(z, dtype=np.float32)
    return (0.5 * (1 + np.tanh(0.5 * z))).astype(np.float32)
""",
    "sigmoid_grad": """def sigmoid_grad(z):
    s = sigmoid(z)
    return (s * (1 - s)).astype(np.float32)
""",
    "forward": """def forward(x, W1, W2):
    x, W1, W2 = (np.asarray(m, dtype=np.float32) for m in (x, W1, W2))
    Z = W1 @ x
    u = sigmoid(Z)
    return Z, u, W2 @ u
""",
    "quadratic_loss": """def quadratic_loss(w, a, b):
    w = np.asarray(w, dtype=np.float32)
    return np.float32(0.5) * (np.float32(a) * w[0] ** 2 + np.float32(b) * w[1] ** 2)
""",
    "optimal_lr": """def optimal_lr(a, b):
    return np.float32(2.0 / (a + b))
""",
}
