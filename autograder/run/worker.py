"""The program that runs inside the sandbox, one per submission.

It is started by :mod:`autograder.run.sandbox` as the unprivileged sandbox uid,
with the submission's code cells already parsed by the trusted side, and it

1. executes the code cells top to bottom in one namespace, as a kernel would:
   a failing cell is recorded and the next cell still runs; IPython magics and
   shell escapes are dropped (there is no shell to reach, and no IPython);
2. answers call requests: the trusted side names a student function and sends
   plain arrays; the worker calls the function on copies and sends back what it
   returned (and the arguments afterwards, to detect mutation) as plain arrays.

Everything here is untrusted once student code has run: the student can patch
this very module. That is fine, because the trusted side never believes a
frame, it only validates and compares numbers it reads off the wire.

Requests arrive on the fd named by argv[1] and replies leave on argv[2]; stdin
is /dev/null and so are the student's stdout and stderr (no report shows them).
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
import types

import numpy as np
import objective
import wire

MESSAGE_CHARS = 300


class Timeout(BaseException):
    """Raised by SIGALRM inside student code; BaseException so `except Exception` can't eat it."""


def _on_alarm(signum, frame):
    raise Timeout()


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # the student may have replaced or closed them
            pass


def _magic_free(source: str) -> str:
    """Drop IPython-only syntax: `%%cell` magics skip the cell, `%line`/`!shell` become `pass`."""
    if source.lstrip().startswith("%%"):
        return ""
    out = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            line = line[: len(line) - len(stripped)] + "pass"
        out.append(line)
    return "\n".join(out)


def _describe(exc: BaseException) -> dict:
    """The exception as the student should see it: type, message, and their own cell line."""
    if isinstance(exc, Timeout):
        return {"kind": "timeout", "error": "timed out"}
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename.startswith("<cell"):
            line = [frame.f_code.co_filename, lineno, frame.f_code.co_name]
    text = str(exc)
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__  # no bare colon
    if len(message) > MESSAGE_CHARS:
        message = message[:MESSAGE_CHARS] + "…"
    return {"kind": "exception", "error": message, "where": line}


def _run_cells(cells: list[str], timeout: float, ns: dict, seconds: list) -> list[dict]:
    results = []
    for i, source in enumerate(cells):
        seconds.append(0.0)
        start = time.perf_counter()
        try:
            code = compile(_magic_free(source), f"<cell {i}>", "exec")
        except (SyntaxError, ValueError) as exc:
            results.append(
                {
                    "status": "error",
                    **_describe(exc),
                    "where": [f"<cell {i}>", getattr(exc, "lineno", None), ""],
                }
            )
            continue
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout)
            exec(code, ns)
            status = {"status": "ok"}
        except BaseException as exc:  # SystemExit and KeyboardInterrupt included
            status = {"status": "error", **_describe(exc)}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            _flush()
            seconds[-1] = time.perf_counter() - start
        results.append(status)
    return results


# The objective for numerical_gradient (objective.py, shipped beside this file), built
# here from trusted parameters.
def _make_objective(spec: dict, arrays: list[np.ndarray]):
    kind, c = spec["kind"], arrays[spec["c"]]
    if kind != objective.KIND:
        raise ValueError(f"unknown objective {kind!r}")
    f_of = objective.Objective(c=c, scale=float(spec["scale"]))

    def f(W):
        W = np.asarray(W, dtype=np.float64)
        if W.shape != c.shape:
            raise ValueError(f"f expects an array of shape {c.shape}, got {W.shape}")
        return f_of(W)

    return f


def _arg(spec, arrays):
    if "array" in spec:
        return arrays[spec["array"]].copy()
    if "float" in spec:
        return float(spec["float"])
    if "int" in spec:
        return int(spec["int"])
    if "objective" in spec:
        return _make_objective(spec["objective"], arrays)
    raise ValueError("bad argument spec")


# A returned list or tuple crosses as a "seq" node that says which it was (feedback names
# the student's actual container); strings cross as bounded text (only the graph question
# returns names). The trusted side validates both again: this file is student-patchable.
MAX_NODES = 2048
TEXT_CHARS = 40


