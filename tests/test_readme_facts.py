"""Every point value the README quotes is read from autograder/rubric.toml.

An instructor sets up Gradescope (or reads the grading rules) from the README; a number
there that disagrees with the rubric sets up the wrong total.
"""

from __future__ import annotations

import re

import pytest

from autograder.rubric import load_rubric
from tests.conftest import REPO

RUBRIC = load_rubric()
README = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())  # lines joined
NUM = r"(\d+(?:\.\d+)?)"


def _total(question: str = "", kind: str = "") -> float:
    return sum(
        i.points
        for i in RUBRIC.items
        if (not question or i.question == question) and (not kind or i.kind == kind)
    )


MANUAL = _total(kind="manual")
# phrase (one number captured) → what the rubric says it is.
PHRASES: dict[str, float] = {
    rf"three questions \({NUM} points\)": RUBRIC.max_points,
    rf"Programming Assignment worth {NUM} points": RUBRIC.max_points,
    rf"{NUM} autograded points": RUBRIC.auto_points,
    rf"all {NUM} auto points": RUBRIC.auto_points,
    rf"the autograder, worth {NUM} points": RUBRIC.auto_points,
    rf"\(max {NUM}\)": RUBRIC.auto_points,
    rf"{NUM} written ones": MANUAL,
    rf"written answers, worth {NUM}": MANUAL,
    rf"the rest is written \({NUM} points\)": _total("Q1", "manual"),
    rf"Q1 and Q2 \({NUM} points\)": _total("Q1") + _total("Q2"),
    rf"Q3's {NUM} points": _total("Q3"),
    rf"Q3's 15 functions, {NUM}": _total("Q3"),
    **{rf"\*\*{q} \({NUM} points\)": _total(q) for q in RUBRIC.questions},
}
ITEM = re.compile(rf"`(\w+)(?:\(\))?`(?:,| \(`\w+\(\)`,)? {NUM}")


@pytest.mark.parametrize("phrase", PHRASES)
def test_readme_totals_are_the_rubrics(phrase):
    quoted = [float(m) for m in re.findall(phrase, README)]
    assert quoted, f"the README no longer says {phrase!r}: update this test"
    assert all(q == pytest.approx(PHRASES[phrase]) for q in quoted), (phrase, quoted)


def test_readme_item_points_are_the_rubrics():
    ids = {i.id for i in RUBRIC.items}
    quoted = [(m[1], float(m[2])) for m in ITEM.finditer(README) if m[1] in ids]
    assert len({i for i, _ in quoted}) >= len(RUBRIC.manual), quoted  # the Gradescope outline
    wrong = [(i, q, RUBRIC.item(i).points) for i, q in quoted if q != RUBRIC.item(i).points]
    assert not wrong, f"README item points (item, README, rubric): {wrong}"


def test_readme_q1_split_is_the_rubrics():
    m = re.search(r"Q1 is split (.*?)\. Q3", README)
    assert m, "the README no longer splits Q1's points: update this test"
    quoted = [float(n) for n in re.findall(rf"\b{NUM}\b", m[1])]
    assert quoted == [i.points for i in RUBRIC.items if i.question == "Q1"]


# -- one PDF route for students ----------------------------------------------------------
STUDENT_ROUTE = "File → Print → Save as PDF"
OTHER_ROUTES = ("nbconvert", "make pdf", "hw2 pdf")


def _section(heading: str) -> str:
    text = README.split(f" {heading} ", 1)[1]
    return re.split(r" #{2,3} ", text, maxsplit=1)[0]


def test_students_are_given_one_pdf_route_everywhere():
    from autograder import STUDENT_NB
    from tests.notebooks import read

    intro = " ".join(read(STUDENT_NB).cells[0].source.split())
    for where, text in (("README, For students", _section("## For students")),
                        ("the notebook's introduction", intro)):  # fmt: skip
        assert STUDENT_ROUTE in text, where
        assert not any(r in text for r in OTHER_ROUTES), where
    graded = _section("### Graded PDFs")
    assert "make pdf" in graded and "**Students** export" not in graded
    assert (
        'Students, who have neither this repository nor TeX, print their PDF as "For students"'
        in graded
    )
