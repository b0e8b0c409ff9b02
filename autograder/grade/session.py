"""Runs the hidden pytest graders over a chunk of submissions in one pytest session.

The graders are collected once; a session-scoped parameter ``submission``
makes pytest run every grader test for the first submission, then every test
for the next, tearing down each submission's sandbox before starting the next.
A plugin object records each test's outcome with its rubric markers.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import traceback
from pathlib import Path

import pytest

from autograder import PACKAGE_DIR
from autograder.grade.checks import Feedback
from autograder.grade.marks import MARKERS
from autograder.grade.outcome import SubmissionResult, TestOutcome
from autograder.grade.student import Student, StudentError
from autograder.rubric import load_rubric
from autograder.run.sandbox import PHASES, Limits
from autograder.submissions import (
    Submission,
    UnreadableNotebook,
    cell_place,
    read_code_cells_placed,
)

GRADERS_DIR = PACKAGE_DIR / "graders"
INTERNAL_ERROR = "The grader hit an internal error on this test; your instructor has the details."


class GraderDefinitionError(Exception):
    """A hidden grader test is missing its item marker or its docstring name."""


class GradingPlugin:
    """The pytest plugin that feeds submissions in and collects outcomes."""

    def __init__(
        self,
        subs: list[tuple[Submission, list[str]]],
        *,
        runtime: Path,
        slot: int,
        limits: Limits,
        unsafe: bool,
        places: dict[str, list[str]] | None = None,
    ) -> None:
        self.subs = subs
        # student → how feedback names each code cell (submissions.cell_place)
        self.places = places or {}
        self.runtime, self.slot, self.limits, self.unsafe = runtime, slot, limits, unsafe
        self.outcomes: dict[str, list[TestOutcome]] = {s.student: [] for s, _ in subs}
        self.notebook_errors: dict[str, list[str]] = {}
        self.collect_errors: list[str] = []
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}
        self.phases: dict[str, dict[str, float]] = {}  # the timing split (sandbox.PHASES)

    # -- pytest hooks ------------------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        for name, doc in MARKERS.items():
            config.addinivalue_line("markers", f"{name}: {doc}")

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "submission" in metafunc.fixturenames:
            metafunc.parametrize(
                "submission",
                [s for s, _ in self.subs],
                ids=[s.student for s, _ in self.subs],
                scope="session",
            )

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        rubric = load_rubric()
        auto = {i.id for i in rubric.auto}
        for it in items:
            marker = it.get_closest_marker("hw2_item")
            doc = (getattr(it, "function", None).__doc__ or "").strip()
            if marker is None or marker.args[0] not in auto:
                raise GraderDefinitionError(f"{it.nodeid}: needs @item(<an auto rubric id>)")
            if not doc.startswith(marker.args[0]):
                raise GraderDefinitionError(f"{it.nodeid}: docstring must start with the item id")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(str(report.longrepr))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo
    ) -> pytest.TestReport:
        # Replaces pytest's own report: that one formats every failure's traceback with
        # its source (an ast parse, about 35 ms a failure, and most stubs fail ~25 tests).
        # Our rows need only pass/fail and the exception, which is recorded here.
        exc = call.excinfo.value if call.excinfo else None
        failed = exc is not None
        if failed and call.when != "teardown":  # a sandbox that would not close: no score change
            self._record(item, call.when, exc)
        elif call.when == "call":
            self._record(item, "call", None)
        return pytest.TestReport(
            item.nodeid,
            item.location,
            dict.fromkeys(item.keywords, 1),
            "failed" if failed else "passed",
            f"{type(exc).__name__}: {str(exc)[:2000]}" if failed else None,
            call.when,
            duration=call.duration,
            start=call.start,
            stop=call.stop,
        )

    def _record(self, item: pytest.Item, when: str, exc: BaseException | None) -> None:
        sub: Submission = item.callspec.params["submission"]
        message, debug, gist, problem = "", "", "", ""
        if exc is not None:
            if isinstance(exc, Feedback | StudentError):
                message, gist = str(exc), exc.gist
                problem = exc.problem.value if isinstance(exc, Feedback) else ""
            else:
                message = INTERNAL_ERROR
                debug = "".join(traceback.format_exception(exc))
        w = item.get_closest_marker("hw2_weight")
        v = item.get_closest_marker("hw2_visibility")
        self.outcomes[sub.student].append(
            TestOutcome(
                item=item.get_closest_marker("hw2_item").args[0],
                name=item.function.__doc__.strip().splitlines()[0],
                weight=w.args[0] if w else 1.0,
                visibility=v.args[0] if v else "after_published",
                passed=exc is None and when == "call",
                message=message,
                debug=debug,
                gist=gist,
                problem=problem,
            )
        )

    # -- fixtures (see autograder/graders/conftest.py) ---------------------------------
    @pytest.fixture(scope="session")
    def grading(self) -> GradingPlugin:
        return self

    def open_student(self, sub: Submission) -> Student:
        cells = dict((s.student, c) for s, c in self.subs)[sub.student]
        self.started[sub.student] = time.monotonic()
        student = Student(
            cells, self.runtime, slot=self.slot, limits=self.limits, unsafe=self.unsafe
        )
        errors = []
        if student.report is not None:
            places = self.places.get(sub.student, [])
            for i, cell in enumerate(student.report.cells):
                if isinstance(cell, dict) and cell.get("status") == "error":
                    place = places[i] if i < len(places) else cell_place(i + 1)
                    errors.append(f"{place}: {str(cell.get('error', 'error'))[:300]}")
        elif student.start_error:
            errors.append(student.start_error)
        self.notebook_errors[sub.student] = errors
        return student

    def close_student(self, sub: Submission, student: Student) -> None:
        student.close()
        total = time.monotonic() - self.started[sub.student]
        self.seconds[sub.student] = total
        phases = {k: round(student.phases.get(k, 0.0), 4) for k in PHASES if k != "tests"}
        # The hidden tests: the rest (pytest, the graders, the calls into the sandbox).
        phases["tests"] = round(max(total - sum(phases.values()), 0.0), 4)
        self.phases[sub.student] = {k: phases[k] for k in PHASES}


def grade_chunk(
    chunk: list[Submission],
    *,
    runtime: Path,
    slot: int,
    limits: Limits,
    unsafe: bool,
) -> list[SubmissionResult]:
    """Grade ``chunk`` in one pytest session; one SubmissionResult per submission, in order."""
    results: dict[str, SubmissionResult] = {}
    readable, places = [], {}
    for sub in chunk:
        try:
            sources, places[sub.student] = read_code_cells_placed(sub)
            readable.append((sub, sources))
        except UnreadableNotebook as exc:
            results[sub.student] = SubmissionResult(
                sub.student, str(sub.path), "unreadable", reason=str(exc), unsafe=unsafe
            )
    if readable:
        plugin = GradingPlugin(
            readable, runtime=runtime, slot=slot, limits=limits, unsafe=unsafe, places=places
        )
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # no hypothesis, xdist, … here
        args = [
            str(GRADERS_DIR), "-c", str(GRADERS_DIR / "pytest.ini"), "--rootdir", str(GRADERS_DIR),
            "-p", "no:cacheprovider", "-p", "no:terminal", "--assert=plain",
            "--import-mode=importlib",
            # pytest's end-of-session gc.collect (about 0.13 s a chunk) looks for
            # unraisable exceptions in test code; the graders have none to report.
            "-p", "no:unraisableexception", "-p", "no:threadexception",
        ]  # fmt: skip
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = pytest.main(args, plugins=[plugin])
        broken = plugin.collect_errors or code in (
            pytest.ExitCode.INTERNAL_ERROR,
            pytest.ExitCode.USAGE_ERROR,
            pytest.ExitCode.NO_TESTS_COLLECTED,
        )
        for sub, _ in readable:
            tests = plugin.outcomes[sub.student]
            if broken or not tests:
                # Never count a grader that did not run as a pass: the row says why.
                results[sub.student] = SubmissionResult(
                    sub.student, str(sub.path), "failed",
                    reason="the hidden graders could not run (instructor: see the log)",
                    tests=[], notebook_errors=["\n".join(plugin.collect_errors)[:2000]],
                    unsafe=unsafe,
                )  # fmt: skip
                continue
            results[sub.student] = SubmissionResult(
                sub.student,
                str(sub.path),
                "graded",
                tests=tests,
                notebook_errors=plugin.notebook_errors.get(sub.student, []),
                unsafe=unsafe,
                seconds=round(plugin.seconds.get(sub.student, 0.0), 3),
                phases=plugin.phases.get(sub.student, {}),
            )
    return [results[s.student] for s in chunk]
