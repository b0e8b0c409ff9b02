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

import enum
import functools
import json
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder import STUDENT_NB
from autograder.grade.checks import Seq, Text, Unusable
from autograder.run.objective import KIND as OBJECTIVE_KIND
from autograder.run.objective import Objective
from autograder.run.sandbox import Death, ExecReport, Limits, Sandbox, SandboxDied

MAX_RESTARTS = 6
DEFAULT_MAX_BYTES = 8 << 20
MAX_ITEMS = 2048  # the worker's node budget for one returned value


class Failure(enum.Enum):
    """Why a student's function gave no value."""

    MISSING = "missing"  # not defined in the notebook
    NOT_IMPLEMENTED = "not implemented"  # it raises NotImplementedError
    RAISED = "raised"  # it raised another exception (``exc_type``)
    TIMEOUT = "timeout"  # it did not return within the call timeout
    DIED = "died"  # it took the sandbox down (``death`` says how)
    NOT_RUNNING = "not running"  # the notebook did not run, or the time was used up
    RESTART_LIMIT = "restart limit"  # earlier crashes used every restart


class StudentError(Exception):
    """The student's function could not produce a value; ``str(exc)`` is student-facing.

    Code that needs to know why branches on ``kind`` (and ``exc_type``: the name of the
    exception the function raised, as the sandbox reported it; ``death``: how the sandbox
    died), never on the message.
    """

    def __init__(
        self, message: str, kind: Failure = Failure.RAISED, *, exc_type: str = "",
        death: Death | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.kind, self.exc_type, self.death = kind, exc_type, death

    @property
    def gist(self) -> str:
        """The failure in a few words, to group students by (no student string but the
        exception's type name, which the trusted side checked is an identifier)."""
        if self.kind is Failure.RAISED:
            return f"raised {self.exc_type or 'an exception'}"
        if self.kind is Failure.DIED and self.death is not None:
            return _DEATH_GIST[self.death]
        return _FAILURE_GIST[self.kind]

    def again(self) -> StudentError:
        """A fresh copy, to raise once more (a raised exception keeps its traceback)."""
        return StudentError(str(self), self.kind, exc_type=self.exc_type, death=self.death)


_DEATH_GIST = {
    Death.TIMEOUT: "timed out",
    Death.MEMORY: "over the memory limit",
    Death.EXITED: "crashed the Python process",
    Death.PROTOCOL: "sent a malformed reply",
}
_FAILURE_GIST = {
    Failure.MISSING: "not defined",
    Failure.NOT_IMPLEMENTED: "not implemented",
    Failure.RAISED: "raised an exception",
    Failure.TIMEOUT: "timed out",
    Failure.DIED: "crashed the Python process",
    Failure.NOT_RUNNING: "the notebook did not run",
    Failure.RESTART_LIMIT: "no sandbox restarts left",
}


def death_message(fn: str, died: SandboxDied, limits: Limits) -> str:
    """What the student reads when calling ``fn`` took the sandbox down."""
    if died.kind is Death.TIMEOUT:
        return (
            f"{fn} did not return within {limits.call_timeout:g} s "
            "(an infinite loop, or far too slow)."
        )
    if died.kind is Death.MEMORY:
        return f"{fn} used more than the {limits.memory_mb} MB memory limit and was stopped."
    if died.kind is Death.PROTOCOL:
        return f"{fn} sent the grader a malformed reply ({died.detail})."
    return f"{fn} crashed the Python process (it exited{_status(died.status)})."


def start_message(died: SandboxDied, limits: Limits) -> str:
    """Why the notebook as a whole did not run (a notebook error, shown to the student)."""
    why = {
        Death.TIMEOUT: "time limit exceeded",
        Death.MEMORY: f"it used more than the {limits.memory_mb} MB memory limit",
        Death.PROTOCOL: "it sent the grader a malformed report",
    }.get(died.kind, f"the process exited{_status(died.status)}")
    return f"your notebook did not finish running ({why})"


def _status(status: int | None) -> str:
    if status is None or status == 0:
        return ""
    return f", killed by signal {-status}" if status < 0 else f" with status {status}"


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


# The worker reports an exception as "Type: message" (worker._describe).
_EXC_TYPE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,80}(:|$)")
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


