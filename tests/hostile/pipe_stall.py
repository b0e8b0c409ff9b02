from tests.hostile import ALL, Case

# After the notebook has run, the worker stops reading requests (its read is replaced
# by a sleep), after shrinking the request pipe to one page and queueing forged
# replies, so the grader's calls go on until a request no longer fits the pipe.
_STALL = """
import fcntl, json, os, struct, sys, time
import wire

_req, _reply = int(sys.argv[1]), int(sys.argv[2])
fcntl.fcntl(_req, 1031, 4096)  # F_SETPIPE_SZ

def _stop_reading(*args, **kwargs):
    body = json.dumps({"ok": False, "kind": "missing", "arrays": []}).encode()
    frame = wire.MAGIC + struct.pack("<I", len(body)) + body
    for _ in range(400):
        os.write(_reply, frame)
    time.sleep(10**6)

wire.read_frame = _stop_reading
"""

CASE = Case(
    doc="a pipe stall: F_SETPIPE_SZ on the request pipe, forged replies, no more reading",
    extra=(_STALL,),
    zero=ALL,
)
