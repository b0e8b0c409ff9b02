"""Loops over the examples of the batch, and over entries."""

CELLS = {
    "backward": """def backward(x, y, W1, W2):
    dW1, dW2 = np.zeros(W1.shape), np.zeros(W2.shape)
    for j in range(x.shape[1]):
        xj, yj = x[:, j:j + 1], y[:, j:j + 1]
        z = W1 @ xj
        u = sigmoid(z)
        e = 2 * (W2 @ u - yj)
        dW2 += e @ u.T
        dW1 += ((W2.T @ e) * u * (1 - u)) @ xj.T
    return dW1, dW2
""",
    "squared_error": """def squared_error(y_hat, y):
    total = 0.0
    for a, b in zip(np.ravel(y_hat), np.ravel(y)):
        total += (a - b) ** 2
    return total
""",
    "forward": """def forward(x, W1, W2):
    n = x.shape[1]
    Z = np.zeros((W1.shape[0], n))
    for j in range(n):
        Z[:, j] = W1 @ x[:, j]
    u = sigmoid(Z)
    y_hat = np.zeros((W2.shape[0], n))
    for j in range(n):
        y_hat[:, j] = W2 @ u[:, j]
    return Z, u, y_hat
""",
}
