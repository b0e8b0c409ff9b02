"""What grading produces for one submission: plain dataclasses, JSON-serialisable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from autograder.rubric import Rubric

Status = Literal["graded", "unreadable", "failed"]

KEPT_NOTE = "kept from an earlier run into this OUT (not among this run's submissions)"


@dataclass(frozen=True)
class TestOutcome:
    """One hidden grader test run against one submission."""

    __test__ = False  # a result record, not a pytest test class

    item: str
    name: str
    weight: float
    visibility: str
    passed: bool
    message: str = ""
    debug: str = ""  # instructor-only (a grader's own traceback); never in student feedback
    # The failure in a few words, to group students by (Feedback.gist, or the kind of
    # StudentError); written by the grader, like ``message``.
    gist: str = ""
    problem: str = ""  # a Feedback's Problem (its value: "form", "mistake", …), else ""


@dataclass
class SubmissionResult:
    student: str
    source: str
    status: Status
    reason: str = ""
    tests: list[TestOutcome] = field(default_factory=list)
    notebook_errors: list[str] = field(default_factory=list)
    manual: dict[str, float] = field(default_factory=dict)
    # written item → {"rubric": [applied rubric item texts], "comment": str}, from `review`
    manual_notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    unsafe: bool = False
    seconds: float = 0.0
    # Where ``seconds`` went (autograder.run.sandbox.PHASES): instructor's log and bench only.
    phases: dict[str, float] = field(default_factory=dict)
    note: str = ""  # about the row itself (a changed id, KEPT_NOTE)
    isolation: str = ""  # the level student code ran at (autograder.run.isolation.Level)

    @property
    def refused(self) -> str:
        """Why grading did not read this row's file (a link, a FIFO, …), or "" if it did.
        Later steps (review, export, PDFs) show that reason and never open the file."""
        return (self.reason or "not graded") if self.status == "unreadable" else ""

    def item_score(self, item_id: str, points: float) -> float:
        """points × (weight of passed tests) / (weight of all tests) for an auto item."""
        tests = [t for t in self.tests if t.item == item_id]
        total = sum(t.weight for t in tests)
        if self.status != "graded" or total == 0:
            return 0.0
        return round(points * sum(t.weight for t in tests if t.passed) / total, 6)

    def auto_scores(self, rubric: Rubric) -> dict[str, float]:
        return {i.id: self.item_score(i.id, i.points) for i in rubric.auto}

    def auto_total(self, rubric: Rubric) -> float:
        return round(sum(self.auto_scores(rubric).values()), 6)

    def manual_total(self) -> float | None:
        return round(sum(self.manual.values()), 6) if self.manual else None

    def total(self, rubric: Rubric) -> float:
        return round(self.auto_total(rubric) + (self.manual_total() or 0.0), 6)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubmissionResult:
        tests = [TestOutcome(**t) for t in data.pop("tests", [])]
        return cls(tests=tests, **data)
