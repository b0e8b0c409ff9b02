import nbformat

from tests.hostile import Case


def _v3() -> bytes:
    nb = nbformat.reads(Case(doc="").build(0).decode(), as_version=4)
    return nbformat.writes(nbformat.convert(nb, 3)).encode()


CASE = Case(doc="a correct notebook saved as nbformat 3 (upgraded and graded)", raw=_v3())
