"""The hidden graders, replayed: once against the reference (record), then in otter's kernel.

Otter runs its tests inside the student's own kernel, where there is no sandbox and no
reference solution. So the otter export does not re-express the graders; it runs them.

**Record** (:func:`record`, trusted, at export time). One pytest session over
``autograder/graders/`` with the graders' own conftest, in which

* ``student`` is a :class:`ReplayStudent` over the reference module: each call runs the
  reference in-process (the reference is trusted) on copies of the arguments, and its
  value comes back exactly as the sandbox would return it (``worker._to_tree``, then
  ``student._tree``); each call's arguments and result are recorded;
* every module fixture (``ref``) is a :class:`RecordingRef`: each attribute or call
  result is recorded, keyed by a digest of the call's name and arguments;
* every ``numpy.random.Generator`` fixture (``rng``) is recorded by its starting state.

Every grader must pass on the reference, or the export stops.

**Replay** (:func:`replay`, in otter's kernel). The same grader function runs again, with
``student`` a :class:`ReplayStudent` over the notebook's namespace, ``ref`` a
:class:`ReplayRef` answering from the recording, and ``rng`` restored to its recorded
state, so the grader draws the same inputs. Its own checks (``as_array``,
``expect_close``, the mistake variants, …) decide, and their ``Feedback`` is the message.
A reference value the recording lacks (the grader took another path, which only a wrong
answer makes it do) fails the test with :class:`ReplayMiss`.

Adding a hidden check is one function in ``autograder/graders/``: the next export records
it. This module imports only numpy and the package modules the graders themselves import.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
import hashlib
import importlib
import inspect
import io
import json
import os
import pkgutil
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from autograder.grade.checks import Feedback, Seq
from autograder.grade.student import (
    DEFAULT_MAX_BYTES,
    Failure,
    Reply,
    StudentError,
    _tree,
    _Watch,
)

RECORDING = "otter_recording.json"  # beside this module in the otter bundle
GRADERS_PACKAGE = "autograder.graders"


class ReplayMiss(AssertionError):
    """The grader asked the reference for something the recording does not hold."""


# -- values: an exact JSON encoding, and a digest to look reference calls up by -----------


def encode(value: Any) -> Any:
    """``value`` as JSON, bit-exact for arrays and floats (see :func:`decode`)."""
    if isinstance(value, np.generic):  # before float: np.float64 is a float too
        return {"scalar": encode(np.asarray(value))}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"cannot record an array of {value.dtype}")
        raw = base64.b64encode(value.tobytes(order="C")).decode()
        return {"ndarray": value.dtype.str, "shape": list(value.shape), "bytes": raw}
    if isinstance(value, Seq):  # a list or tuple the student returned: its kind matters
        return {"seq": value.kind, "items": [encode(v) for v in value]}
    if isinstance(value, tuple | list):
        return {type(value).__name__: [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[encode(k), encode(v)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and type(value).__module__.startswith("autograder."):
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"dataclass": f"{type(value).__module__}:{type(value).__qualname__}", **fields}
    raise TypeError(f"cannot record a value of type {type(value).__name__}")


def decode(data: Any) -> Any:
    """The value :func:`encode` encoded: a fresh copy each time."""
    if not isinstance(data, dict):
        return data
    if "ndarray" in data:
        raw = base64.b64decode(data["bytes"])
        return np.frombuffer(raw, dtype=np.dtype(data["ndarray"])).reshape(data["shape"]).copy()
    if "scalar" in data:
        return decode(data["scalar"])[()]
    if "seq" in data:
        return Seq((decode(v) for v in data["items"]), kind=data["seq"])
    if "tuple" in data:
        return tuple(decode(v) for v in data["tuple"])
    if "list" in data:
        return [decode(v) for v in data["list"]]
    if "dict" in data:
        return {decode(k): decode(v) for k, v in data["dict"]}
    module, _, name = data["dataclass"].partition(":")
    cls = getattr(importlib.import_module(module), name)
    return cls(**{k: decode(v) for k, v in data.items() if k != "dataclass"})


def _canonical(value: Any) -> Iterator[bytes]:
    if isinstance(value, np.generic):
        yield b"g"
        value = np.asarray(value)
    if isinstance(value, bool) or value is None:
        yield repr(value).encode()
    elif isinstance(value, int):
        yield b"i%d" % value
    elif isinstance(value, float):
        yield b"f" + value.hex().encode()
    elif isinstance(value, str):
        yield b"s" + value.encode()
    elif isinstance(value, np.ndarray):
        yield f"a{value.dtype.str}{value.shape}".encode() + value.tobytes(order="C")
    elif isinstance(value, tuple | list | dict):
        items = value.items() if isinstance(value, dict) else value
        yield f"{type(value).__name__}{len(value)}(".encode()
        for v in items:
            yield from _canonical(v)
        yield b")"
    elif dataclasses.is_dataclass(value):
        yield type(value).__qualname__.encode()
        yield from _canonical(tuple(getattr(value, f.name) for f in dataclasses.fields(value)))
    else:
        raise TypeError(f"cannot record a call with an argument of type {type(value).__name__}")


def digest(name: str, args: tuple | None = None, kwargs: Mapping | None = None) -> str:
    """The key of a reference attribute (``args`` None) or of a call with these arguments."""
    h = hashlib.sha256(name.encode() + b"\0")
    if args is not None:
        for chunk in _canonical((tuple(args), dict(sorted((kwargs or {}).items())))):
            h.update(chunk)
    return h.hexdigest()[:32]


# -- the student: in-process calls that return what the sandbox would -------------------


def _worker() -> ModuleType:
    """autograder/run/worker.py, which imports its siblings by their sandbox names."""
    from autograder.run import objective, wire

    sys.modules.setdefault("wire", wire)
    sys.modules.setdefault("objective", objective)
    from autograder.run import worker

    return worker


def crossed(value: Any, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """``value`` as the trusted side sees it once the sandbox returned it."""
    arrays: list[np.ndarray] = []
    worker = _worker()
    return _tree(worker._to_tree(value, arrays, [max_bytes, worker.MAX_NODES]), arrays)


def _as_sent(arg: Any) -> Any:
    """An argument as the worker rebuilds it: arrays copied, numbers as int or float."""
    if isinstance(arg, np.ndarray):
        return arg.copy()
    if isinstance(arg, bool | int | np.integer):
        return int(arg)
    if isinstance(arg, float | np.floating):
        return float(arg)
    return copy.deepcopy(arg)  # an Objective: the worker builds a fresh one


class ReplayStudent:
    """The ``student`` fixture without a sandbox: ``functions[fn]`` called in this process.

    At export ``functions`` is the reference module's namespace and every call is recorded;
    in otter's kernel it is the student's notebook namespace.
    """

    def __init__(self, functions: Mapping[str, Any], calls: list | None = None) -> None:
        self.functions, self.calls = functions, calls

    def call(self, fn: str, *args: Any, return_args: bool = False,
             max_bytes: int = DEFAULT_MAX_BYTES, fp: str | None = None) -> Reply:  # fmt: skip
        """As :meth:`autograder.grade.student.Student.call`, in this process."""
        func = self.functions.get(fn)
        if not callable(func):
            raise StudentError(f"{fn} is not defined in your notebook.", Failure.MISSING)
        sent = [_as_sent(a) for a in args]
        strict = {"over": "raise", "invalid": "raise", "divide": "raise"}  # as the worker's
        try:
            with np.errstate(**(strict if fp == "raise" else {})):
                value = func(*sent)
        except NotImplementedError:
            raise StudentError(
                f"{fn} is not implemented yet (it raises NotImplementedError).",
                Failure.NOT_IMPLEMENTED,
                exc_type="NotImplementedError",
            ) from None
        except Exception as exc:
            raise StudentError(
                f"{fn} raised {type(exc).__name__}: {str(exc)[:300]}",
                exc_type=type(exc).__name__,
            ) from None
        after = [crossed(a, max_bytes) if isinstance(a, np.ndarray) else None for a in sent]
        reply = Reply(value=crossed(value, max_bytes), args_after=after if return_args else [])
        if self.calls is not None:
            self.calls.append(
                {"fn": fn, "args": digest(fn, args), "return_args": return_args, "fp": fp,
                 "value": encode(reply.value), "args_after": encode(reply.args_after)}
            )  # fmt: skip
        return reply

    @property
    def watch(self) -> _Watch:
        """``student.watch.fn(...)``: the Reply, with the arguments after the call."""
        return _Watch(self)

    def __getattr__(self, fn: str) -> Callable[..., Any]:
        if fn.startswith("_"):
            raise AttributeError(fn)
        return lambda *args: self.call(fn, *args).value


# -- the reference: recorded at export, answered from the recording in the kernel -------


class RecordingRef:
    """A module fixture whose every attribute and call result is recorded in ``values``.

    The grader gets the decoded recording, so it sees exactly what a replay will give it.
    """

    def __init__(self, module: ModuleType, values: dict[str, Any]) -> None:
        self._module, self._values = module, values

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if not callable(value):
            self._values[digest(name)] = encode(value)
            return decode(self._values[digest(name)])

        def call(*args: Any, **kwargs: Any) -> Any:
            key = digest(name, args, kwargs)  # before the call: the key is the input
            self._values[key] = encode(value(*args, **kwargs))
            return decode(self._values[key])

        return call


class ReplayRef:
    """A module fixture answering from a recording (no reference in the kernel)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if digest(name) in self._values:
            return decode(self._values[digest(name)])

        def call(*args: Any, **kwargs: Any) -> Any:
            key = digest(name, args, kwargs)
            if key not in self._values:
                raise ReplayMiss(
                    "the answer does not match what this check expects (its follow-up "
                    "diagnosis needs the sandboxed grader)."
                )
            return decode(self._values[key])

        return call


