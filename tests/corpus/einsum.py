"""einsum for every product."""

CELLS = {
    "forward": """def forward(x, W1, W2):
    Z = np.einsum("hd,dn->hn", W1, x)
    u = 1 / (1 + np.exp(-np.abs(Z)))
    u = np.where(Z >= 0, u, 1 - u)
    return Z, u, np.einsum("kh,hn->kn", W2, u)
""",
    "backward": """def backward(x, y, W1, W2):
    Z, u, y_hat = forward(x, W1, W2)
    delta = 2 * (y_hat - y)
    dZ = np.einsum("kh,kn->hn", W2, delta) * sigmoid_grad(Z)
    return np.einsum("hn,dn->hd", dZ, x), np.einsum("kn,hn->kh", delta, u)
""",
    "squared_error": """def squared_error(y_hat, y):
    r = y_hat - y
    return float(np.einsum("ij,ij->", r, r))
""",
}
