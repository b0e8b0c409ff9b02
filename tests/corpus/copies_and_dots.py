"""np.dot instead of @, explicit copies, and a train that keeps a tuple of losses."""

CELLS = {
    "backward": """def backward(x, y, W1, W2):
    Z, u, y_hat = forward(x, W1, W2)
    d_yhat = 2.0 * (y_hat - y)
    d_u = np.dot(W2.T, d_yhat)
    d_Z = d_u * sigmoid_grad(Z)
    return np.dot(d_Z, x.T), np.dot(d_yhat, u.T)
""",
    "train": """def train(x, y, W1, W2, lr, num_steps):
    W1, W2 = np.copy(W1), np.copy(W2)
    losses = (squared_error(forward(x, W1, W2)[2], y),)
    for _ in range(num_steps):
        dW1, dW2 = backward(x, y, W1, W2)
        W1 -= lr * dW1
        W2 -= lr * dW2
        losses += (squared_error(forward(x, W1, W2)[2], y),)
    return W1, W2, losses
""",
    "gd_step": """def gd_step(w, a, b, lr):
    return tuple(np.asarray(w) - lr * np.asarray(quadratic_grad(w, a, b)))
""",
}
