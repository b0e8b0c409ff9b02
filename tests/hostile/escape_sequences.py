from tests.hostile import Case, callers

# Clear screen, window title, a hyperlink, OSC 52 (write the clipboard), an 8-bit CSI,
# a cursor-position query and a bidi override: in the message and in the class name.
_EVIL = (
    "\\x1b[2J\\x1b]0;owned\\x07\\x1b]8;;http://evil.example/\\x07click\\x1b]8;;\\x07"
    "\\x1b]52;c;cm0gLXJmIH4=\\x07\\x9b31m\\x1b[6n\\u202egnp.exe\\r"
)
_RAISE = f"""
class Evil(Exception):
    pass
Evil.__name__ = Evil.__qualname__ = "Evil{_EVIL}"
raise Evil("{_EVIL}")
"""

CASE = Case(
    doc="terminal escape sequences (CSI, OSC 0/8/52, C1, bidi) in exception text and class names",
    extra=(_RAISE,),
    overrides={
        "sigmoid": "def sigmoid(z):\n" + "\n".join("    " + line for line in _RAISE.splitlines())
    },
    zero=frozenset({"sigmoid"}),
    hurt=callers("sigmoid"),
    reason="cell 2: ",
)
