"""GradingPlugin in a real (inner) pytest session, with a fake student instead of a sandbox."""

from __future__ import annotations

import types
from pathlib import Path
from typing import ClassVar

import pytest

from autograder.grade import session
from autograder.grade.session import INTERNAL_ERROR, GradingPlugin
from autograder.grade.student import Failure, StudentError
from autograder.run.sandbox import Limits
from autograder.submissions import Submission

GRADERS = '''
import numpy as np

from autograder.grade.checks import as_array, expect_close
from autograder.grade.marks import item, visibility, weight


@item("sigmoid")
@weight(3)
def test_sigmoid_values(student):
    """sigmoid: values on five points"""
    z = np.linspace(-2.0, 2.0, 5)
    got = as_array(student.sigmoid(z), "sigmoid(z)", z.shape)
    expect_close(got, 1 / (1 + np.exp(-z)), "sigmoid(z)",
                 mistakes={"it looks like σ(−z).": 1 / (1 + np.exp(z))})


@item("sigmoid")
@visibility("visible")
def test_sigmoid_grader_bug(student):
    """sigmoid: a grader with a bug of its own"""
    raise KeyError("a bug in the grader, not the student")


@item("forward")
def test_forward_called(student):
    """forward: is called"""
    student.forward(np.ones(2))
'''

CORRECT = "import numpy as np\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n"
WRONG = "import numpy as np\ndef sigmoid(z):\n    return 1 / (1 + np.exp(z))\n"


class FakeStudent:
    """The sandboxed Student's interface; its "cells" are trusted test code run right here."""

    opened: ClassVar[list[FakeStudent]] = []

    def __init__(self, cells, runtime, *, slot, limits, unsafe) -> None:
        self.ns: dict = {}
        report = []
        for source in cells:
            try:
                exec(source, self.ns)
                report.append({"status": "ok"})
            except Exception as exc:
                report.append({"status": "error", "error": f"{type(exc).__name__}: {exc}"})
        self.phases: dict[str, float] = {}  # the timing split: none here
        self.report, self.start_error, self.closed = (
            types.SimpleNamespace(cells=report),
            None,
            False,
        )
        FakeStudent.opened.append(self)

    def close(self) -> None:
        self.closed = True

    def __getattr__(self, fn: str):
        if fn.startswith("_"):
            raise AttributeError(fn)
        if fn not in self.ns:
            raise StudentError(f"{fn} is not defined in your notebook.", Failure.MISSING)
        return self.ns[fn]


@pytest.fixture
def graders(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makeconftest((session.GRADERS_DIR / "conftest.py").read_text(encoding="utf-8"))
    monkeypatch.setattr(session, "Student", FakeStudent)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # as grade_chunk runs it
    FakeStudent.opened = []
    return pytester


def _plugin(*subs: tuple[str, list[str]]) -> GradingPlugin:
    subs_cells = [(Submission(s, Path(f"{s}.ipynb")), cells) for s, cells in subs]
    return GradingPlugin(
        subs_cells, runtime=Path("/nonexistent"), slot=0, limits=Limits(), unsafe=True
    )


def test_outcomes_per_submission(graders: pytest.Pytester):
    graders.makepyfile(test_graders=GRADERS)
    plugin = _plugin(("ada", [CORRECT]), ("bob", [WRONG, "undefined_name + 1"]))
    graders.inline_run("-p", "no:cacheprovider", plugins=[plugin])

    ada = {t.name: t for t in plugin.outcomes["ada"]}
    assert set(ada) == {"sigmoid: values on five points", "sigmoid: a grader with a bug of its own",
                        "forward: is called"}  # fmt: skip
    values = ada["sigmoid: values on five points"]
    assert (values.item, values.weight, values.passed, values.message) == ("sigmoid", 3.0, True, "")
    assert values.visibility == "after_published"
    # A grader's own bug: the student sees a neutral message, the instructor the traceback.
    bug = ada["sigmoid: a grader with a bug of its own"]
    assert not bug.passed and bug.message == INTERNAL_ERROR and bug.visibility == "visible"
    assert "a bug in the grader" in bug.debug and "a bug in the grader" not in bug.message
    forward = ada["forward: is called"]
    assert not forward.passed and forward.message == "forward is not defined in your notebook."
    assert forward.gist == "not defined" and bug.gist == "" and values.gist == ""

    bob = {t.name: t for t in plugin.outcomes["bob"]}
    assert not bob["sigmoid: values on five points"].passed
    assert "it looks like σ(−z)." in bob["sigmoid: values on five points"].message
    assert bob["sigmoid: values on five points"].gist == "it looks like σ(−z)."  # for the summary
    assert bob["sigmoid: values on five points"].problem == "mistake" and forward.problem == ""
    name_error = "cell 2: NameError: name 'undefined_name' is not defined"
    assert plugin.notebook_errors == {"ada": [], "bob": [name_error]}
    # One student at a time: each is opened, graded and closed before the next.
    assert [s.closed for s in FakeStudent.opened] == [True, True]
    assert set(plugin.seconds) == {"ada", "bob"}


@pytest.mark.parametrize(
    "grader",
    [
        'def test_no_item(student):\n    """sigmoid: no @item"""\n',
        'from autograder.grade.marks import item\n@item("nonexistent")\n'
        'def test_unknown_item(student):\n    """nonexistent: not in the rubric"""\n',
        'from autograder.grade.marks import item\n@item("sigmoid")\n'
        'def test_bad_name(student):\n    """values of σ, without the item first"""\n',
    ],
)
def test_a_badly_defined_grader_stops_the_session(graders: pytest.Pytester, grader: str):
    graders.makepyfile(test_graders=grader)
    plugin = _plugin(("ada", [CORRECT]))
    result = graders.inline_run("-p", "no:cacheprovider", plugins=[plugin])
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    assert plugin.outcomes == {"ada": []}  # nothing was counted, certainly not as a pass


def test_a_grader_that_cannot_be_imported_is_a_collect_error(graders: pytest.Pytester):
    graders.makepyfile(test_graders="import no_such_module_anywhere\n")
    plugin = _plugin(("ada", [CORRECT]))
    graders.inline_run("-p", "no:cacheprovider", plugins=[plugin])
    assert plugin.collect_errors and "no_such_module_anywhere" in plugin.collect_errors[0]
    assert plugin.outcomes == {"ada": []}
