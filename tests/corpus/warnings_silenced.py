"""np.where over both branches, with the overflow and nan it computes (and discards) silenced."""

CELLS = {
    "sigmoid": """def sigmoid(z):
    z = np.asarray(z, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))
""",
}
