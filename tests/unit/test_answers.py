"""Written answers are found wherever the student put them (autograder.answers), by every
reader: the review page (render.read_answers) here, the PDF's labels in test_pdf_content.

Each placement is made from the correct example the way a student's front end leaves it,
for every written item, and the answer must be found whole, in that item only.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from autograder import answers
from autograder.review.render import read_answers
from tests.notebooks import MANUAL, REPO, STUDENT_NB

CORRECT = REPO / "examples" / "submissions" / "correct.ipynb"
TEXT = "My own answer to {item}: $\\nabla L = (a w_1, b w_2)$."


def _md(source: str, meta: dict | None = None) -> dict:
    return {"cell_type": "markdown", "metadata": meta or {}, "source": source}


def _at(nb: dict, item: str) -> int:
    return next(
        k
        for k, c in enumerate(nb["cells"])
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == item
    )


def original(nb: dict, item: str, text: str) -> None:
    nb["cells"][_at(nb, item)]["source"] = text


def added_after(nb: dict, item: str, text: str) -> None:
    k = _at(nb, item)
    nb["cells"][k]["source"] = "YOUR ANSWER HERE"
    nb["cells"].insert(k + 1, _md(text))


def split(nb: dict, item: str, text: str) -> None:
    k = _at(nb, item)
    head, tail = text[: len(text) // 2], text[len(text) // 2 :]
    nb["cells"][k]["source"] = head
    nb["cells"][k + 1 : k + 1] = [_md(tail), {"cell_type": "code", "metadata": {},
                                              "source": "x = 1  # working", "outputs": [],
                                              "execution_count": None}]  # fmt: skip


def duplicated(nb: dict, item: str, text: str) -> None:
    """The answer cell copied (metadata and all); the copy holds the answer."""
    k = _at(nb, item)
    nb["cells"][k]["source"] = "YOUR ANSWER HERE"
    copy_ = copy.deepcopy(nb["cells"][k])
    copy_["source"] = text
    nb["cells"].insert(k + 1, copy_)


def stripped(nb: dict, item: str, text: str) -> None:
    original(nb, item, text)
    for c in nb["cells"]:
        c["metadata"] = {}


def cell_added_above(nb: dict, item: str, text: str) -> None:
    original(nb, item, text)
    nb["cells"].insert(0, _md("My notes for this homework."))
    nb["cells"].insert(_at(nb, item) - 1, {"cell_type": "code", "metadata": {}, "source":
                       "print('scratch')", "outputs": [], "execution_count": None})  # fmt: skip


def cell_deleted_above(nb: dict, item: str, text: str) -> None:
    original(nb, item, text)
    del nb["cells"][0]  # the title
    del nb["cells"][1]  # the imports cell (an "unrelated" locked cell)
    for c in nb["cells"]:
        c["metadata"] = {}  # and nothing to fall back on


def typed_into_the_question(nb: dict, item: str, text: str) -> None:
    """The answer appended to the question's own cell; the stub left as it was."""
    k = _at(nb, item)
    nb["cells"][k]["source"] = "YOUR ANSWER HERE"
    nb["cells"][k - 1]["source"] += "\n\n" + text


PLACEMENTS: list[Callable[[dict, str, str], None]] = [
    original,
    added_after,
    split,
    duplicated,
    stripped,
    cell_added_above,
    cell_deleted_above,
    typed_into_the_question,
]


def _write(tmp_path: Path, nb: dict) -> Path:
    path = tmp_path / "student.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


@pytest.mark.parametrize("item", MANUAL)
@pytest.mark.parametrize("place", PLACEMENTS, ids=lambda f: f.__name__)
def test_every_answer_is_found_wherever_it_was_put(tmp_path, place, item):
    nb = json.loads(CORRECT.read_text(encoding="utf-8"))
    text = TEXT.format(item=item)
    place(nb, item, text)
    found = read_answers(_write(tmp_path, nb), MANUAL)
    mine = found[item]
    assert not mine.problem and not mine.unanswered
    # every word of it (a split answer is joined with a blank line between its cells)
    assert " ".join(text.split()) in " ".join(mine.source.replace("\n\n", "").split()) or (
        all(w in mine.source for w in text.split())
    )
    assert "YOUR ANSWER HERE" not in mine.source
    for other in MANUAL:
        if other != item:
            assert f"to {item}:" not in found[other].source, other
            assert not found[other].problem, (other, found[other].problem)


