"""Run a submission's own self-check cells, as a student running the notebook would.

Only trusted notebooks built by the tests go through here (the corpus, the mutation
catalog): it executes their code in this process. For each self-check cell it records
whether it passed and which function it blames: the one its message names
("sigmoid: …"), or, for an exception, the answer cell the exception came from.
"""

from __future__ import annotations

import contextlib
import io
import re
import traceback
import warnings
from dataclasses import dataclass

from nbformat import NotebookNode

from autograder.cells import grade_id

BLAME = re.compile(r"^(\w+): ")


@dataclass(frozen=True)
class CheckResult:
    fn: str
    passed: bool
    blamed: str = ""
    message: str = ""


def run_self_checks(nb: NotebookNode, functions: list[str]) -> dict[str, CheckResult]:
    """fn → the outcome of the cell ``check_<fn>``, run after every answer cell."""
    ns: dict = {"__name__": "__main__"}
    results: dict[str, CheckResult] = {}
    answers = set(functions)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # Every answer first, then the checks: a check's verdict must not depend on whether a
    # function it calls is defined above or below it (the hidden tests see them all).
    setup = [c for c in code if grade_id(c) == "imports" or grade_id(c) in answers]
    checks = [c for c in code if grade_id(c).startswith("check_")]
    for cell in setup + checks:
        gid = grade_id(cell)
        fn = gid.removeprefix("check_")
        try:
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
                warnings.catch_warnings(),
            ):
                warnings.simplefilter("ignore")
                exec(compile(cell.source, gid, "exec"), ns)
        except Exception as exc:  # a failing cell is the datum
            if not gid.startswith("check_"):
                continue  # a broken answer cell: its check will fail and say so
            message = str(exc)
            m = BLAME.match(message) if isinstance(exc, AssertionError) else None
            if m and m[1] in answers:
                blamed = m[1]
            else:  # the answer cell the exception was raised in, else this check's function
                cells = [f.f_code.co_filename for f, _ in traceback.walk_tb(exc.__traceback__)]
                blamed = next((c for c in reversed(cells) if c in answers), fn)
            results[fn] = CheckResult(fn, False, blamed, f"{type(exc).__name__}: {message}"[:300])
        else:
            if gid.startswith("check_"):
                results[fn] = CheckResult(fn, True)
    return results
