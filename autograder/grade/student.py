"""The trusted side's view of a student's notebook: a proxy behind the `student` fixture.

``student.backward(x, y, W1, W2)`` looks like a call, but the function runs in
the sandbox; what comes back has been read off the wire as plain numbers and is
rebuilt here into base-class ndarrays, :class:`~autograder.grade.checks.Seq` (a list or
tuple that remembers which it was), :class:`~autograder.grade.checks.Text` (a bounded,
normalised name, for the graph question only) or
:class:`~autograder.grade.checks.Unusable` markers. ``student.fn(...)`` gives the value;
``student.watch.fn(...)`` also the arguments as the function left them. If the student's code
raised, timed out or crashed, the call raises :class:`StudentError` with a
message written for the student. A sandbox that died is restarted (re-running
the notebook) so the remaining functions can still be graded.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.grade.checks import Seq, Text, Unusable
from autograder.run.objective import KIND as OBJECTIVE_KIND
from autograder.run.objective import Objective
from autograder.run.sandbox import ExecReport, Limits, Sandbox, SandboxDied

MAX_RESTARTS = 6
DEFAULT_MAX_BYTES = 8 << 20
MAX_ITEMS = 2048  # the worker's node budget for one returned value


class StudentError(Exception):
    """The student's function could not produce a value; the message is student-facing."""


@dataclass
class Reply:
    """A successful call: the value returned, and the arguments as they were afterwards.

    ``args_after[i]`` is argument ``i`` as the student's function left it (None for an
    argument that is not an array; empty unless the call asked for them). The grader's
    own arrays never change: the function ran on copies in the sandbox.
    """

    value: Any
    args_after: list[Any]

    def arg_after(self, i: int) -> Any:
        """Argument ``i`` after the call; raises if the call did not bring it back."""
        if i >= len(self.args_after):
            raise LookupError(
                f"argument {i} did not come back: call student.watch.<fn>(...) "
                "or student.call(fn, ..., return_args=True)"
            )
        return self.args_after[i]


_TYPE_NAME = re.compile(r"[^A-Za-z0-9_ .,()\[\]-]")
# A name in a returned graph, after NFKC and without whitespace: a short run of these.
_NAME = re.compile(r"^[A-Za-z0-9_^{}\\'.()$\u0302ŷσ-]{1,40}$")


def _text(raw: str) -> Text:
    """A name the student returned, normalised; anything odd becomes an opaque token."""
    norm = "".join(unicodedata.normalize("NFKC", raw).split())
    return Text(norm if _NAME.match(norm) else "\x00invalid")


def _tree(node: Any, arrays: list[np.ndarray], depth: int = 0) -> Any:
    """Rebuild an untrusted JSON value tree; anything malformed becomes Unusable."""
    if not isinstance(node, dict) or depth > 3:
        return Unusable("malformed value")
    kind = node.get("t")
    if kind == "array" and type(node.get("i")) is int and 0 <= node["i"] < len(arrays):
        return arrays[node["i"]]
    if kind == "seq" and isinstance(node.get("items"), list) and len(node["items"]) <= MAX_ITEMS:
        container = "list" if node.get("kind") == "list" else "tuple"
        return Seq((_tree(n, arrays, depth + 1) for n in node["items"]), kind=container)
    if kind == "str" and isinstance(node.get("s"), str) and len(node["s"]) <= 40:
        return _text(node["s"])
    if kind == "bad":
        return Unusable(_TYPE_NAME.sub("?", str(node.get("type", "unknown object"))[:60]))
    return Unusable("malformed value")


