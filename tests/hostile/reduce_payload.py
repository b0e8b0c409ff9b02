from tests.hostile import Case, callers

CASE = Case(
    doc="a __reduce__ payload returned, in case the grader unpickles",
    overrides={
        "sigmoid_grad": """
class Payload:
    def __reduce__(self):
        import os
        return (os.system, ("touch /tmp/pwned-by-student",))

def sigmoid_grad(z):
    return Payload()
"""
    },
    zero=frozenset({"sigmoid_grad"}),
    hurt=callers("sigmoid_grad"),
)
