"""The machine-readable rubric (autograder/rubric.toml), loaded into dataclasses."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from autograder import PACKAGE_DIR

RUBRIC_PATH = PACKAGE_DIR / "rubric.toml"


@dataclass(frozen=True)
class Item:
    """One gradable item: an auto item is a student function, a manual item a written answer."""

    id: str
    question: str
    kind: Literal["auto", "manual"]
    points: float
    title: str
    # A written item's key formulas: none may appear, in any spelling, in what students get.
    formulas: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rubric:
    assignment: str
    title: str
    items: tuple[Item, ...]

    @property
    def auto(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.kind == "auto")

    @property
    def manual(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.kind == "manual")

    @property
    def questions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.question for i in self.items))

    @property
    def max_points(self) -> float:
        return sum(i.points for i in self.items)

    @property
    def auto_points(self) -> float:
        """The autograded part's maximum (the Gradescope autograder's score)."""
        return sum(i.points for i in self.auto)

    def item(self, item_id: str) -> Item:
        for i in self.items:
            if i.id == item_id:
                return i
        raise KeyError(item_id)


@cache
def load_rubric(path: Path = RUBRIC_PATH) -> Rubric:
    """Parse and check the rubric: unique ids, auto/manual kinds, positive points."""
    data = tomllib.loads(path.read_text())
    items = tuple(
        Item(id=i["id"], question=i["question"], kind=i["kind"], points=float(i["points"]),
             title=i["title"], formulas=tuple(i.get("formulas", ())))
        for i in data["item"]
    )  # fmt: skip
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate item ids")
    for i in items:
        if i.kind not in ("auto", "manual") or i.points <= 0:
            raise ValueError(f"{path}: item {i.id} has a bad kind or points")
    return Rubric(assignment=data["assignment"], title=data["title"], items=items)