@functools.cache
def experiment_cells() -> frozenset[str]:
    """The sources of the released notebook's locked experiment cells (``fig_*``).

    They feed no grader and were most of a warm submission's time, so a submission's
    byte-identical copies of them are not run while grading (an empty cell stands in,
    keeping the cells' numbers). The graded PDF is the notebook as submitted, so it
    still shows the student's figures. Should a student's code need a name only those
    cells define, the notebook is run again with every cell (:meth:`Student._every_cell`).
    Empty where the released notebook is absent: then every cell runs.
    """
    try:
        nb = json.loads(STUDENT_NB.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    sources = set()
    for cell in nb.get("cells", []):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if (
            cell.get("cell_type") == "code"
            and meta.get("locked")
            and str(meta.get("grade_id", "")).startswith("fig_")
        ):
            src = cell.get("source", "")
            sources.add("".join(src) if isinstance(src, list) else str(src))
    return frozenset(sources)


class Student:
    """Proxy for one submission's functions. Attribute access gives a callable."""

    def __init__(
        self, cells: list[str], runtime, *, slot: int, limits: Limits, unsafe: bool
    ) -> None:
        experiments = experiment_cells()
        self._all_cells, self._runtime = cells, runtime
        self._cells = ["" if c in experiments else c for c in cells]
        self.skipping = self._cells != cells  # experiment cells left out (see above)
        self._slot, self._limits, self._unsafe = slot, limits, unsafe
        self._sandbox: Sandbox | None = None
        self.restarts = 0
        # Functions that already took the sandbox down: later calls fail fast instead of
        # spending the restarts the other functions need.
        self.fatal: dict[str, StudentError] = {}
        self.report: ExecReport | None = None
        self.start_error: str | None = None
        self.phases: dict[str, float] = {}  # every sandbox's, summed (restarts included)
        self.deadline = time.monotonic() + limits.submission_timeout
        self._boot()
        if (
            self.skipping
            and self.report is not None
            and any(
                isinstance(c, dict) and str(c.get("error", "")).startswith("NameError")
                for c in self.report.cells
            )
        ):
            self._every_cell()

    def _every_cell(self) -> None:
        """Run the notebook again with its experiment cells: a name only they define was
        needed. This restart is the grader's doing, so it spends none of the student's."""
        self.skipping = False
        self._cells = self._all_cells
        self._stop()
        self.report = None
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
            self.start_error = start_message(exc, self._limits)
            self._stop()

    def _stop(self) -> None:
        if self._sandbox is not None:
            self._sandbox.close()
            for key, value in self._sandbox.phases.items():
                self.phases[key] = self.phases.get(key, 0.0) + value
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
            raise self.fatal[fn].again()
        if self._sandbox is None and self.restarts < MAX_RESTARTS and self.report is not None:
            self.restarts += 1
            self._boot()
        if self._sandbox is None:
            if self.start_error:
                raise StudentError(
                    f"{fn} could not be called: {self.start_error}.", Failure.NOT_RUNNING
                )
            raise StudentError(
                f"{fn} could not be called: the sandbox was already restarted {MAX_RESTARTS} "
                "times, after other functions crashed or timed out (the most one submission "
                "gets).",
                Failure.RESTART_LIMIT,
            )
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
            if exc.earlier and exc.earlier != fn:
                # An earlier call wrote frames of its own: it is to blame, and this call is
                # made again in a fresh sandbox.
                self.fatal[exc.earlier] = StudentError(
                    death_message(exc.earlier, exc, self._limits), Failure.DIED, death=exc.kind
                )
                return self.call(fn, *args, return_args=return_args, max_bytes=max_bytes, fp=fp)
            kind = Failure.TIMEOUT if exc.kind is Death.TIMEOUT else Failure.DIED
            self.fatal[fn] = StudentError(
                death_message(fn, exc, self._limits), kind, death=exc.kind
            )
            raise self.fatal[fn].again() from None
        if header.get("ok") is not True:
            failure = _failed(fn, header, self._limits)
            if self.skipping and (
                failure.kind is Failure.MISSING or failure.exc_type == "NameError"
            ):
                self._every_cell()
                return self.call(fn, *args, return_args=return_args, max_bytes=max_bytes, fp=fp)
            raise failure
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


def _failed(fn: str, header: dict[str, Any], limits: Limits) -> StudentError:
    """The StudentError for a reply that says the call failed (untrusted: any shape)."""
    kind = header.get("kind")
    if kind == "timeout":
        return StudentError(
            f"{fn} did not return within {limits.call_timeout:g} s.", Failure.TIMEOUT
        )
    if kind == "missing":
        return StudentError(f"{fn} is not defined in your notebook.", Failure.MISSING)
    error = str(header.get("error", "an error"))[:400]
    exc_type = error.partition(":")[0] if _EXC_TYPE.match(error) else ""
    if exc_type == "NotImplementedError":
        return StudentError(
            f"{fn} is not implemented yet (it raises NotImplementedError).",
            Failure.NOT_IMPLEMENTED, exc_type=exc_type,
        )  # fmt: skip
    return StudentError(f"{fn} raised {error}", Failure.RAISED, exc_type=exc_type)


class _Watch:
    def __init__(self, student: Student) -> None:
        self._student = student

    def __getattr__(self, fn: str):
        if fn.startswith("_"):
            raise AttributeError(fn)
        return lambda *args: self._student.call(fn, *args, return_args=True)