# -- record -------------------------------------------------------------------------------


def _wrong(value: Any) -> Any:
    """A wrong answer shaped like ``value``: it sends a grader down its failure paths."""
    if isinstance(value, tuple | list):
        return type(value)(_wrong(v) for v in value)
    if isinstance(value, np.ndarray | float | int | np.number) and not isinstance(value, bool):
        return value * 1.5 + 1.0
    return value


def _wrong_namespace(module: ModuleType) -> dict[str, Any]:
    def wrong(f: Callable[..., Any]) -> Callable[..., Any]:
        return lambda *args: _wrong(f(*args))

    return {k: wrong(v) if callable(v) else v for k, v in vars(module).items()}


def _session(plugin: Any) -> tuple[int, str]:
    """One pytest session over the hidden graders with ``plugin``, as grade_chunk runs it."""
    import pytest

    from autograder.grade.session import GRADERS_DIR

    args = [
        str(GRADERS_DIR), "-c", str(GRADERS_DIR / "pytest.ini"), "--rootdir", str(GRADERS_DIR),
        "-p", "no:cacheprovider", "-p", "no:terminal", "--assert=plain",
        "--import-mode=importlib",
    ]  # fmt: skip
    autoload = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only the graders' own fixtures
    try:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = pytest.main(args, plugins=[plugin])
    finally:
        if autoload is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = autoload
    return code, out.getvalue()


