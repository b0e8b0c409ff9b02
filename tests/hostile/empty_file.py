from tests.hostile import Case

CASE = Case(doc="an empty file", raw=b"", status="unreadable", reason="empty")
