"""gd_trajectory by recursion, and a gd_step that copies first."""

CELLS = {
    "gd_trajectory": """def gd_trajectory(w0, a, b, lr, num_steps):
    if num_steps == 0:
        return np.array([w0], dtype=float)
    previous = gd_trajectory(w0, a, b, lr, num_steps - 1)
    return np.vstack([previous, gd_step(previous[-1], a, b, lr)])
""",
    "gd_step": """def gd_step(w, a, b, lr):
    new = np.array(w, dtype=float)
    new -= lr * quadratic_grad(w, a, b)
    return new
""",
}