def record() -> dict[str, Any]:
    """Run every hidden grader against the reference; return the recording.

    ``{"tests": {"<module>::<function>": {"module", "function", "item", "weight",
    "visibility", "name", "fixtures", "ref", "student_calls"}}}``, in collection order.
    A second pass runs each grader against a deliberately wrong student (the reference's
    values, changed) and adds the reference values its failure paths ask for, such as a
    follow-up "is it right for n = 1?", so a replay can give that diagnosis too.
    Raises RuntimeError if a grader fails on the reference or cannot be recorded.
    """
    import pytest

    from autograder import REFERENCE_PY
    from autograder.grade.session import GRADERS_DIR, GradingPlugin
    from autograder.run.sandbox import Limits
    from autograder.submissions import Submission

    tests: dict[str, dict[str, Any]] = {}
    errors: list[str] = []

    class Recorder(GradingPlugin):
        def __init__(self, wrong: bool) -> None:
            sub = Submission("reference", REFERENCE_PY)
            super().__init__([(sub, [])], runtime=Path("/nonexistent"), slot=0,
                             limits=Limits(), unsafe=True)  # fmt: skip
            self.wrong = wrong

        def open_student(self, sub: Submission) -> ReplayStudent:
            return ReplayStudent({})

        def close_student(self, sub: Submission, student: Any) -> None:
            pass

        @pytest.fixture(autouse=True)
        def _reference(self, ref: ModuleType) -> ModuleType:
            # The graders' own `ref` fixture: the module the recorded student runs.
            self.reference = ref
            return ref

        @pytest.hookimpl(hookwrapper=True)
        def pytest_pyfunc_call(self, pyfuncitem: pytest.Function):
            rel = Path(pyfuncitem.path).relative_to(GRADERS_DIR).with_suffix("")
            module, function = ".".join(rel.parts), pyfuncitem.originalname
            marks = {m: pyfuncitem.get_closest_marker(m) for m in ("hw2_item", "hw2_weight")}
            vis = pyfuncitem.get_closest_marker("hw2_visibility")
            rec = tests.setdefault(f"{module}::{function}", {
                "module": module, "function": function, "item": marks["hw2_item"].args[0],
                "weight": marks["hw2_weight"].args[0] if marks["hw2_weight"] else 1.0,
                "visibility": vis.args[0] if vis else "after_published",
                "name": pyfuncitem.function.__doc__.strip().splitlines()[0],
                "fixtures": {}, "ref": {}, "student_calls": [],
            })  # fmt: skip
            fixtures = {}
            try:
                for name in inspect.signature(pyfuncitem.function).parameters:
                    value = pyfuncitem.funcargs[name]
                    if isinstance(value, ReplayStudent):
                        ref = self.reference
                        value.functions = _wrong_namespace(ref) if self.wrong else vars(ref)
                        value.calls = None if self.wrong else rec["student_calls"]
                        fixtures[name] = {"student": True}
                    elif isinstance(value, ModuleType):
                        pyfuncitem.funcargs[name] = RecordingRef(value, rec["ref"])
                        fixtures[name] = {"module": True}
                    elif isinstance(value, np.random.Generator):
                        fixtures[name] = {"rng": value.bit_generator.state}
                    else:
                        fixtures[name] = {"value": encode(value)}
            except TypeError as exc:
                errors.append(f"{module}::{function}: {exc}")
            if not self.wrong:
                rec["fixtures"] = fixtures
            yield

    right = Recorder(wrong=False)
    code, out = _session(right)
    failed = [f"{t.name}: {t.message or t.debug}" for t in right.outcomes["reference"]
              if not t.passed]  # fmt: skip
    problems = right.collect_errors + errors + failed
    if problems or code != pytest.ExitCode.OK or not tests:
        raise RuntimeError(
            "the hidden graders could not be recorded against the reference:\n"
            + "\n".join(problems or [f"pytest exit code {code}", out[-2000:]])
        )
    _session(Recorder(wrong=True))  # its verdicts are meant to be failures: only `ref` counts
    # The recording must replay: from JSON, every grader passes again on the reference.
    recording = json.loads(json.dumps({"tests": tests}))
    for rec in recording["tests"].values():
        replay(rec["module"], rec["function"], vars(right.reference), recording)
    return recording


