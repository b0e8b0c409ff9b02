from tests.hostile import Case

# Inside a graded call, the student's code finds the worker's reply pipe (the write-only
# FIFO among its descriptors), reads the request it is answering off the worker's frames,
# and writes straight to the pipe, ahead of the worker's own reply:
#   1. a well-formed reply to this request (its own seq) claiming the value 0.0;
#   2. well-formed replies to the next requests, with guessed seqs, claiming zeros;
#   3. a frame with a good magic and a lying header: 1 MiB of array data it never sends,
#      so whoever reads it swallows the frames behind it as numbers, then waits.
# Then it returns the right value, which the worker sends as the last frame.
# Were replies matched to requests only by their order, every later call would get an
# earlier call's reply (or hang on the lying frame): the functions graded after this one
# would be scored on numbers meant for other calls. The grader must see the stray frames,
# blame this function, restart the sandbox and grade the others as if nothing happened.
_FORGER = """
def quadratic_loss(w, a, b):
    import json, os, stat, struct, sys
    import wire

    reply = None
    for fd in map(int, os.listdir("/proc/self/fd")):
        try:
            st, flags = os.fstat(fd), __import__("fcntl").fcntl(fd, 3)  # F_GETFL
        except OSError:
            continue
        if stat.S_ISFIFO(st.st_mode) and flags & 3 == os.O_WRONLY:
            reply = fd
    seq, f = None, sys._getframe()
    while f is not None:
        h = f.f_locals.get("header")
        if isinstance(h, dict) and h.get("op") == "call":
            seq = h.get("seq")
            break
        f = f.f_back

    def frame(header, arrays=(), declared=None):
        specs = declared or [{"dtype": "<f8", "shape": list(np.shape(x))} for x in arrays]
        body = json.dumps({**header, "arrays": specs}).encode()
        data = b"".join(np.asarray(x, dtype="<f8").tobytes() for x in arrays)
        return wire.MAGIC + struct.pack("<I", len(body)) + body + data

    value = {"t": "array", "i": 0}
    forged = frame({"ok": True, "value": value, "seq": seq}, [np.float64(0.0)])
    later = b"".join(
        frame({"ok": True, "value": value, "seq": s}, [np.zeros(2)])
        for s in ([seq + k for k in range(1, 4)] if isinstance(seq, int) else [None] * 3)
    )
    lying = frame({"ok": True, "value": value}, [np.zeros(2)],
                  declared=[{"dtype": "<f8", "shape": [1 << 17]}])
    os.write(reply, forged + later + lying)
    return 0.5 * (a * w[0] ** 2 + b * w[1] ** 2)
"""

CASE = Case(
    doc="forged frames on the reply pipe: a reply for this call, replies for later ones, a lying header",
    overrides={"quadratic_loss": _FORGER},
    zero=frozenset({"quadratic_loss"}),
)
