from tests.hostile import Case, callers

CASE = Case(
    doc="lone surrogates in exception text, at top level and from a graded call",
    extra=('raise ValueError("lone \\ud800 surrogate")\n',),
    overrides={"sigmoid": 'def sigmoid(z):\n    raise ValueError("\\udcff\\ud800")\n'},
    zero=frozenset({"sigmoid"}),
    hurt=callers("sigmoid"),
    reason="cell 2: ",
)