def _to_tree(value, out: list, budget: list, depth: int = 0):
    """Flatten a return value into a JSON tree whose leaves index plain arrays in ``out``.

    ``budget`` is ``[bytes left, nodes left]``.
    """
    budget[1] -= 1
    if budget[1] < 0:
        return {"t": "bad", "type": "value with too many items"}
    if isinstance(value, (tuple, list)) and depth < 3 and len(value) <= MAX_NODES:
        kind = "list" if isinstance(value, list) else "tuple"
        return {
            "t": "seq",
            "kind": kind,
            "items": [_to_tree(v, out, budget, depth + 1) for v in value],
        }
    if isinstance(value, str):
        return {"t": "str", "s": str.__getitem__(value, slice(0, TEXT_CHARS))}
    if isinstance(value, (bool, int, float, np.ndarray, np.generic)):
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            return {"t": "bad", "type": "int too large"}
        try:
            arr = np.array(value)
        except Exception:
            return {"t": "bad", "type": type(value).__name__}
        if arr.dtype.kind not in "biuf":
            return {"t": "bad", "type": f"array of {arr.dtype.name}"}
        if arr.nbytes > budget[0]:
            return {"t": "bad", "type": f"array too large {list(arr.shape)}"}
        budget[0] -= arr.nbytes
        out.append(np.asarray(arr, dtype=arr.dtype.newbyteorder("<")).view(np.ndarray))
        return {"t": "array", "i": len(out) - 1}
    return {"t": "bad", "type": type(value).__name__}


def _call(header: dict, arrays: list[np.ndarray], ns: dict) -> tuple[dict, list]:
    fn = ns.get(header["fn"])
    if not callable(fn):
        return {"ok": False, "kind": "missing", "error": f"{header['fn']} is not defined"}, []
    args = [_arg(s, arrays) for s in header["args"]]
    try:
        signal.setitimer(signal.ITIMER_REAL, float(header["timeout"]))
        # "fp": "raise" grades "no overflow warning" exactly as the notebook's self-check
        # does: an overflow, invalid operation or division by zero raises FloatingPointError.
        strict = {"over": "raise", "invalid": "raise", "divide": "raise"}
        with np.errstate(**(strict if header.get("fp") == "raise" else {})):
            value = fn(*args)
    except BaseException as exc:
        return {"ok": False, **_describe(exc)}, []
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _flush()
    out: list = []
    budget = [int(header["max_bytes"]), MAX_NODES]
    reply = {"ok": True, "value": _to_tree(value, out, budget)}
    if header.get("return_args"):
        reply["args_after"] = [
            _to_tree(a, out, budget) if isinstance(a, np.ndarray) else None for a in args
        ]
    return reply, out


def main(req_fd: int, reply_fd: int) -> None:
    """Serve one submission on these two pipes (a cold start, or a warm fork: zygote.py)."""
    signal.signal(signal.SIGALRM, _on_alarm)
    header, _ = wire.read_frame(req_fd, max_bytes=0)
    ns = {"__name__": "__main__", "__builtins__": __builtins__}
    sys.modules["__main__"] = types.ModuleType("__main__")
    sys.modules["__main__"].__dict__.update(ns)
    ns = sys.modules["__main__"].__dict__
    seconds: list[float] = []  # each cell's, for the grader's timing split only
    cells = _run_cells(header["cells"], float(header["cell_timeout"]), ns, seconds)
    wire.write_frame(reply_fd, {"cells": cells, "seconds": seconds})
    while True:
        header, arrays = wire.read_frame(req_fd, max_bytes=1 << 30)
        if header.get("op") == "bye":
            break
        try:
            reply, out = _call(header, arrays, ns)
        except BaseException as exc:
            reply, out = {"ok": False, **_describe(exc)}, []
        reply["seq"] = header.get("seq")  # which request this answers (autograder.run.sandbox)
        wire.write_frame(reply_fd, reply, out)
    os._exit(0)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
