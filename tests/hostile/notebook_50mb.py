import json

from tests.hostile import Case


def _big() -> bytes:
    nb = json.loads(Case(doc="").build(0))
    blob = "A" * (50 << 20)
    nb["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": blob}]
    return json.dumps(nb).encode()


CASE = Case(doc="a correct notebook of 50 MB (a huge output)", raw=_big())
