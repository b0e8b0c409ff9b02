"""numerical_gradient over a flat index with unit vectors, returned as nested lists."""

CELLS = {
    "numerical_gradient": """def numerical_gradient(f, W, eps=1e-5):
    W = np.asarray(W, dtype=float)
    g = []
    for i in range(W.size):
        e = np.zeros(W.size)
        e[i] = eps
        e = e.reshape(W.shape)
        g.append((f(W + e) - f(W - e)) / (2 * eps))
    return np.reshape(g, W.shape).tolist()
""",
}
