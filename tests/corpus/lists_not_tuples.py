"""Several values returned as lists rather than tuples."""

CELLS = {
    "forward": """def forward(x, W1, W2):
    Z = W1 @ x
    u = sigmoid(Z)
    return [Z, u, W2 @ u]
""",
    "backward": """def backward(x, y, W1, W2):
    Z, u, y_hat = forward(x, W1, W2)
    delta = 2 * (y_hat - y)
    return [((W2.T @ delta) * sigmoid_grad(Z)) @ x.T, delta @ u.T]
""",
    "train": """def train(x, y, W1, W2, lr, num_steps):
    losses = []
    for _ in range(num_steps):
        losses.append(squared_error(forward(x, W1, W2)[2], y))
        dW1, dW2 = backward(x, y, W1, W2)
        W1, W2 = W1 - lr * dW1, W2 - lr * dW2
    losses.append(squared_error(forward(x, W1, W2)[2], y))
    return [W1, W2, np.array(losses)]
""",
    "contraction_factors": """def contraction_factors(a, b, lr):
    return [1.0 - lr * a, 1.0 - lr * b]
""",
    "quadratic_grad": """def quadratic_grad(w, a, b):
    return (a * w[0], b * w[1])
""",
    "gd_step": """def gd_step(w, a, b, lr):
    return np.asarray(w) - lr * np.asarray(quadratic_grad(w, a, b))
""",
}
