"""Written answers: found in a notebook, normalised for grouping, rendered as safe HTML.

Student markdown is hostile. It is rendered as Jupyter renders it (CommonMark with
tables, raw HTML, ``$…$`` / ``$$…$$`` math and ``attachment:`` images) by
markdown-it-py with the dollarmath/amsmath plugins, then cleaned by nh3 (the
ammonia sanitiser) with an allow-list: no script, no event handler, no style, no
iframe/object/svg, no remote image. Math stays as text in ``<span class="math">``
and is typeset in the browser by KaTeX (``trust: false``, so ``\\href`` and
friends cannot make links). The page's Content-Security-Policy is the second wall.
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

from autograder import INSTRUCTOR_NB, STUDENT_NB
from autograder.cells import TEXT_STUB, grade_id

GRAPH_CELL = "fig_graph"  # the notebook cell that draws Q1's computational graph

# Bounds: whatever a student pastes, a page stays small and quick.
MAX_ANSWER_CHARS = 20_000  # rendered (as in the PDF); the rest is cut with a visible note
MAX_ATTACHMENT_BYTES = 8 << 20  # decoded; larger images are listed, not shown
MAX_ATTACHMENTS = 20
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
    data: bytes | None  # None when too large to show
    size: int


@dataclass
class Answer:
    """One student's answer cell for one written item, as found in the notebook."""

    source: str
    attachments: list[Attachment] = field(default_factory=list)
    figure: bytes | None = None  # the notebook's drawn graph (PNG), for q1_graph
    problem: str = ""  # why no answer cell was found, if so

    @property
    def unanswered(self) -> bool:
        return not self.attachments and normalise(self.source) in ("", normalise(TEXT_STUB))

    def group_key(self) -> str:
        """Equal for answers that are the same up to whitespace and LaTeX spacing."""
        if self.unanswered:
            return "unanswered"
        h = hashlib.sha256(normalise(self.source).encode())
        for a in sorted(self.attachments, key=lambda a: a.name):
            h.update(b"\0" + hashlib.sha256(a.data or str(a.size).encode()).digest())
        return h.hexdigest()[:24]


_LATEX_SPACE = re.compile(r"\\[,;:! ]|\\q?quad\b|\\[hv]space\*?\{[^}]*\}|~")
_SPACE_AROUND = re.compile(r"\s*([^\w\s])\s*")


def normalise(text: str) -> str:
    """Drop LaTeX spacing (``\\,``, ``\\quad``, ``~``…), collapse whitespace, and drop the
    whitespace next to punctuation and operators, so "$a = b$" and "$a=b$" compare equal."""
    text = _LATEX_SPACE.sub(" ", text[: 4 * MAX_ANSWER_CHARS])
    text = " ".join(text.split())
    return _SPACE_AROUND.sub(r"\1", text)


# -- finding answers -------------------------------------------------------------------------
def _join(src: object) -> str:
    return "".join(map(str, src)) if isinstance(src, list) else str(src or "")


@cache
def _released_positions() -> dict[str, int]:
    """grade_id → cell index in the released notebook: the fallback when a student's
    tool dropped cell metadata but kept the cell order."""
    nb = json.loads(STUDENT_NB.read_text(encoding="utf-8"))
    return {g: k for k, c in enumerate(nb["cells"]) if (g := grade_id(c))}


def _attachments(cell: dict) -> list[Attachment]:
    raw = cell.get("attachments")
    found: list[Attachment] = []
    if not isinstance(raw, dict):
        return found
    for name, bundle in list(raw.items())[:MAX_ATTACHMENTS]:
        if not isinstance(bundle, dict):
            continue
        mime = next((m for m in IMAGE_MIMES if m in bundle), None)
        if mime is None:
            # Not a raster image (e.g. SVG): never shown; listed so nothing is hidden.
            found.append(Attachment(str(name)[:200], "unsupported", None, 0))
            continue
        b64 = _join(bundle[mime])
        size = len(b64) * 3 // 4
        data = None
        if size <= MAX_ATTACHMENT_BYTES:
            try:
                data = base64.b64decode(b64, validate=False)
            except (binascii.Error, ValueError):
                data = None
        found.append(Attachment(str(name)[:200], mime, data, size))
    return found


def _figure(cells: list) -> bytes | None:
    for cell in cells:
        if isinstance(cell, dict) and grade_id(cell) == GRAPH_CELL:
            for out in cell.get("outputs") or []:
                png = (out.get("data") or {}).get("image/png") if isinstance(out, dict) else None
                if png and len(_join(png)) <= MAX_ATTACHMENT_BYTES:
                    try:
                        return base64.b64decode(_join(png))
                    except (binascii.Error, ValueError):
                        return None
    return None


def read_answers(path: Path, items: list[str], problem: str = "") -> dict[str, Answer]:
    """item id → the student's answer cell; a missing cell or notebook gives a ``problem``.

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
    by_id = {g: c for c in cells if isinstance(c, dict) and (g := grade_id(c))}
    figure = _figure(cells)
    answers = {}
    for item in items:
        cell = by_id.get(item)
        if cell is None:
            k = _released_positions().get(item, -1)
            fallback = cells[k] if 0 <= k < len(cells) else None
            if isinstance(fallback, dict) and fallback.get("cell_type") == "markdown":
                cell = fallback
        if cell is None:
            answers[item] = Answer("", problem="no answer cell for this item in the notebook")
            continue
        ans = Answer(_join(cell.get("source")), _attachments(cell))
        if item == "q1_graph":
            ans.figure = figure
        answers[item] = ans
    return answers


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
