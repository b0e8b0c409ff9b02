"""gd_trajectory in closed form, from the contraction factors."""

CELLS = {
    "gd_trajectory": """def gd_trajectory(w0, a, b, lr, num_steps):
    rho = np.array(contraction_factors(a, b, lr))
    t = np.arange(num_steps + 1)[:, None]
    return np.asarray(w0, dtype=float) * rho**t
""",
    "gd_step": """def gd_step(w, a, b, lr):
    return np.asarray(w) * np.array(contraction_factors(a, b, lr))
""",
}
