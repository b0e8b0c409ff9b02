from tests.hostile import Case

CASE = Case(
    doc="a network connection to a listener the suite opens on 127.0.0.1",
    extra=(
        """
import socket
for host in ("127.0.0.1", "localhost"):
    try:
        s = socket.create_connection((host, {PORT}), timeout=1)
        s.sendall(b"stolen")
    except OSError:
        pass
""",
    ),
    at={"uid": {"network": True, "why": "the uid level has no network namespace (README)"}},
)
