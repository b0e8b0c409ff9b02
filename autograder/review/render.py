"""Written answers: found in a notebook, normalised for grouping, rendered as safe HTML.

Student markdown is hostile. It is rendered as Jupyter renders it (CommonMark with
tables, raw HTML, ``$…$`` / ``$$…$$`` math and ``attachment:`` images) by
markdown-it-py with the dollarmath/amsmath plugins, then cleaned by nh3 (the
ammonia sanitiser) with an allow-list: no script, no event handler, no style, no
iframe/object/svg, no remote image. Math stays as text in ``<span class="math">``
and is typeset in the browser by KaTeX (``trust: false``, so ``\\href`` and
friends cannot make links). The page's Content-Security-Policy is the second wall.

An answer is every cell of its item's region (``autograder.answers``). Images pasted the
Colab way, ``data:`` URIs inside the markdown, are taken out of the text and become
attachments, decoded and bounded as attachments are (per image and per notebook).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.amsmath import amsmath_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin

from autograder import INSTRUCTOR_NB, answers
from autograder.cells import TEXT_STUB, grade_id

GRAPH_CELL = "fig_graph"  # the notebook cell that draws Q1's computational graph

# Bounds: whatever a student pastes, a page stays small and quick.
MAX_ANSWER_CHARS = 20_000  # rendered (as in the PDF); the rest is cut with a visible note
MAX_ATTACHMENT_BYTES = 8 << 20  # decoded; larger images are listed, not shown
MAX_ATTACHMENTS = 20  # per answer, attachments and pasted images together
MAX_NOTEBOOK_IMAGE_BYTES = 48 << 20  # decoded, per notebook; later images are listed
IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp")

_ALLOWED_TAGS = set(nh3.ALLOWED_TAGS) - {"area", "map"}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align", "colspan", "rowspan"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
}
_ALLOWED_CLASSES = {"span": {"math", "inline"}, "div": {"math", "inline", "block", "amsmath"}}
_LINK_SCHEMES = ("http:", "https:", "mailto:")


@dataclass(frozen=True)
class Attachment:
    name: str
    mime: str
    data: bytes | None  # None when not shown (too large, not a raster image, over budget)
    size: int
    digest: str = ""  # of every byte the student gave, shown or not (for grouping)


@dataclass
class Answer:
    """One student's answer to one written item: every cell of its region (see
    ``autograder.answers``), joined, with the images pasted into them."""

    source: str
    attachments: list[Attachment] = field(default_factory=list)
    figure: bytes | None = None  # the notebook's drawn graph (PNG), for q1_graph
    problem: str = ""  # "answer not found: …", if so

    @property
    def unanswered(self) -> bool:
        return (
            not self.problem
            and not self.attachments
            and normalise(self.source) in ("", normalise(TEXT_STUB))
        )

    def group_key(self) -> str:
        """Equal for answers that are the same up to whitespace and LaTeX spacing, with the
        same bytes in every attachment and pasted image (whatever their type or size)."""
        if self.problem:
            return "not found"
        if self.unanswered:
            return "unanswered"
        h = hashlib.sha256(normalise(self.source).encode())
        for a in sorted(self.attachments, key=lambda a: a.name):
            h.update(b"\0" + a.mime.encode() + b"\0")
            h.update(a.digest.encode() or hashlib.sha256(a.data or b"").hexdigest().encode())
        return h.hexdigest()[:24]


_LATEX_SPACE = re.compile(r"\\[,;:! ]|\\q?quad\b|\\[hv]space\*?\{[^}]{0,100}\}|~")
_SPACE_AROUND = re.compile(r"\s*([^\w\s])\s*")


def normalise(text: str) -> str:
    """Drop LaTeX spacing (``\\,``, ``\\quad``, ``~``…), collapse whitespace, and drop the
    whitespace next to punctuation and operators, so "$a = b$" and "$a=b$" compare equal.
    All of the text counts (it is linear): two answers differing late are not grouped."""
    text = _LATEX_SPACE.sub(" ", text)
    text = " ".join(text.split())
    return _SPACE_AROUND.sub(r"\1", text)


# -- finding answers -------------------------------------------------------------------------
def _join(src: object) -> str:
    return "".join(map(str, src)) if isinstance(src, list) else str(src or "")


def _digest(value: object) -> str:
    """A hash of every byte of a JSON value (an attachment's bundle), in a fixed order."""
    raw = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


class _Budget:
    """Decoded image bytes left for one notebook (attachments and pasted images)."""

    def __init__(self) -> None:
        self.left = MAX_NOTEBOOK_IMAGE_BYTES

    def decode(self, b64: str) -> tuple[bytes | None, int]:
        size = len(b64) * 3 // 4
        if size > MAX_ATTACHMENT_BYTES or size > self.left:
            return None, size
        try:
            data = base64.b64decode("".join(b64.split()), validate=True)
        except (binascii.Error, ValueError):
            return None, size
        self.left -= len(data)
        return data, len(data)


def _attachments(cell: dict, budget: _Budget) -> list[Attachment]:
    raw = cell.get("attachments")
    found: list[Attachment] = []
    if not isinstance(raw, dict):
        return found
    for name, bundle in list(raw.items())[:MAX_ATTACHMENTS]:
        digest = _digest(bundle)
        if not isinstance(bundle, dict):
            continue
        mime = next((m for m in IMAGE_MIMES if m in bundle), None)
        if mime is None:
            # Not a raster image (e.g. SVG): never shown; listed so nothing is hidden.
            found.append(Attachment(str(name)[:200], "unsupported", None, 0, digest))
            continue
        data, size = budget.decode(_join(bundle[mime]))
        found.append(Attachment(str(name)[:200], mime, data, size, digest))
    return found


def inline_images(text: str, budget: _Budget, names: set[str]) -> tuple[str, list[Attachment]]:
    """The markdown with each pasted ``data:`` image (Colab's way) made an attachment,
    decoded and bounded like one; the base64 is not answer text."""
    text, pasted = answers.pasted_images(text, names)
    found: list[Attachment] = []
    for name, mime, payload in pasted:
        digest = hashlib.sha256(f"{mime}\0{payload}".encode()).hexdigest()
        size = len(payload) * 3 // 4
        if mime in IMAGE_MIMES and len(found) < MAX_ATTACHMENTS:
            data, size = budget.decode(payload)
            found.append(Attachment(name, mime, data, size, digest))
        else:
            found.append(Attachment(name, "unsupported", None, size, digest))
    return text, found


def _fresh(name: str, used: set[str]) -> str:
    k, base = 1, name
    while name in used:
        k += 1
        name = f"{k}-{base}"
    used.add(name)
    return name


def _fence(text: str, lang: str) -> str:
    """A fenced block longer than any backtick run in ``text``: it cannot be closed early."""
    ticks = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", text)), default=0))
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _answer(cells: list, region: answers.Region, budget: _Budget) -> Answer:
    """The region's cells as one markdown answer; attachment names made unique across cells."""
    parts: list[str] = []
    found: list[Attachment] = []
    names: set[str] = set()
    for s in region.cells:
        cell = cells[s] if isinstance(cells[s], dict) else {}
        kind, text = cell.get("cell_type"), _join(cell.get("source"))
        if kind != "markdown":
            parts.append(_fence(text, "python" if kind == "code" else ""))
            continue
        for a in _attachments(cell, budget):
            name = _fresh(a.name, names)
            if name != a.name:
                text = text.replace(f"attachment:{a.name}", f"attachment:{name}")
            found.append(Attachment(name, a.mime, a.data, a.size, a.digest))
        text, pasted = inline_images(text, budget, names)
        parts.append(text)
        found += pasted
    if not parts and not region.problem:
        parts = [TEXT_STUB]
    return Answer("\n\n".join(parts), found, problem=region.problem)


def _figure(cells: list, region: answers.Region) -> bytes | None:
    for s in region.cells:
        cell = cells[s]
        for out in cell.get("outputs") or [] if isinstance(cell, dict) else []:
            png = (out.get("data") or {}).get("image/png") if isinstance(out, dict) else None
            if png and len(_join(png)) <= MAX_ATTACHMENT_BYTES:
                try:
                    return base64.b64decode(_join(png))
                except (binascii.Error, ValueError):
                    return None
    return None


def read_answers(path: Path, items: list[str], problem: str = "") -> dict[str, Answer]:
    """item id → the student's answer; a missing region or notebook gives a ``problem``.

    The file is read as grading reads it (autograder.submissions.read_submission): no
    link followed, a regular file only, its size checked before any byte is read.
    ``problem`` is why grading refused the file (a link, a FIFO, …): it is then not
    opened at all, and every item shows that reason instead of an answer.
    """
    from autograder.submissions import Submission, UnreadableNotebook, read_submission

    try:
        raw = read_submission(Submission(path.stem, path, problem=problem))
        nb = json.loads(raw.decode("utf-8"))
        cells = nb["cells"]
        if not isinstance(cells, list):
            raise ValueError("no list of cells")
    except UnreadableNotebook as exc:
        why = str(exc).removeprefix("not graded: ")
        return {i: Answer("", problem=f"notebook not read: {why}") for i in items}
    except (ValueError, KeyError, TypeError) as exc:
        reason = str(exc)[:200]
        return {i: Answer("", problem=f"notebook not readable: {reason}") for i in items}
    return answers_in(nb, items)


def answers_in(nb: dict, items: list[str]) -> dict[str, Answer]:
    """item id → the student's answer in a parsed notebook (see ``read_answers``)."""
    cells = nb["cells"]
    regions = answers.find_answers(
        answers.released_template(), answers.cells_of(nb), [*items, GRAPH_CELL]
    )
    budget = _Budget()
    found = {item: _answer(cells, regions[item], budget) for item in items}
    if "q1_graph" in found:
        found["q1_graph"].figure = _figure(cells, regions[GRAPH_CELL])
    return found


# -- the instructor's side -------------------------------------------------------------------
@dataclass(frozen=True)
class ModelAnswer:
    answer_md: str
    rubric_md: str
    rubric_items: list[tuple[float, str]]  # the seed for the page's rubric items


_NUMBER = r"[−-]?\d+(?:\.\d+)?"
_LEAD = re.compile(rf"^\s*[-*]\s*({_NUMBER})\s*[:,]?\s*(.+)$")
_TAIL = re.compile(rf"^\s*[-*]\s*(.+?)[:,]?\s*({_NUMBER})\s*\.?\s*$")


def _rubric_items(rubric_md: str) -> list[tuple[float, str]]:
    """ "- 0.25: the gradient." → (0.25, "the gradient."); "- Shapes missing: −0.25." too."""
    items = []
    for line in rubric_md.splitlines():
        m = _LEAD.match(line)
        if m:
            items.append((float(m.group(1).replace("−", "-")), m.group(2).strip()))
            continue
        m = _TAIL.match(line)
        if m:
            items.append((float(m.group(2).replace("−", "-")), m.group(1).strip()))
    return items


@cache
def model_answers(path: Path = INSTRUCTOR_NB) -> dict[str, ModelAnswer]:
    """grade_id → model answer and rubric text, split at the cell's "**Rubric:**" line."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    found = {}
    for cell in nb["cells"]:
        gid = grade_id(cell)
        if not gid or cell.get("cell_type") != "markdown":
            continue
        text = _join(cell.get("source"))
        answer, _, rubric = text.partition("**Rubric:**")
        found[gid] = ModelAnswer(answer.strip(), rubric.strip(), _rubric_items(rubric))
    return found


# -- rendering -------------------------------------------------------------------------------
@cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    return md.use(dollarmath_plugin, allow_space=True, allow_digits=True, double_inline=True).use(
        amsmath_plugin
    )


def render_markdown(text: str, attachment_url: dict[str, str] | None = None) -> str:
    """Markdown → sanitised HTML. ``attachment:NAME`` images map to ``attachment_url[NAME]``;
    every other image source is dropped (no remote loads), links keep http(s)/mailto only."""
    urls = attachment_url or {}
    note = ""
    if len(text) > MAX_ANSWER_CHARS:
        note = (
            f'<p class="cut">[answer cut for display: {len(text):,} characters; '
            f"the first {MAX_ANSWER_CHARS:,} are shown]</p>"
        )
        text = text[:MAX_ANSWER_CHARS]
    html = _markdown().render(text)

    def keep(tag: str, attr: str, value: str) -> str | None:
        if tag == "img" and attr == "src":
            if value.startswith("attachment:"):
                return urls.get(value.removeprefix("attachment:"))
            return None
        if attr == "href":
            return value if value.lower().startswith(_LINK_SCHEMES) else None
        if attr in ("width", "height"):
            return value if value.isdigit() and len(value) <= 4 else None
        return value

    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=keep,
        allowed_classes=_ALLOWED_CLASSES,
        url_schemes={"http", "https", "mailto", "attachment"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return clean + note
