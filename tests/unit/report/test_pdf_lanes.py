"""report.pdf.PdfLanes: every task runs once on a lane; lanes that cannot start say why."""

from __future__ import annotations

import threading
from typing import ClassVar

import pytest

from autograder.grade.outcome import SubmissionResult
from autograder.report import pdf
from autograder.rubric import load_rubric


class FakeLane:
    opened: ClassVar[list[FakeLane]] = []

    def __init__(self) -> None:
        self.closed = False
        self.thread = threading.current_thread()
        FakeLane.opened.append(self)

    def stop_worker(self) -> None:
        pass

    def close(self) -> None:
        assert threading.current_thread() is self.thread  # closed by the thread that owns it
        self.closed = True


@pytest.fixture
def fake_lanes(monkeypatch: pytest.MonkeyPatch) -> list[FakeLane]:
    FakeLane.opened = []
    monkeypatch.setattr(pdf, "Lane", FakeLane)
    monkeypatch.setattr(pdf, "format_dir", lambda lane: None)
    return FakeLane.opened


def test_each_task_runs_once_on_the_thread_that_started_its_lane(fake_lanes):
    lanes = pdf.PdfLanes(3)
    seen: list[tuple[int, bool]] = []
    lock = threading.Lock()

    def task(k: int):
        def run(lane: FakeLane) -> None:
            with lock:
                seen.append((k, threading.current_thread() is lane.thread))

        return run

    lanes.finish([task(k) for k in range(20)])
    assert sorted(k for k, _ in seen) == list(range(20))
    assert all(same for _, same in seen)
    assert len(fake_lanes) == 3 and all(lane.closed for lane in fake_lanes)
    lanes.close()  # closing again is harmless


def test_lanes_that_cannot_start_give_every_result_a_reason(monkeypatch: pytest.MonkeyPatch):
    def refuse() -> None:
        raise pdf.SandboxUnavailable("no user namespaces")

    monkeypatch.setattr(pdf, "Lane", refuse)
    monkeypatch.setattr(pdf, "pdf_toolchain_missing", lambda: [])
    results = [SubmissionResult(s, f"{s}.ipynb", "graded") for s in ("ada", "bob")]
    outcomes = pdf.render_graded_pdfs(results, load_rubric(), pdf.Path("/nonexistent"), 2)
    assert [o.student for o in outcomes] == ["ada", "bob"]
    assert all(not o.produced and "no user namespaces" in o.reason for o in outcomes)
