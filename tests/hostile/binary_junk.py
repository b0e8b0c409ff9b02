from tests.hostile import Case

CASE = Case(doc="binary junk", raw=bytes(range(256)) * 64, status="unreadable", reason="not text")
