"""Student.call: each way a call fails becomes a StudentError with a kind and the sentence the
student reads. The sandbox is a fake that dies as told: no process, no root."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from autograder.grade import student as student_mod
from autograder.grade.student import MAX_RESTARTS, Failure, Student, StudentError, _failed
from autograder.run.sandbox import Death, ExecReport, Limits, SandboxDied

LIMITS = Limits(call_timeout=7.0, memory_mb=1024)


class FakeSandbox:
    """Sandbox's interface. ``script`` maps a function name to a SandboxDied to raise or
    to a reply header to return (or to a list of them, one per call); ``on_start``
    (class-wide) is a SandboxDied for start()."""

    script: ClassVar[dict] = {}
    on_start: ClassVar[SandboxDied | None] = None
    started: ClassVar[int] = 0

    def __init__(self, runtime, *, slot, limits, unsafe) -> None:
        self.closed = False
        self.phases: dict[str, float] = {}

    def start(self, cells):
        FakeSandbox.started += 1
        if FakeSandbox.on_start is not None:
            raise FakeSandbox.on_start
        return ExecReport(cells=[{"status": "ok"} for _ in cells])

    def call(self, fn, specs, arrays, **kwargs):
        reply = self.script[fn]
        if isinstance(reply, list):  # one reply per call, in order
            reply = reply.pop(0)
        if isinstance(reply, SandboxDied):
            raise reply
        return reply, [np.array(1.0)]

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def make(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(student_mod, "Sandbox", FakeSandbox)
    FakeSandbox.on_start, FakeSandbox.started = None, 0

    def make(**script) -> Student:
        FakeSandbox.script = script
        return Student(["x = 1"], Path("/nonexistent"), slot=0, limits=LIMITS, unsafe=True)

    return make


def _error(st: Student, fn: str) -> StudentError:
    with pytest.raises(StudentError) as info:
        st.call(fn, np.zeros(2))
    return info.value


OK = {"ok": True, "value": {"t": "array", "i": 0}}


@pytest.mark.parametrize(
    ("died", "kind", "sentence"),
    [
        (SandboxDied(Death.TIMEOUT, "no reply", seconds=9.0), Failure.TIMEOUT,
         "sigmoid did not return within 7 s (an infinite loop, or far too slow)."),
        (SandboxDied(Death.MEMORY, "closed"), Failure.DIED,
         "sigmoid used more than the 1024 MB memory limit and was stopped."),
        (SandboxDied(Death.EXITED, "closed", status=-9), Failure.DIED,
         "sigmoid crashed the Python process (it exited, killed by signal 9)."),
        (SandboxDied(Death.EXITED, "closed", status=3), Failure.DIED,
         "sigmoid crashed the Python process (it exited with status 3)."),
        (SandboxDied(Death.PROTOCOL, "header is not JSON"), Failure.DIED,
         "sigmoid sent the grader a malformed reply (header is not JSON)."),
    ],
)  # fmt: skip
def test_a_sandbox_death_is_the_functions_failure(make, died, kind, sentence):
    st = make(sigmoid=died, forward=OK)
    err = _error(st, "sigmoid")
    assert (err.kind, str(err)) == (kind, sentence)
    assert err.death is died.kind
    # The function that took the sandbox down fails fast from now on, with the same sentence…
    again = _error(st, "sigmoid")
    assert (again.kind, str(again)) == (kind, sentence) and again is not err
    assert FakeSandbox.started == 1
    # …and the others still run, in a restarted sandbox.
    assert st.call("forward", np.zeros(2)).value == np.array(1.0)
    assert st.restarts == 1 and FakeSandbox.started == 2


def test_restarts_run_out(make):
    st = make(**{f"f{i}": SandboxDied(Death.EXITED) for i in range(MAX_RESTARTS + 2)})
    for i in range(MAX_RESTARTS + 1):
        assert _error(st, f"f{i}").kind is Failure.DIED
    err = _error(st, f"f{MAX_RESTARTS + 1}")
    assert err.kind is Failure.RESTART_LIMIT
    assert f"already restarted {MAX_RESTARTS} times" in str(err)


@pytest.mark.parametrize(
    ("died", "why"),
    [
        (SandboxDied(Death.TIMEOUT, seconds=180.0), "time limit exceeded"),
        (SandboxDied(Death.EXITED, status=1), "the process exited with status 1"),
        (SandboxDied(Death.MEMORY), "it used more than the 1024 MB memory limit"),
        (SandboxDied(Death.PROTOCOL, "bad frame magic"), "it sent the grader a malformed report"),
    ],
)
def test_a_notebook_that_does_not_run(make, died, why):
    FakeSandbox.on_start = died
    st = make(sigmoid=OK)
    assert st.start_error == f"your notebook did not finish running ({why})"
    err = _error(st, "sigmoid")
    assert err.kind is Failure.NOT_RUNNING and why in str(err)


@pytest.mark.parametrize(
    ("header", "kind", "exc_type", "sentence"),
    [
        ({"ok": False, "kind": "timeout"}, Failure.TIMEOUT, "", "f did not return within 7 s."),
        ({"ok": False, "kind": "missing"}, Failure.MISSING, "",
         "f is not defined in your notebook."),
        ({"ok": False, "error": "NotImplementedError: todo"}, Failure.NOT_IMPLEMENTED,
         "NotImplementedError", "f is not implemented yet (it raises NotImplementedError)."),
        ({"ok": False, "error": "FloatingPointError: overflow encountered in exp"},
         Failure.RAISED, "FloatingPointError",
         "f raised FloatingPointError: overflow encountered in exp"),
        # The type is the student's: only an identifier is believed to be one.
        ({"ok": False, "error": "<b>x</b>: y"}, Failure.RAISED, "", "f raised <b>x</b>: y"),
        ({"ok": "yes"}, Failure.RAISED, "", "f raised an error"),
        ({"ok": False, "error": ["not", "text"]}, Failure.RAISED, "",
         "f raised ['not', 'text']"),
    ],
)  # fmt: skip
def test_a_reply_that_says_the_call_failed(header, kind, exc_type, sentence):
    err = _failed("f", header, LIMITS)
    assert (err.kind, err.exc_type, str(err)) == (kind, exc_type, sentence)


def test_gist_groups_without_the_students_text():
    assert _failed("f", {"error": "ValueError: secret 42"}, LIMITS).gist == "raised ValueError"
    assert _failed("f", {"error": "@@: x"}, LIMITS).gist == "raised an exception"
    died = StudentError("…", Failure.DIED, death=Death.MEMORY)
    assert died.gist == "over the memory limit"
    assert StudentError("…", Failure.MISSING).gist == "not defined"
    # Every kind has its few words.
    for kind in Failure:
        assert StudentError("…", kind).gist
    for death in Death:
        assert StudentError("…", Failure.DIED, death=death).gist


def test_frames_from_an_earlier_call_blame_it_and_this_call_runs_again(make):
    stray = SandboxDied(Death.PROTOCOL, "a reply nobody asked for", earlier="f")
    st = make(f=OK, g=[stray, OK])
    st.call("f", np.zeros(2))
    # g's call finds f's stray frames: f is blamed, g is called again in a fresh sandbox.
    assert st.call("g", np.zeros(2)).value == np.array(1.0)
    assert st.restarts == 1 and FakeSandbox.started == 2 and "g" not in st.fatal
    err = _error(st, "f")
    assert (err.kind, err.death) == (Failure.DIED, Death.PROTOCOL)
    assert str(err) == "f sent the grader a malformed reply (a reply nobody asked for)."
