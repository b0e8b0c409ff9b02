"""wire.read_frame on forged frames: everything malformed is refused before it is allocated."""

from __future__ import annotations

import json
import os
import struct
import tempfile
import time

import numpy as np
import pytest

from autograder.run import wire


def _read(data: bytes, max_bytes: int = 1 << 20):
    """read_frame over a file holding ``data`` (a file: no pipe-buffer limit, EOF at the end)."""
    with tempfile.TemporaryFile() as fh:
        fh.write(data)
        fh.seek(0)
        return wire.read_frame(fh.fileno(), max_bytes=max_bytes, deadline=time.monotonic() + 5)


def _frame(header: object, body: bytes = b"", magic: bytes = wire.MAGIC) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<4sI", magic, len(raw)) + raw + body


def test_a_frame_round_trips():
    arrays = [np.arange(6, dtype=np.float64).reshape(2, 3), np.array(3, dtype=np.int32),
              np.array([True, False]), np.zeros((0, 4), dtype=np.float32)]  # fmt: skip
    header, got = _read(wire.encode_frame({"ok": True, "n": 1.5}, arrays))
    assert header == {"ok": True, "n": 1.5}
    for a, b in zip(arrays, got, strict=True):
        assert type(b) is np.ndarray and b.dtype == a.dtype and b.shape == a.shape
        assert np.array_equal(a, b) and b.flags.writeable


def test_big_endian_arrays_are_sent_little_endian():
    (_, (got,)) = _read(wire.encode_frame({}, [np.arange(3, dtype=">f8")]))
    assert got.dtype.str == "<f8" and got.tolist() == [0.0, 1.0, 2.0]


def test_bad_magic():
    with pytest.raises(wire.WireError, match="magic"):
        _read(_frame({"arrays": []}, magic=b"HW2\x02"))


def test_oversized_header_is_refused_before_reading_it():
    prefix = struct.pack("<4sI", wire.MAGIC, wire.MAX_HEADER_BYTES + 1)
    with pytest.raises(wire.WireError, match="header too large"):
        _read(prefix)  # no header bytes follow: it never tried to read them
    with pytest.raises(wire.WireError, match="header too large"):
        _read(struct.pack("<4sI", wire.MAGIC, 0xFFFFFFFF))


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe\x00",
        b"[1, 2]",
        b'"arrays"',
        b"{}",
        b'{"arrays": 3}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_header_that_is_not_a_frame_header(raw: bytes):
    with pytest.raises(wire.WireError):
        _read(_frame(raw))


@pytest.mark.parametrize(
    "dtype", ["|O", ">f8", ">i4", "<U3", "|S4", "<c16", "<M8[s]", "|V8", "f8", "<f16", 3, None]
)
def test_non_numeric_or_big_endian_dtype(dtype):
    body = b"\0" * 64
    with pytest.raises(wire.WireError, match="dtype"):
        _read(_frame({"arrays": [{"dtype": dtype, "shape": [2]}]}, body))


@pytest.mark.parametrize(
    "shape",
    [[1 << 40], [-1], [2.0], [True], "3", None, [1] * 9, [[2]], {"0": 2}],
)
def test_malformed_shape(shape):
    with pytest.raises(wire.WireError, match="shape"):
        _read(_frame({"arrays": [{"dtype": "<f8", "shape": shape}]}, b"\0" * 64))


@pytest.mark.parametrize("shape", [[1 << 20, 1 << 20], [(1 << 40) - 1], [1 << 39, 1 << 39]])
def test_huge_shape_is_refused_by_the_cap_before_allocating(shape):
    with pytest.raises(wire.WireError, match="cap"):
        _read(_frame({"arrays": [{"dtype": "<f8", "shape": shape}]}), max_bytes=1 << 30)


def test_total_of_several_arrays_counts_against_the_cap():
    spec = {"dtype": "<f8", "shape": [100]}
    frame = _frame({"arrays": [spec, spec]}, b"\0" * 1600)
    with pytest.raises(wire.WireError, match="cap"):
        _read(frame, max_bytes=1599)
    assert len(_read(frame, max_bytes=1600)[1]) == 2


@pytest.mark.parametrize(
    "spec", [[], "x", {"dtype": "<f8"}, {"dtype": "<f8", "shape": [1], "x": 1}]
)
def test_malformed_array_spec(spec):
    with pytest.raises(wire.WireError):
        _read(_frame({"arrays": [spec]}, b"\0" * 8))


def test_truncated_body_and_truncated_header():
    frame = wire.encode_frame({"ok": True}, [np.ones(10)])
    for cut in (len(frame) - 1, len(frame) - 80, 10, 3):
        with pytest.raises(wire.WireError):
            _read(frame[:cut])


def test_a_silent_peer_times_out():
    r, w = os.pipe()
    try:
        os.write(w, wire.MAGIC)  # half a prefix, then nothing
        with pytest.raises(wire.WireTimeout):
            wire.read_frame(r, max_bytes=1 << 20, deadline=time.monotonic() + 0.05)
    finally:
        os.close(r)
        os.close(w)