# -- replay -------------------------------------------------------------------------------


def load_recording() -> dict[str, Any]:
    """The recording shipped beside this module (in the otter bundle)."""
    data = pkgutil.get_data(__name__.rpartition(".")[0], RECORDING)
    if data is None:
        raise FileNotFoundError(RECORDING)
    return json.loads(data)


def _fixture(spec: dict[str, Any], env: Mapping[str, Any], rec: dict[str, Any]) -> Any:
    if "student" in spec:
        return ReplayStudent(env)
    if "module" in spec:
        return ReplayRef(rec["ref"])
    if "rng" in spec:
        bit_generator = getattr(np.random, spec["rng"]["bit_generator"])()
        bit_generator.state = spec["rng"]
        return np.random.Generator(bit_generator)
    return decode(spec["value"])


def replay(
    module: str, function: str, env: Mapping[str, Any], recording: dict | None = None
) -> None:
    """Run the hidden grader ``module::function`` on the functions in ``env``.

    Returns if the grader passes; raises its Feedback (an AssertionError), a StudentError
    or :class:`ReplayMiss` otherwise.
    """
    rec = (recording or load_recording())["tests"][f"{module}::{function}"]
    grader = getattr(importlib.import_module(f"{GRADERS_PACKAGE}.{module}"), function)
    try:
        grader(**{name: _fixture(spec, env, rec) for name, spec in rec["fixtures"].items()})
    except ReplayMiss as miss:
        # A miss while the grader was already handling its Feedback (a follow-up such as
        # "right for n = 1?"): that Feedback is the verdict and the better message.
        cause = miss.__context__
        while cause is not None and not isinstance(cause, Feedback):
            cause = cause.__context__
        if cause is None:
            raise
        raise cause from None