class Student:
    """Proxy for one submission's functions. Attribute access gives a callable."""

    def __init__(
        self, cells: list[str], runtime, *, slot: int, limits: Limits, unsafe: bool
    ) -> None:
        self._cells, self._runtime = cells, runtime
        self._slot, self._limits, self._unsafe = slot, limits, unsafe
        self._sandbox: Sandbox | None = None
        self.restarts = 0
        # Functions that already took the sandbox down: later calls fail fast instead of
        # spending the restarts the other functions need.
        self.fatal: dict[str, str] = {}
        self.report: ExecReport | None = None
        self.start_error: str | None = None
        self.deadline = time.monotonic() + limits.submission_timeout
        self.output = ""
        self.output_bytes = 0
        self._boot()

    def _boot(self) -> None:
        remaining = self.deadline - time.monotonic()
        if remaining <= 1:
            self.start_error = "the time limit for this submission was used up"
            return
        limits = Limits(**{**self._limits.__dict__, "submission_timeout": remaining})
        self._sandbox = Sandbox(self._runtime, slot=self._slot, limits=limits, unsafe=self._unsafe)
        try:
            report = self._sandbox.start(self._cells)
            if self.report is None:
                self.report = report
            self.start_error = None
        except SandboxDied as exc:
            self.start_error = "your notebook did not finish running " + (
                "(time limit exceeded)" if "timed out" in str(exc) else "(the process exited)"
            )
            self._stop()

    def _stop(self) -> None:
        if self._sandbox is not None:
            out, total = self._sandbox.output()
            if not self.output:
                self.output, self.output_bytes = out, total
            self._sandbox.close()
            self._sandbox = None

    def close(self) -> None:
        self._stop()

    def call(self, fn: str, *args: Any, return_args: bool = False,
             max_bytes: int = DEFAULT_MAX_BYTES, fp: str | None = None) -> Reply:  # fmt: skip
        """Run ``fn(*args)`` in the sandbox on copies of ``args``.

        ``return_args`` brings the arguments back as the function left them
        (``Reply.args_after``); ``fp="raise"`` turns numpy overflow, invalid and
        divide warnings into FloatingPointError, as the notebook's self-checks do.
        """
        if fn in self.fatal:
            raise StudentError(self.fatal[fn])
        if self._sandbox is None and self.restarts < MAX_RESTARTS and self.report is not None:
            self.restarts += 1
            self._boot()
        if self._sandbox is None:
            why = self.start_error or (
                f"the sandbox was already restarted {MAX_RESTARTS} times, after other functions "
                "crashed or timed out (the most one submission gets)"
            )
            raise StudentError(f"{fn} could not be called: {why}.")
        specs, arrays = [], []
        for a in args:
            if isinstance(a, Objective):
                arrays.append(np.asarray(a.c, dtype=np.float64))
                specs.append(
                    {"objective": {"kind": OBJECTIVE_KIND, "c": len(arrays) - 1, "scale": a.scale}}
                )
            elif isinstance(a, np.ndarray):
                arrays.append(a)
                specs.append({"array": len(arrays) - 1})
            elif isinstance(a, bool | int | np.integer):
                specs.append({"int": int(a)})
            else:
                specs.append({"float": float(a)})
        try:
            header, out = self._sandbox.call(
                fn, specs, arrays, max_bytes=max_bytes, return_args=return_args, fp=fp
            )
        except SandboxDied as exc:
            self._stop()
            if "timed out" in str(exc):
                message = (
                    f"{fn} did not return within {self._limits.call_timeout:g} s "
                    "(an infinite loop, or far too slow)."
                )
            else:
                message = f"{fn} crashed the Python process ({exc})."
            self.fatal[fn] = message
            raise StudentError(message) from None
        if header.get("ok") is not True:
            kind = header.get("kind")
            if kind == "timeout":
                raise StudentError(f"{fn} did not return within {self._limits.call_timeout:g} s.")
            if kind == "missing":
                raise StudentError(f"{fn} is not defined in your notebook.")
            error = str(header.get("error", "an error"))[:400]
            if error.startswith("NotImplementedError"):
                raise StudentError(f"{fn} is not implemented yet (it raises NotImplementedError).")
            raise StudentError(f"{fn} raised {error}")
        value = _tree(header.get("value"), out)
        after = header.get("args_after")
        args_after = (
            [_tree(a, out) if a is not None else None for a in after]
            if isinstance(after, list)
            else []
        )
        return Reply(value=value, args_after=args_after)

    @property
    def watch(self) -> _Watch:
        """``student.watch.gd_step(w, a, b, lr)`` gives a Reply with the arguments afterwards.

        The plain form ``student.gd_step(w, …)`` returns only the value: ``w`` itself can
        never change (the call ran on a copy), so a mutation check must read
        ``reply.arg_after(0)``. tests/test_grader.py rejects graders that compare an
        argument of a plain call with a copy of itself.
        """
        return _Watch(self)

    def __getattr__(self, fn: str):
        if fn.startswith("_"):
            raise AttributeError(fn)
        return lambda *args: self.call(fn, *args).value


class _Watch:
    def __init__(self, student: Student) -> None:
        self._student = student

    def __getattr__(self, fn: str):
        if fn.startswith("_"):
            raise AttributeError(fn)
        return lambda *args: self._student.call(fn, *args, return_args=True)
