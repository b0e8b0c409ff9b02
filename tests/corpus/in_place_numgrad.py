"""numerical_gradient perturbing W in place and restoring it (up to rounding)."""

CELLS = {
    "numerical_gradient": """def numerical_gradient(f, W, eps=1e-5):
    grad = np.zeros(W.shape)
    for i in np.ndindex(W.shape):
        W[i] += eps
        f_plus = f(W)
        W[i] -= 2 * eps
        f_minus = f(W)
        W[i] += eps
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad
""",
}
