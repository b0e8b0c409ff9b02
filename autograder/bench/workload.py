"""The benchmark's class of submissions, written in each tool's own input format.

A class repeats a pattern of ten: five correct notebooks, three with a mistake
from the mutation catalog (tests/mutations.py, taken in turn), one stub and one
slow notebook (correct, plus a one-second ``time.sleep`` at the top of an answer
cell). Any N that is a multiple of ten has exactly that mix, so per-submission
costs at N = 10, 100 and 1000 compare like with like.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.rubric import load_rubric
from examples.build_examples import solutions, submission
from tests.mutations import MUTATIONS

PATTERN = ("correct", "buggy", "correct", "stub", "correct",
           "buggy", "correct", "slow", "correct", "buggy")  # fmt: skip
SLOW_SECONDS = 1.0
SLOW_PREFIX = f"import time as _bench_time\n_bench_time.sleep({SLOW_SECONDS})\n\n"


@dataclass(frozen=True)
class Spec:
    """One submission: its id, its kind and its answer cells (function → source)."""

    student: str
    kind: str
    answers: dict[str, str]  # the answer cells that differ from the unsolved stub
    solved: bool = True


def class_specs(n: int) -> list[Spec]:
    """``n`` submissions following PATTERN; the ids sort in generation order."""
    auto = [i.id for i in load_rubric().auto]
    correct = {fn: src for fn, src in solutions().items() if fn in auto}
    specs, buggy = [], 0
    for i in range(n):
        kind = PATTERN[i % len(PATTERN)]
        answers, solved = dict(correct), True
        if kind == "buggy":
            name, fn, source, _ = MUTATIONS[buggy % len(MUTATIONS)]
            answers[fn] = source.lstrip("\n")
            kind = f"buggy:{name}"
            buggy += 1
        elif kind == "slow":
            answers["sigmoid"] = SLOW_PREFIX + answers["sigmoid"]
        elif kind == "stub":
            answers, solved = {}, False
        specs.append(Spec(f"s{i:04d}", kind, answers, solved))
    return specs


def notebook(spec: Spec) -> nbformat.NotebookNode:
    """The submission in our (and nbgrader's) format: assignment/hw2.ipynb, answered."""
    return submission(spec.answers, solved=spec.solved)


def write_flat(specs: list[Spec], folder: Path) -> list[Path]:
    """``folder/<student>.ipynb`` for each spec: what `python -m autograder grade` reads."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in specs:
        path = folder / f"{spec.student}.ipynb"
        nbformat.write(notebook(spec), path)
        paths.append(path)
    return paths


def write_nbgrader_submitted(flat: list[Path], course: Path) -> None:
    """The same notebooks as nbgrader's ``submitted/<student>/hw2/hw2.ipynb`` tree."""
    assignment = load_rubric().assignment
    for path in flat:
        dest = course / "submitted" / path.stem / assignment / f"{assignment}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)


def write_otter(specs: list[Spec], student_nb: Path, folder: Path) -> list[Path]:
    """The same answers in otter's own student notebook (from `otter assign`)."""
    from autograder.integrations.otter_assign import fill

    folder.mkdir(parents=True, exist_ok=True)
    template = nbformat.read(student_nb, as_version=4)
    paths = []
    for spec in specs:
        path = folder / f"{spec.student}.ipynb"
        nbformat.write(fill(template, spec.answers), path)
        paths.append(path)
    return paths


def sample(specs: list[Spec], k: int) -> list[Spec]:
    """The first ``k`` specs: the first ten are one of each PATTERN slot."""
    return list(specs[:k])
