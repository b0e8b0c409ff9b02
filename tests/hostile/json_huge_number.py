from tests.hostile import Case, callers

# A reply header holding a 5000-digit integer: Python's int-string limit (4300 digits)
# makes json.loads raise ValueError, not JSONDecodeError.
_SIGMOID = """
def sigmoid(z):
    import os, struct, sys
    import wire
    body = b'{"ok": true, "arrays": [], "value": ' + b"9" * 5000 + b"}"
    os.write(int(sys.argv[2]), wire.MAGIC + struct.pack("<I", len(body)) + body)
    return 1 / (1 + np.exp(-z))
"""

CASE = Case(
    doc="a forged reply with an oversized JSON number",
    overrides={"sigmoid": _SIGMOID},
    zero=frozenset({"sigmoid"}),
    hurt=callers("sigmoid"),
    message="header is not JSON",
)