def test_an_answer_whose_surroundings_are_gone_is_said_not_found(tmp_path):
    nb = json.loads(CORRECT.read_text(encoding="utf-8"))
    k = _at(nb, "q1_forward")
    nb["cells"][k - 1]["source"] = "my own words instead of the question"
    nb["cells"][k + 1]["source"] = "and here too"
    for c in nb["cells"]:
        c["metadata"] = {}
    found = read_answers(_write(tmp_path, nb), MANUAL)
    assert found["q1_forward"].problem.startswith("answer not found: ")
    assert not found["q1_forward"].unanswered  # so "give all unanswered 0" never takes it
    assert found["q1_forward"].group_key() == "not found"
    assert not found["q2_slow"].problem  # the rest of the notebook is found as usual


def test_an_untouched_stub_is_unanswered_and_a_pasted_question_is_not_an_answer(tmp_path):
    nb = json.loads((REPO / "assignment" / "hw2.ipynb").read_text(encoding="utf-8"))
    k = _at(nb, "q2_slow")
    nb["cells"].insert(k + 1, copy.deepcopy(nb["cells"][k - 1]))  # the question, duplicated
    nb["cells"].insert(k + 1, _md("   \n"))
    found = read_answers(_write(tmp_path, nb), MANUAL)
    assert all(a.unanswered for a in found.values()), {i: a.source for i, a in found.items()}


def test_matching_is_bounded_on_a_hostile_notebook(tmp_path):
    """Thousands of copies of a locked cell and a 20 MB cell: found in about linear time."""
    rel = json.loads(STUDENT_NB.read_text(encoding="utf-8"))
    tpl = answers.template(rel)
    cells = answers.cells_of(rel)
    question = cells[_at(rel, "q1_forward") - 1]
    hostile = [question] * 4000 + [("markdown", "x " * 10_000_000, "")] + cells
    t0 = time.monotonic()
    found = answers.find_answers(tpl, hostile, MANUAL)
    assert time.monotonic() - t0 < 60  # generous: the point is no quadratic blow-up
    assert not any(a.problem for a in found.values())
    assert [cells[s] for s in found["q2_slow"].cells] == []  # the stub is not an answer


def test_matching_is_bounded_when_every_locked_cell_is_gone():
    """No locked cell left, and thousands of near-copies of a question (each one character
    short): every edited-question search is bounded, and nothing is claimed found."""
    rel = json.loads(STUDENT_NB.read_text(encoding="utf-8"))
    tpl = answers.template(rel)
    kind, text, _ = answers.cells_of(rel)[_at(rel, "q1_forward") - 1]
    hostile = [(kind, text[:-1], "")] * answers.MAX_CELLS
    t0 = time.monotonic()
    found = answers.find_answers(tpl, hostile, MANUAL)
    assert time.monotonic() - t0 < 60  # generous: the point is no quadratic blow-up
    assert all(r.problem.startswith("answer not found") for r in found.values())


def test_the_nbgrader_route_places_each_answer_in_its_graded_cell():
    """`nbgrader-course --place-answers`: the fronts' notebooks come out with every graded
    and locked cell once, with its id, each written answer whole in its own cell."""
    from collections import Counter

    import nbformat

    from autograder.integrations.nbgrader_course import placed
    from tests.frontends import FRONTS, NAMES

    rel = json.loads(STUDENT_NB.read_text(encoding="utf-8"))

    def ids(nb: dict) -> Counter:
        return Counter(g for c in nb["cells"] if (g := c.get("metadata", {}).get("nbgrader",
                       {}).get("grade_id")))  # fmt: skip

    for front, make in FRONTS.items():
        nb, left = placed(make(MANUAL), rel)
        assert left == [] and ids(nb) == ids(rel), front
        nbformat.validate(nbformat.from_dict(nb))
        cells = {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"]
                 if "nbgrader" in c["metadata"]}  # fmt: skip
        for item in MANUAL:
            assert f"{NAMES[front]} answers {item}" in cells[item]["source"], (front, item)
    hostile = {"cells": [1, None, {"metadata": [1]}, {"cell_type": "markdown", "source": 5,
               "attachments": [1]}], "nbformat_minor": "x"}  # fmt: skip
    with pytest.raises(ValueError):  # refused whole (the student's file is left as it was)
        placed(hostile, rel)
