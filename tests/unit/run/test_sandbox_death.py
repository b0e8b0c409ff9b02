"""Sandbox._receive and _send: each way a sandbox stops answering becomes a typed SandboxDied.

No process is started: the reply pipe is an ordinary pipe written by the test.
"""

from __future__ import annotations

import os
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

from autograder.run import isolation, wire
from autograder.run.sandbox import Death, Limits, Sandbox, SandboxDied


@pytest.fixture
def box():
    """A Sandbox whose reply pipe's write end the test holds (``box.peer``)."""
    sb = Sandbox(Path("/nonexistent"), limits=Limits(), unsafe=True)
    sb._reply_r, sb.peer = os.pipe()
    sb._req_w, sb.fds = -1, []
    sb.deadline = time.monotonic() + 30
    yield sb
    for fd in (sb._reply_r, sb.peer, *sb.fds):
        try:
            os.close(fd)
        except OSError:
            pass


def _died(sb: Sandbox, timeout: float = 5.0) -> SandboxDied:
    with pytest.raises(SandboxDied) as info:
        sb._receive(max_bytes=1 << 20, timeout=timeout)
    return info.value


def test_a_reply_that_never_comes_is_a_timeout_with_its_seconds(box):
    died = _died(box, timeout=0.2)
    assert died.kind is Death.TIMEOUT and died.seconds == pytest.approx(0.2, abs=0.01)
    box.deadline = time.monotonic() + 0.1  # the submission's own deadline comes first
    died = _died(box, timeout=5)
    assert died.kind is Death.TIMEOUT and died.seconds == pytest.approx(0.1, abs=0.01)


def test_a_closed_pipe_is_an_exit(box):
    os.close(box.peer)
    died = _died(box)
    assert died.kind is Death.EXITED and died.status is None


def test_a_forged_frame_is_a_protocol_error(box):
    os.write(box.peer, b"HW2\x01" + (1 << 30).to_bytes(4, "little"))
    died = _died(box)
    assert died.kind is Death.PROTOCOL and died.detail == "header too large"
    os.write(box.peer, b"XXXX\x00\x00\x00\x00")
    assert _died(box).kind is Death.PROTOCOL


def test_an_oom_kill_in_the_cgroup_is_a_memory_death(box, tmp_path: Path):
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n")
    box.conf = isolation.Confinement(
        isolation.Level.NONE, 0, isolation.PROBE_LIMITS, isolation.Cgroup((tmp_path,))
    )
    os.close(box.peer)
    assert _died(box).kind is Death.MEMORY
    box._ooms_before = 1  # that kill happened before this call (Sandbox.call counts them)
    assert _died(box).kind is Death.EXITED
    (tmp_path / "memory.events").write_text("oom 0\noom_kill 0\n")
    box._ooms_before = 0
    assert _died(box).kind is Death.EXITED


def test_a_request_nobody_reads_is_a_timeout(box):
    r, w = os.pipe()
    try:
        box._req_w = w
        big = [np.zeros(1 << 18)]  # 2 MiB: more than a pipe holds
        with pytest.raises(SandboxDied) as info:
            box._send({"op": "call"}, big, timeout=0.2)
        assert info.value.kind is Death.TIMEOUT
        os.close(r)
        with pytest.raises(SandboxDied) as info:
            box._send({"op": "call"}, timeout=0.2)
        assert info.value.kind is Death.EXITED
    finally:
        os.close(w)


def test_the_message_names_the_kind_for_the_log():
    died = SandboxDied(Death.PROTOCOL, "bad frame magic")
    assert str(died) == "protocol: bad frame magic"
    assert isinstance(wire.WireClosed("x"), wire.WireError)


class FakeWorker:
    """Answers each request on the box's pipes as ``answer(request) -> bytes`` says."""

    def __init__(self, sb: Sandbox, answer) -> None:
        self.req_r, sb._req_w = os.pipe()
        sb.fds += [self.req_r, sb._req_w]
        self.sb, self.answer = sb, answer
        sb.proc = types.SimpleNamespace(poll=lambda: None, wait=lambda timeout: None)

    def serve_one(self) -> threading.Thread:
        def run():
            request, _ = wire.read_frame(self.req_r, max_bytes=1 << 20)
            os.write(self.sb.peer, self.answer(request))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread


def _call(sb: Sandbox, fn: str):
    return sb.call(fn, [], [], max_bytes=1 << 20)


def _reply(seq, value: float = 1.0) -> bytes:
    return wire.encode_frame({"ok": True, "value": {"t": "array", "i": 0}, "seq": seq},
                             [np.array(value)])  # fmt: skip


def test_replies_are_matched_to_their_requests(box):
    worker = FakeWorker(box, lambda req: _reply(req["seq"]))
    worker.serve_one()
    header, arrays = _call(box, "f")
    assert header["ok"] is True and arrays[0] == 1.0
    assert box._last is not None and box._last[1] == "f"


def test_bytes_waiting_before_a_request_blame_the_earlier_call(box):
    worker = FakeWorker(box, lambda req: _reply(req["seq"]) + _reply(req["seq"] + 1))
    thread = worker.serve_one()
    _call(box, "f")  # answered, with one more frame behind the reply: a forged one
    thread.join()
    with pytest.raises(SandboxDied) as info:
        _call(box, "g")
    assert (info.value.kind, info.value.earlier) == (Death.PROTOCOL, "f")


def test_a_reply_to_the_earlier_request_blames_the_earlier_call(box):
    seqs = []

    def answer(req):  # the first reply is forged ahead of the worker's; the second is late
        seqs.append(req["seq"])
        return _reply(req["seq"]) if len(seqs) == 1 else _reply(seqs[0])

    worker = FakeWorker(box, answer)
    worker.serve_one()
    _call(box, "f")
    worker.serve_one()
    with pytest.raises(SandboxDied) as info:
        _call(box, "g")
    assert (info.value.kind, info.value.earlier) == (Death.PROTOCOL, "f")


@pytest.mark.parametrize("seq", [None, 12345, "x"])
def test_a_reply_to_no_request_blames_this_call(box, seq):
    worker = FakeWorker(box, lambda req: _reply(seq))
    worker.serve_one()
    with pytest.raises(SandboxDied) as info:
        _call(box, "f")
    assert (info.value.kind, info.value.earlier) == (Death.PROTOCOL, "")
