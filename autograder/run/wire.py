"""The wire format between the trusted grader and the sandboxed worker.

A frame is ``MAGIC | uint32 header length | JSON header | raw array bytes``. The
header's ``"arrays"`` lists ``{"dtype", "shape"}`` for each array, whose bytes
follow in order. Nothing but JSON and raw little-endian numbers ever crosses:
no pickle, no compression, so a hostile sender can neither run code in the
receiver nor inflate a small frame into a large allocation.

This module is shared: the worker inside the sandbox imports it to speak, the
trusted side imports it to listen. The trusted side treats every frame it reads
as hostile, so :func:`read_frame` validates sizes, dtypes and shapes before it
allocates anything. It needs only the standard library and numpy.
"""

from __future__ import annotations

import json
import os
import re
import select
import struct
import time
from typing import Any

import numpy as np

MAGIC = b"HW2\x01"
_PREFIX = struct.Struct("<4sI")
MAX_HEADER_BYTES = 1 << 20
# Plain numbers only: bool, signed and unsigned integers, floats; little-endian.
_DTYPE_RE = re.compile(r"^[<|](b1|i[1248]|u[1248]|f[248])$")
MAX_NDIM = 8


class WireError(Exception):
    """The peer broke the protocol: bad magic, oversize, bad dtype or shape, EOF, timeout."""


class WireTimeout(WireError):
    """No complete frame arrived before the deadline."""


class WireClosed(WireError):
    """The peer closed its end of the pipe (it exited, or was killed)."""


def encode_frame(header: dict[str, Any], arrays: list[np.ndarray] = ()) -> bytes:
    """Serialise ``header`` and ``arrays`` (plain numeric ndarrays) into one frame."""
    specs, blobs = [], []
    for a in arrays:
        a = np.asarray(a)
        if not a.flags.c_contiguous:  # np.ascontiguousarray would turn 0-d into 1-d
            a = a.copy(order="C")
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        specs.append({"dtype": a.dtype.str, "shape": list(a.shape)})
        blobs.append(a.tobytes())
    body = json.dumps({**header, "arrays": specs}, allow_nan=True).encode()
    return b"".join([_PREFIX.pack(MAGIC, len(body)), body, *blobs])


def write_frame(
    fd: int, header: dict[str, Any], arrays: list[np.ndarray] = (), deadline: float | None = None
) -> None:
    """Write one frame. With a ``deadline`` (time.monotonic), raise WireTimeout past it.

    A peer that stops reading (and may have shrunk the pipe with F_SETPIPE_SZ) would
    block a plain write forever, so with a deadline the fd is written non-blocking,
    waiting for room with select.
    """
    data = memoryview(encode_frame(header, arrays))
    if deadline is None:
        while data:
            data = data[os.write(fd, data) :]
        return
    blocking = os.get_blocking(fd)
    os.set_blocking(fd, False)
    try:
        while data:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [fd], [], left)[1]:
                raise WireTimeout("timed out writing a request")
            try:
                data = data[os.write(fd, data) :]
            except BlockingIOError:
                continue
    finally:
        os.set_blocking(fd, blocking)


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise WireTimeout("timed out")
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise WireClosed("the sandbox closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _valid_text(node: Any) -> Any:
    """``node`` with every string made valid text: a lone surrogate (JSON allows
    ``"\\ud800"``) cannot be encoded, so it is shown as the escape ``\\ud800``.

    This is the one place strings from the sandbox become text the grader can write.
    """
    if isinstance(node, str):
        return node.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(node, list):
        return [_valid_text(v) for v in node]
    if isinstance(node, dict):
        return {_valid_text(k): _valid_text(v) for k, v in node.items()}
    return node


def _array_spec(spec: Any) -> tuple[np.dtype, tuple[int, ...], int]:
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape"}:
        raise WireError("malformed array spec")
    dtype, shape = spec["dtype"], spec["shape"]
    if not isinstance(dtype, str) or not _DTYPE_RE.match(dtype):
        raise WireError(f"non-numeric dtype {str(dtype)[:20]!r}")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_NDIM
        or not all(type(s) is int and 0 <= s < 1 << 40 for s in shape)
    ):
        raise WireError("malformed shape")
    dt = np.dtype(dtype)
    return dt, tuple(shape), int(np.prod(shape, dtype=object)) * dt.itemsize


def read_frame(
    fd: int, *, max_bytes: int, deadline: float | None = None
) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Read one frame; refuse it before allocating if its arrays exceed ``max_bytes``.

    Returns the header and the arrays as fresh, writable, base-class ndarrays.
    """
    magic, length = _PREFIX.unpack(_read_exact(fd, _PREFIX.size, deadline))
    if magic != MAGIC:
        raise WireError("bad frame magic")
    if length > MAX_HEADER_BYTES:
        raise WireError("header too large")
    try:
        # ValueError covers an integer beyond Python's int-string limit (4300 digits).
        header = _valid_text(json.loads(_read_exact(fd, length, deadline)))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError("header is not JSON") from exc
    if not isinstance(header, dict) or not isinstance(header.get("arrays"), list):
        raise WireError("header is not a frame header")
    specs = [_array_spec(s) for s in header.pop("arrays")]
    if sum(nbytes for _, _, nbytes in specs) > max_bytes:
        raise WireError(f"arrays larger than the {max_bytes}-byte cap")
    arrays = []
    for dt, shape, nbytes in specs:
        buf = _read_exact(fd, nbytes, deadline)
        arrays.append(np.frombuffer(buf, dtype=dt).reshape(shape).copy())
    return header, arrays
