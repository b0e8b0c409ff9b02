"""The graph with other spellings (ŷ, \\hat{y}, loss) and the loss split into two steps."""

CELLS = {
    "computational_graph": """def computational_graph():
    return (
        ("Z", "W1 @ x", ("W1", "x")),
        ("u", "sigmoid", "Z"),
        ("ŷ", "W2 @ u", ["W2", "u"]),
        ("r", "difference", ["\\\\hat{y}", "y"]),
        ("loss", "sum of squares", ["r"]),
    )
""",
}
