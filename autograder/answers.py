"""Where a written answer is in a student's notebook: the cells between the locked cells
around it, found by matching the submission against the released notebook.

Students add cells below an answer, split it, duplicate it, delete cells above it, and
their front end may strip every cell's metadata (VS Code, a copy into a fresh notebook),
so neither nbgrader's ``grade_id`` nor a cell's position finds an answer. The cells the
student was told not to change do: each *locked* cell of the released notebook (every
cell that is not an answer cell) is matched to a cell of the submission with the same
normalised source (same kind, whitespace collapsed), by a hash. The matching keeps the
released order and matches as many locked cells as possible: a longest increasing
subsequence over the pairs (released k, submission s) with equal hashes, O(P log P) in the
number of pairs P, which is bounded by capping each hash's occurrences.

The answer to item i, released between locked cells A and B, is then every submission
cell strictly between A's match and B's match, without the cells that are copies of a
released cell (the stub, a duplicated question). Where A or B was edited (an answer typed
into the question's cell), a cell that starts with A's text stands for A and is part of
the answer; where the region still cannot be told apart from a neighbour's, a cell with
the item's ``grade_id`` is the answer; otherwise the answer is "not found" with the
reason, never silently empty.

Only the standard library: the PDF worker imports this file inside its sandbox, where the
rest of the autograder is not bound. Cells are given as plain (kind, source, grade_id)
triples so each caller keeps its own parsing of hostile JSON.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import cache

MAX_CELLS = 5000  # cells of a submission searched; a longer notebook is cut with a note
MAX_COPIES = 32  # matches considered per locked text (a cell pasted 10⁵ times costs nothing)

Cell = tuple[str, str, str]  # (cell_type, source, grade_id)

# An image pasted the Colab way: ![image.png](data:image/png;base64,…) inside the markdown
# (JupyterLab makes an attachment instead). The payload class stops at anything that is not
# base64, so a hostile run of unclosed openings costs linear time, never quadratic.
PASTED = re.compile(
    r"!\[([^\]\n]{0,500})\]\(\s*<?data:([\w.+-]{1,60}/[\w.+-]{1,60});base64,([A-Za-z0-9+/=\s]*)>?\)"
)


def pasted_images(text: str, taken: set[str]) -> tuple[str, list[tuple[str, str, str]]]:
    """The markdown with each pasted ``data:`` image replaced by ``attachment:NAME``, and
    the images as (NAME, mime, base64): the base64 is an image, not answer text. Names
    avoid ``taken`` (the cell's own attachments) and are added to it."""
    found: list[tuple[str, str, str]] = []

    def swap(m: re.Match) -> str:
        mime = m.group(2).lower()
        ext = re.sub(r"[^a-z0-9]", "", mime.rsplit("/", 1)[-1].split("+")[0])[:8] or "bin"
        name, k = f"pasted-{len(found) + 1}.{ext}", 1
        while name in taken:
            k += 1
            name = f"pasted-{len(found) + 1}-{k}.{ext}"
        taken.add(name)
        found.append((name, mime, m.group(3)))
        return f"![{m.group(1)}](attachment:{name})"

    return PASTED.sub(swap, text), found


def normalised(source: str) -> str:
    """Whitespace collapsed: a front end's line endings and trailing newlines don't count."""
    return " ".join(source.split())


def _hash(kind: str, norm: str) -> str:
    return hashlib.blake2b(f"{kind}\0{norm}".encode("utf-8", "replace"), digest_size=16).hexdigest()


def cells_of(nb: object) -> list[Cell]:
    """A parsed notebook's cells as (kind, source, grade_id), whatever JSON it holds."""
    raw = nb.get("cells") if isinstance(nb, dict) else None
    out: list[Cell] = []
    for c in raw[:MAX_CELLS] if isinstance(raw, list) else []:
        if not isinstance(c, dict):
            c = {}
        src = c.get("source")
        src = "".join(map(str, src)) if isinstance(src, list) else str(src or "")
        meta = c.get("metadata")
        grade = meta.get("nbgrader") if isinstance(meta, dict) else None
        gid = grade.get("grade_id") if isinstance(grade, dict) else None
        out.append((str(c.get("cell_type")), src, gid if isinstance(gid, str) else ""))
    return out


def template(released: dict) -> dict:
    """The released notebook as the matching needs it (JSON, for the PDF worker's request).

    Its answer cells are those nbgrader marks ``solution``; every other cell is locked,
    and a locked cell's ``grade_id`` (a figure cell, say) can be asked for as an item too.
    """
    answer_ids = {
        g["grade_id"]
        for c in released["cells"]
        if isinstance(g := (c.get("metadata") or {}).get("nbgrader"), dict) and g.get("solution")
    }
    locked, items, ids, hashes = [], {}, {}, set()
    for k, (kind, source, gid) in enumerate(cells_of(released)):
        norm = normalised(source)
        hashes.add(_hash(kind, norm))
        if gid in answer_ids:
            items[gid] = k
        else:
            locked.append([k, kind, norm, _hash(kind, norm)])
            if gid:
                ids[gid] = k
    return {"locked": locked, "items": items, "ids": ids, "released": sorted(hashes)}


@cache
def released_template() -> dict:
    """The template of the released notebook, ``assignment/hw2.ipynb`` (outside the PDF
    sandbox only: the worker receives it in its request)."""
    from autograder import STUDENT_NB

    return template(json.loads(STUDENT_NB.read_text(encoding="utf-8")))


@dataclass
class Region:
    """The submission cells holding the student's answer to one item."""

    cells: list[int] = field(default_factory=list)  # submission indices, in order
    problem: str = ""  # "answer not found: …" when the region could not be told
    note: str = ""  # how it was found, when not by the locked cells around it


def _longest_chain(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest subsequence of (k, s) pairs increasing in both (patience sorting)."""
    pairs = sorted(pairs, key=lambda p: (p[0], -p[1]))
    tails: list[int] = []  # tails[j]: smallest s ending a chain of length j + 1
    tail_at: list[int] = []  # index into pairs of that chain's end
    parent = [-1] * len(pairs)
    for n, (_, s) in enumerate(pairs):
        j = bisect_left(tails, s)
        if j == len(tails):
            tails.append(s)
            tail_at.append(n)
        else:
            tails[j], tail_at[j] = s, n
        parent[n] = tail_at[j - 1] if j else -1
    chain, n = [], tail_at[-1] if tail_at else -1
    while n >= 0:
        chain.append(pairs[n])
        n = parent[n]
    return chain[::-1]


def hashes_of(tpl: dict, cells: list[Cell]) -> list[str | None]:
    """Each cell's hash; None for a cell too long to equal any released cell, which is
    never normalised (a hostile 50 MB cell costs a length check)."""
    longest = max((len(norm) for _, _, norm, _ in tpl["locked"]), default=0) + 1000
    return [
        _hash(kind, normalised(source)) if len(source) <= 2 * longest else None
        for kind, source, _ in cells
    ]


def match_locked(tpl: dict, hashes: list[str | None]) -> dict[int, int]:
    """Released index of each matched locked cell → its submission index."""
    by_hash: dict[str, list[int]] = {}
    for k, _kind, _norm, h in tpl["locked"]:
        by_hash.setdefault(h, []).append(k)
    found: dict[str, list[int]] = {}
    for s, h in enumerate(hashes):
        if h in by_hash and len(found.setdefault(h, [])) < MAX_COPIES:
            found[h].append(s)
    pairs = [(k, s) for h, ks in by_hash.items() for k in ks for s in found.get(h, [])]
    return dict(_longest_chain(pairs))


def find_answers(tpl: dict, cells: list[Cell], items: list[str]) -> dict[str, Region]:
    """item → the submission cells of its answer (see the module's docstring)."""
    cells = cells[:MAX_CELLS]
    hashes = hashes_of(tpl, cells)
    matched = match_locked(tpl, hashes)
    longest = max((len(norm) for _, _, norm, _ in tpl["locked"]), default=0) + 1000
    locked = {k: (kind, norm) for k, kind, norm, _ in tpl["locked"]}
    released = set(tpl["released"])
    order = sorted(locked)
    item_at = tpl["items"]
    # An edited locked cell (an answer typed into the question) still anchors when it starts
    # with the released text: it is then the first cell of the answer after it.
    edited: set[int] = set()
    next_to_items = {k + d for k in item_at.values() for d in (-1, 1)}
    prefixes: dict[int, str] = {}  # each cell's normalised head, computed once
    for k in order:
        if k in matched or k not in next_to_items:
            continue
        lo = max((s for r, s in matched.items() if r < k), default=-1)
        hi = min((s for r, s in matched.items() if r > k), default=len(cells))
        kind, norm = locked[k]
        for s in range(lo + 1, hi):
            c_kind, source, _ = cells[s]
            if c_kind != kind or not norm:
                continue
            if s not in prefixes:
                prefixes[s] = normalised(source[: 2 * longest])
            if prefixes[s].startswith(norm):
                matched[k] = s
                edited.add(s)
                break
    empty = _hash("markdown", "")
    dropped = {
        s
        for s, h in enumerate(hashes)
        if s not in edited and (h in released or h == empty or not cells[s][1].strip())
    }
    out: dict[str, Region] = {}
    for item in items:
        if item in tpl["ids"]:  # a locked cell: where it is, if anywhere
            s = matched.get(tpl["ids"][item])
            out[item] = Region([s] if s is not None else [], "" if s is not None else "not found")
            continue
        at = item_at.get(item)
        if at is None:
            out[item] = Region(problem="answer not found: the item is not in the notebook")
            continue
        before = [k for k in order if k < at and k in matched]
        after = [k for k in order if k > at and k in matched]
        a = before[-1] if before else -1
        b = after[0] if after else 1 << 60
        lo = matched[a] if a >= 0 else -1
        hi = matched[b] if b in matched else len(cells)
        if not any(i != item and a < k < b for i, k in item_at.items()):
            first = [lo] if lo in edited else []
            region = first + [s for s in range(lo + 1, hi) if s not in dropped]
            out[item] = Region(region)
            continue
        tagged = [s for s, (_, _, gid) in enumerate(cells) if gid == item]
        if tagged:
            out[item] = Region(tagged, note="found by its nbgrader id only")
            continue
        out[item] = Region(
            problem="answer not found: the cells around it were changed or deleted, and no "
            "cell carries its id"
        )
    return out
