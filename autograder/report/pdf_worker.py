"""The PDF worker: turns a student's notebook into LaTeX, inside the PDF sandbox.

Everything that parses student data on the way to a PDF runs here, never in the
grading process: the JSON of the notebook, pandoc (markdown), pygments (code),
nbconvert's template, Pillow (images) and rsvg-convert (SVG). The process is
started by ``pdf_sandbox.PdfWorker`` as an unprivileged uid in bubblewrap with
rlimits, so a pathological input costs at most its memory cap and the
per-request deadline the grading process enforces (then it is killed).

It is long-lived: nbconvert is imported and its template compiled once, then
requests arrive on stdin as frames (see ``read_frame``); each reply carries the
.tex and the images it refers to. The worker never runs xelatex: that happens in
the existing xelatex sandbox, which sees only the .tex and the images.

Only the standard library, nbformat, nbconvert and Pillow are imported: this file
is bound into the sandbox with ``autograder/answers.py`` (how answers are found, the one
matching every reader uses) beside it, without the rest of the autograder.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import re
import secrets
import struct
import subprocess
import sys
import time
from pathlib import Path

if __package__:  # imported by the grader (and the tests)
    from autograder import answers
else:  # in the sandbox, where answers.py is bound beside this file
    import answers

# Bounds that keep a PDF readable whatever the notebook holds.
MAX_CELLS = 400
MAX_SOURCE_LINES = 300
MAX_SOURCE_CHARS = 30_000  # per code cell, after wrapping
MAX_TEXT_LINES = 200  # per output
MAX_TEXT_CHARS = 20_000  # per output
MAX_OUTPUT_CHARS = 200_000  # all text outputs of the notebook together
MAX_OUTPUTS = 400  # outputs of the notebook together
WRAP = 72  # a longer line is wrapped: Verbatim cannot break a word, and 72 monospace
# characters (DejaVu Sans Mono at 0.9 × 11 pt) fit the text width inside a frame
MAX_TRACEBACK_LINES = 40
MAX_MARKDOWN_CHARS = 20_000
MAX_IMAGE_BYTES = 16 << 20  # base64 length of one image (a phone photo is 3–8 MB)
MAX_IMAGES = 40
MAX_NOTEBOOK_IMAGE_BYTES = 96 << 20  # base64 of all images of a notebook; later ones listed
MAX_PIXELS = 50_000_000  # decoded size of one image: larger is refused, not decoded
MAX_SIDE = 1600  # images are scaled down to this (a 12-megapixel photo is 4000 px wide)
PANDOC_RTS = ["+RTS", "-M512m", "-RTS"]  # pandoc's own heap cap, below the rlimit
PANDOC_TIMEOUT = 8.0  # all markdown of a notebook in one pandoc run
PANDOC_CELL_TIMEOUT = 2.0  # per cell, when the batch failed
PANDOC_BUDGET = 12.0  # per-cell retries stop here; the rest is shown as source
RSVG_TIMEOUT = 5.0
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_GRADE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NOTE = "hw2_grader"  # metadata key of cells the grader inserts (already escaped)

# Unicode typed inside $…$, mapped to the classic math commands (text mode keeps DejaVu).
MATH_CHARS = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon",
    "ϵ": r"\epsilon", "ζ": r"\zeta", "η": r"\eta", "θ": r"\theta", "ι": r"\iota",
    "κ": r"\kappa", "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu", "ξ": r"\xi", "π": r"\pi",
    "ρ": r"\rho", "σ": r"\sigma", "τ": r"\tau", "υ": r"\upsilon", "φ": r"\varphi",
    "ϕ": r"\phi", "χ": r"\chi", "ψ": r"\psi", "ω": r"\omega", "Γ": r"\Gamma",
    "Δ": r"\Delta", "Θ": r"\Theta", "Λ": r"\Lambda", "Ξ": r"\Xi", "Π": r"\Pi",
    "Σ": r"\Sigma", "Φ": r"\Phi", "Ψ": r"\Psi", "Ω": r"\Omega", "∂": r"\partial",
    "∇": r"\nabla", "∑": r"\sum", "∏": r"\prod", "∫": r"\int", "√": r"\surd",
    "∞": r"\infty", "±": r"\pm", "∓": r"\mp", "×": r"\times", "÷": r"\div",
    "·": r"\cdot", "⋅": r"\cdot", "∘": r"\circ", "⊙": r"\odot", "⊗": r"\otimes",
    "⊕": r"\oplus", "≠": r"\neq", "≤": r"\leq", "≥": r"\geq", "≈": r"\approx",
    "≡": r"\equiv", "∼": r"\sim", "∝": r"\propto", "∈": r"\in", "∉": r"\notin",
    "⊂": r"\subset", "⊆": r"\subseteq", "∪": r"\cup", "∩": r"\cap", "∀": r"\forall",
    "∃": r"\exists", "→": r"\to", "←": r"\leftarrow", "⇒": r"\Rightarrow",
    "⇔": r"\Leftrightarrow", "↦": r"\mapsto", "‖": r"\|", "∣": r"\mid", "′": "{'}",
    "ℝ": r"{\mathbb{R}}", "ℕ": r"{\mathbb{N}}", "ℤ": r"{\mathbb{Z}}", "ŷ": r"{\hat{y}}",
    "²": "{^2}", "³": "{^3}", "¹": "{^1}", "ᵀ": r"{^{\top}}", "∅": r"\emptyset",
    "ℓ": r"\ell", "…": r"\ldots", "⋯": r"\cdots", "−": "{-}", "⟨": r"\langle",
    "⟩": r"\rangle", "⌊": r"\lfloor", "⌋": r"\rfloor", "⌈": r"\lceil", "⌉": r"\rceil",
}  # fmt: skip

FORMAT_EXTRA = "\n".join(
    [
        r'\def\hwmath#1#2{\mathcode`#1="8000 \begingroup\lccode`\~=`#1'
        r"\lowercase{\endgroup\def~}{#2}}",
        *(rf"\hwmath {ch}{{{cmd}}}" for ch, cmd in MATH_CHARS.items()),
        # Markdown images come out of pandoc as \includegraphics: scale them to fit too.
        r"\let\hwincludegraphics\includegraphics",
        r"\renewcommand{\includegraphics}[2][]{\adjustbox{max size={0.9\linewidth}"
        r"{0.6\paperheight}}{\hwincludegraphics{#2}}}",
        r"\newenvironment{hwsource}[1]{\begin{tcolorbox}[breakable, colframe=red!55!black,"
        r" colback=red!3, fonttitle=\small\bfseries, title={#1}]}{\end{tcolorbox}}",
        r"\newcommand{\hwplaceholder}[1]{\fbox{\parbox{0.8\linewidth}{\small #1}}}",
        # hyperref's start view is an /OpenAction: our PDFs carry none (pdf_check refuses it).
        r"\hypersetup{pdfstartview={}}",
        # Every page says who made it, in a footer no student content can reach: the
        # grader's pages first, then, from the first student cell on a new page (the
        # template's \hwstudentwork), "Student work of <student>, page k".
        r"\newcount\hwfirststudentpage",
        r"\makeatletter",
        r"\def\hwfooter#1{\gdef\hwstudent{#1}\pagestyle{hw}}",
        r"\def\ps@hw{\def\@oddhead{}\let\@evenhead\@oddhead"
        r"\def\@oddfoot{\footnotesize\sffamily\ifnum\hwfirststudentpage>0 Student work of "
        r"\hwstudent, page \number\numexpr\value{page}-\hwfirststudentpage+1\relax"
        r"\else Score page, made by the autograder\fi\hfil\thepage}\let\@evenfoot\@oddfoot}",
        r"\let\ps@plain\ps@hw",
        r"\makeatother",
        r"\def\hwstudentwork{\global\let\hwstudentwork\relax\clearpage"
        r"\global\hwfirststudentpage=\value{page}}",
    ]
)


# -- framing ---------------------------------------------------------------------------------
def read_frame(stream) -> tuple[dict, bytes] | None:
    """One frame: 4-byte header length, JSON header, 8-byte blob length, blob."""
    head = stream.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack(">I", head)
    header = json.loads(stream.read(n).decode("utf-8"))
    (m,) = struct.unpack(">Q", stream.read(8))
    return header, stream.read(m)


def write_frame(stream, header: dict, blob: bytes = b"") -> None:
    data = json.dumps(header, ensure_ascii=True).encode()
    stream.write(struct.pack(">I", len(data)) + data + struct.pack(">Q", len(blob)) + blob)
    stream.flush()


# -- text bounds -----------------------------------------------------------------------------
def _join(src) -> str:
    if isinstance(src, list):
        return "".join(s for s in src if isinstance(s, str))
    return src if isinstance(src, str) else ""


def clean(text: str) -> str:
    """ANSI colour codes removed by nbconvert's own filter; other controls made visible."""
    from nbconvert.filters import strip_ansi

    return _CONTROL.sub("\ufffd", strip_ansi(text))


def bound_text(text: str, what: str = "output", max_chars: int = MAX_TEXT_CHARS) -> str:
    """At most MAX_TEXT_LINES lines of at most WRAP characters, with a note if cut."""
    total, nlines = len(text), text.count("\n") + (not text.endswith("\n"))
    text = clean(text[: max_chars * 2])
    wrapped: list[str] = []
    size = 0
    cut = total > max_chars * 2
    for line in text.splitlines():
        for k in range(0, max(len(line), 1), WRAP):
            piece = line[k : k + WRAP]
            if len(wrapped) >= MAX_TEXT_LINES or size + len(piece) > max_chars:
                cut = True
                break
            wrapped.append(piece)
            size += len(piece) + 1
        if cut:
            break
    out = "\n".join(wrapped)
    if cut:
        out += (
            f"\n[... {what} truncated: {nlines:,} lines, {total:,} characters in all; "
            f"the PDF shows the first {len(wrapped)} lines]"
        )
    return out + "\n"


def bound_code(src: str) -> str:
    lines = src[: MAX_SOURCE_CHARS * 2].splitlines()
    out: list[str] = []
    size = 0
    for line in lines[:MAX_SOURCE_LINES]:
        line = _CONTROL.sub("\ufffd", line)
        for k in range(0, max(len(line), 1), WRAP):
            out.append(line[k : k + WRAP])
            size += min(WRAP, len(line) - k) + 1
        if size > MAX_SOURCE_CHARS:
            break
    if len(lines) > len(out) or len(src) > size:
        n_all = src.count("\n") + 1
        out.append(f"# [... cut for the PDF: {n_all:,} lines, {len(src):,} characters in all]")
    return "\n".join(out)


def latex_escape(text: str) -> str:
    from nbconvert.filters import escape_latex

    return escape_latex(text)


def source_box(text: str, title: str) -> str:
    """A cell shown as its source, in a labelled box: nothing in it is interpreted."""
    body = latex_escape(bound_text(text, "cell", MAX_MARKDOWN_CHARS)).rstrip("\n")
    return (
        f"\\begin{{hwsource}}{{{latex_escape(title)}}}\n"
        f"\\begin{{Verbatim}}[commandchars=\\\\\\{{\\}}]\n{body}\n\\end{{Verbatim}}\n"
        "\\end{hwsource}\n"
    )


# -- images ----------------------------------------------------------------------------------
class Images:
    """Every image of one notebook: decoded, checked, scaled by Pillow, re-encoded."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.left = MAX_NOTEBOOK_IMAGE_BYTES

    def add(self, data: bytes, mime: str) -> tuple[str | None, str]:
        """(file name, "") or (None, why it cannot be shown)."""
        if len(self.files) >= MAX_IMAGES:
            return None, f"more than {MAX_IMAGES} images"
        self.left -= len(data)
        if self.left < 0:
            return None, f"the notebook's images pass {MAX_NOTEBOOK_IMAGE_BYTES >> 20} MB"
        try:
            if mime == "image/svg+xml":
                data = svg_to_png(data)
            png, ext = normalise_image(data)
        except Exception as exc:  # corrupt, truncated, unsupported, too large
            return None, f"the image could not be read ({type(exc).__name__})"
        name = f"img{len(self.files)}.{ext}"
        self.files[name] = png
        return name, ""


def normalise_image(data: bytes) -> tuple[bytes, str]:
    """Decode fully (so corruption is found here, not by xelatex), scale, re-encode."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    with Image.open(io.BytesIO(data)) as im:
        if im.format not in ("PNG", "JPEG", "GIF", "WEBP", "BMP"):
            raise ValueError(f"unsupported image format {im.format}")
        if im.width * im.height > MAX_PIXELS:
            raise ValueError("too many pixels")
        if im.format == "JPEG":
            im.draft("RGB", (MAX_SIDE, MAX_SIDE))  # decode a 12-megapixel photo at 1/2–1/8
        im.load()
        im.thumbnail((MAX_SIDE, MAX_SIDE))
        out = io.BytesIO()
        if im.mode in ("RGBA", "LA", "P", "PA") or im.format == "PNG":
            im = im.convert("RGBA" if "A" in im.mode or im.mode == "P" else "RGB")
            if im.mode == "RGBA" and im.getchannel("A").getextrema() == (255, 255):
                # matplotlib's plots: an alpha channel that hides nothing would cost
                # xdvipdfmx a second image (the soft mask) to compress
                im = im.convert("RGB")
            im.save(out, "PNG", compress_level=1)
            return out.getvalue(), "png"
        im.convert("RGB").save(out, "JPEG", quality=85)
        return out.getvalue(), "jpg"


def svg_to_png(data: bytes) -> bytes:
    """SVG → PNG by rsvg-convert (librsvg), with a time cap and a size cap."""
    proc = subprocess.run(
        ["rsvg-convert", "--format=png", "--keep-aspect-ratio", f"--width={MAX_SIDE // 2}"],
        input=data,
        capture_output=True,
        timeout=RSVG_TIMEOUT,
    )
    if proc.returncode != 0 or not proc.stdout.startswith(b"\x89PNG"):
        raise ValueError("rsvg-convert failed")
    return proc.stdout


def decode_b64(text) -> bytes:
    text = _join(text)
    if len(text) > MAX_IMAGE_BYTES:
        raise ValueError("image too large")
    return base64.b64decode("".join(text.split()), validate=True)


# -- markdown: one pandoc run for the whole notebook -------------------------------------------
def pandoc(args: list[str], text: str, timeout: float) -> str:
    proc = subprocess.run(
        ["pandoc", *PANDOC_RTS, *args],
        input=text.encode("utf-8", "replace"),
        capture_output=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode("utf-8", "replace")[-300:])
    return proc.stdout.decode("utf-8", "replace")


_DATA_URI = re.compile(r"^data:(image/(?:png|jpeg|gif|svg\+xml));base64,(.*)$", re.S)
_IMG_TAG = re.compile(r"""<img\s[^>]*?src\s*=\s*["']([^"']*)["']""", re.I)


def _placeholder(text: str) -> dict:
    """A visible box in the PDF instead of an image (pandoc escapes the text)."""
    return {"t": "Strong", "c": [{"t": "Str", "c": f"[{text}]"}]}


def _image_target(target: str, attachments: dict, images: Images) -> dict | None:
    """The Image node's new form: a local file name, or a placeholder node."""
    m = _DATA_URI.match(target)
    try:
        if target.startswith("attachment:"):
            bundle = attachments.get(target[len("attachment:") :])
            if not isinstance(bundle, dict):
                return _placeholder("image not shown: the attachment is missing")
            mime = next((m for m in ("image/png", "image/jpeg", "image/gif",
                                     "image/svg+xml") if m in bundle), None)  # fmt: skip
            if mime is None:
                return _placeholder("image not shown: not a PNG, JPEG, GIF or SVG attachment")
            data = decode_b64(bundle[mime])
        elif m:
            mime, data = m.group(1), decode_b64(m.group(2))
        else:  # a path, file://, http(s)://: never read, never fetched
            shown = target if len(target) <= 80 else target[:77] + "..."
            return _placeholder(f"image not shown: it points outside the notebook ({shown})")
    except (ValueError, binascii.Error) as exc:
        return _placeholder(f"image not shown: the image could not be read ({exc})")
    name, why = images.add(data, mime)
    return name if name else _placeholder(f"image not shown: {why}")


def fix_images(node, attachments: dict, images: Images) -> None:
    """Walk pandoc's JSON (iteratively: nesting is student-controlled) and fix each image."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, list):
            for k, item in enumerate(cur):
                if isinstance(item, dict) and item.get("t") == "Image":
                    cur[k] = _fixed_image(item, attachments, images)
                elif isinstance(item, dict) and item.get("t") == "RawInline":
                    fmt, raw = item.get("c", ["", ""])
                    m = _IMG_TAG.search(raw) if fmt == "html" else None
                    if m:
                        cur[k] = _fixed_image(
                            {"t": "Image", "c": [["", [], []], [], [m.group(1), ""]]},
                            attachments,
                            images,
                        )
                else:
                    stack.append(item)
        elif isinstance(cur, dict):
            stack.extend(v for v in cur.values() if isinstance(v, (list, dict)))


def _fixed_image(item: dict, attachments: dict, images: Images) -> dict:
    _attr, alt, (target, _title) = item["c"]
    new = _image_target(str(target), attachments, images)
    if isinstance(new, dict):
        return new
    return {"t": "Image", "c": [["", [], []], alt, [new, ""]]}  # student sizes dropped


# -- student LaTeX: only math and text commands reach xelatex ---------------------------------
# Math ($…$, $$…$$, \begin{align}) and raw LaTeX (```{=latex}, a bare \command) are passed to
# xelatex as written, so each must use only these: no \special (PDF actions), no hooks
# (\AddToHook stamps or discards pages), no definitions, no files, no catcode or ^^ tricks.
SAFE_COMMANDS = frozenset("""
alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu
xi pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta
Lambda Xi Pi Sigma Upsilon Phi Psi Omega
sum prod coprod int iint iiint oint lim limsup liminf sup inf max min argmax argmin log ln
exp sin cos tan sec csc cot sinh cosh tanh arcsin arccos arctan det dim ker deg gcd Pr tr
frac dfrac tfrac sqrt binom dbinom tbinom choose partial nabla infty cdot cdots ldots dots
vdots ddots times div pm mp ast star circ bullet odot otimes oplus ominus wedge vee cap cup
setminus backslash leq le geq ge neq ne approx equiv sim simeq cong propto ll gg prec succ
preceq succeq subset subseteq supset supseteq in notin ni forall exists nexists neg lnot
land lor to rightarrow leftarrow Rightarrow Leftarrow leftrightarrow Leftrightarrow iff
implies impliedby mapsto longrightarrow longleftarrow Longrightarrow longmapsto uparrow
downarrow hookrightarrow xrightarrow xleftarrow emptyset varnothing ell hbar Re Im aleph
angle perp parallel mid nmid top bot intercal prime triangle square
left right middle big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr
langle rangle lfloor rfloor lceil rceil lvert rvert lVert rVert vert Vert
hat widehat tilde widetilde bar overline underline vec dot ddot acute grave breve check
overrightarrow overleftarrow underbrace overbrace overset underset stackrel not
mathbf mathrm mathit mathcal mathbb mathsf mathtt mathfrak boldsymbol bm operatorname
text textbf textit textrm textsf texttt textup emph mbox
displaystyle textstyle scriptstyle scriptscriptstyle limits nolimits
quad qquad enspace thinspace negthinspace colon tag nonumber notag
hline cline vline arraystretch
""".split())  # fmt: skip
SAFE_ENVIRONMENTS = frozenset("""
equation equation* align align* aligned alignat alignat* alignedat gather gather* gathered
multline multline* split cases dcases matrix pmatrix bmatrix Bmatrix vmatrix Vmatrix
smallmatrix array subarray eqnarray eqnarray*
""".split())  # fmt: skip
_TEX_TOKEN = re.compile(r"\\(?:[A-Za-z]+|.|$)|[%#]", re.S)
NOT_TYPESET = "LaTeX not typeset: a command the PDF does not allow"
_ENV_NAME = re.compile(r"\s*\{([A-Za-z]+\*?)\}")
_SAFE_LINK = re.compile(r"^(?:https?://|mailto:|#)", re.I)


def safe_tex(tex: str) -> bool:
    r"""Whether ``tex`` (math or raw LaTeX a student wrote) uses only :data:`SAFE_COMMANDS`,
    control symbols (``\,`` ``\{`` ``\\``) and :data:`SAFE_ENVIRONMENTS`. No comment
    (``%`` would hide the delimiter pandoc closes it with), no ``#``, no ``^^`` (TeX reads
    ``\sp^^65cial`` as ``\special``, and ``\^^73pecial`` too)."""
    if "^^" in tex:
        return False
    for m in _TEX_TOKEN.finditer(tex):
        tok = m.group(0)
        if tok in ("%", "#", "\\"):
            return False
        elif tok in ("\\begin", "\\end"):
            env = _ENV_NAME.match(tex, m.end())
            if env is None or env.group(1) not in SAFE_ENVIRONMENTS:
                return False
        elif tok[1:].isalpha() and tok[1:] not in SAFE_COMMANDS:
            return False
    return True


def _shown_as_code(text: str, block: bool) -> dict:
    """Refused LaTeX as its text (pandoc escapes it), saying why."""
    why = {"t": "Emph", "c": [{"t": "Str", "c": f"[{NOT_TYPESET}]"}]}
    attr = ["", [], []]
    if block:
        body = [{"t": "Para", "c": [why]}, {"t": "CodeBlock", "c": [attr, text]}]
        return {"t": "Div", "c": [attr, body]}
    return {"t": "Span", "c": [attr, [{"t": "Code", "c": [attr, text]}, {"t": "Space"}, why]]}


def inert_tex(node) -> None:
    """Walk pandoc's JSON (iteratively) so that no student LaTeX reaches xelatex unchecked:
    math and raw LaTeX that :func:`safe_tex` refuses are shown as code (their text, escaped),
    and a link to anything but a web page, a mail address or an anchor becomes its text
    (hyperref would make a file link a /Launch or /GoToR action)."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, list):
            for k, item in enumerate(cur):
                if not isinstance(item, dict):
                    stack.append(item)
                    continue
                kind, c = item.get("t"), item.get("c")
                if kind == "Math" and isinstance(c, list) and len(c) == 2:
                    if not safe_tex(str(c[1])):
                        display = isinstance(c[0], dict) and c[0].get("t") == "DisplayMath"
                        fence = "$$" if display else "$"
                        cur[k] = _shown_as_code(f"{fence}{c[1]}{fence}", block=False)
                elif kind in ("RawInline", "RawBlock") and isinstance(c, list) and len(c) == 2:
                    fmt, text = str(c[0]).lower(), str(c[1])
                    if fmt not in ("html", "html4", "html5") and not safe_tex(text):
                        cur[k] = _shown_as_code(text, block=kind == "RawBlock")
                elif kind == "Link" and isinstance(c, list) and len(c) == 3:
                    target = c[2][0] if isinstance(c[2], list) and c[2] else ""
                    if not _SAFE_LINK.match(str(target)):
                        cur[k] = {"t": "Span", "c": [["", [], []], c[1]]}
                    stack.append(cur[k])
                else:
                    stack.append(item)
        elif isinstance(cur, dict):
            stack.extend(v for v in cur.values() if isinstance(v, (list, dict)))


_CONVERTED: dict[str, str] = {}  # markdown without images → LaTeX (question text repeats)
_HAS_IMAGE = re.compile(r"!\[|<img", re.I)
_MD = "markdown+tex_math_double_backslash"


def markdown_to_latex(sources: list[tuple[str, dict]], images: Images) -> list[str | None]:
    """Each (markdown, attachments) as LaTeX, or None where pandoc failed or timed out.

    One pandoc run for all cells not seen before (a run per cell costs 50 ms each):
    cells are joined with separator paragraphs carrying a fresh random token, and the
    split must give back exactly as many pieces, in order; otherwise (a fence or a
    div left open swallows a separator) each cell is converted on its own. Cells
    with images go through pandoc's JSON, where each image is checked (fix_images).
    """
    out: list[str | None] = [_CONVERTED.get(src) for src, _ in sources]
    todo = [k for k, latex in enumerate(out) if latex is None]
    plain = [k for k in todo if not _HAS_IMAGE.search(sources[k][0])]
    rich = [k for k in todo if _HAS_IMAGE.search(sources[k][0])]
    for group, via_json in ((plain, False), (rich, True)):
        if not group:
            continue
        pieces = _batch([sources[k] for k in group], images, via_json)
        for k, latex in zip(group, pieces, strict=True):
            out[k] = latex
            if latex is not None and not via_json and len(_CONVERTED) < CACHE_ENTRIES:
                _CONVERTED[sources[k][0]] = latex
    return out


def _batch(sources: list[tuple[str, dict]], images: Images, via_json: bool) -> list[str | None]:
    token = "HWSEP" + secrets.token_hex(8)
    joined = "".join(f"{src}\n\n{token}x{k}\n\n" for k, (src, _) in enumerate(sources))
    try:
        # Always through pandoc's JSON: every cell's math and raw LaTeX is checked there.
        ast = json.loads(pandoc(["-f", _MD, "-t", "json"], joined, PANDOC_TIMEOUT))
        blocks, pieces, current = ast.get("blocks", []), [], []
        for block in blocks:
            if block == {"t": "Para", "c": [{"t": "Str", "c": f"{token}x{len(pieces)}"}]}:
                pieces.append(current)
                current = []
            else:
                current.append(block)
        if len(pieces) != len(sources) or current:
            raise ValueError("cells did not split back")
        marked = []
        for k, (blocks_k, (_, attachments)) in enumerate(zip(pieces, sources, strict=True)):
            if via_json:
                fix_images(blocks_k, attachments, images)
            inert_tex(blocks_k)
            marked += [*blocks_k, {"t": "Para", "c": [{"t": "Str", "c": f"{token}x{k}"}]}]
        ast["blocks"] = marked
        latex = pandoc(["-f", "json", "-t", "latex"], json.dumps(ast), PANDOC_TIMEOUT)
        parts = re.split(rf"^{token}x(\d+)$", latex, flags=re.M)
        # parts: text0, "0", text1, "1", …, textN-1, "N-1", tail
        if (
            len(parts) == 2 * len(sources) + 1
            and parts[1::2] == [str(k) for k in range(len(sources))]
            and not parts[-1].strip()
        ):
            return [p.strip("\n") for p in parts[0:-1:2]]
    except (subprocess.TimeoutExpired, RuntimeError, ValueError, KeyError, TypeError):
        pass
    return [_one_cell(src, att, images) for src, att in sources]


_budget_left = [PANDOC_BUDGET]


def _one_cell(src: str, attachments: dict, images: Images) -> str | None:
    if _budget_left[0] <= 0:
        return None
    t0 = time.monotonic()
    try:
        timeout = min(PANDOC_CELL_TIMEOUT, _budget_left[0])
        ast = json.loads(pandoc(["-f", _MD, "-t", "json"], src, timeout))
        fix_images(ast.get("blocks", []), attachments, images)
        inert_tex(ast.get("blocks", []))
        return pandoc(["-f", "json", "-t", "latex"], json.dumps(ast), timeout)
    except (subprocess.TimeoutExpired, RuntimeError, ValueError, KeyError, TypeError):
        return None
    finally:
        _budget_left[0] -= time.monotonic() - t0


# -- the notebook ----------------------------------------------------------------------------
def parse_notebook(raw: bytes) -> tuple[list[dict], int]:
    """(cells, how many there were): each a small dict of our own, bounded."""
    nb = json.loads(raw.decode("utf-8"))
    if isinstance(nb, dict) and "cells" not in nb and isinstance(nb.get("worksheets"), list):
        import nbformat  # an nbformat 3 notebook: upgraded as the grader does

        nb = nbformat.convert(nbformat.from_dict(nb), 4)
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError("the notebook has no list of cells")
    all_cells = [c for c in nb["cells"] if isinstance(c, dict) and "cell_type" in c]
    cells = []
    for n, c in enumerate(all_cells[:MAX_CELLS]):
        kind = c.get("cell_type")
        meta = c.get("metadata") if isinstance(c.get("metadata"), dict) else {}
        grade = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else {}
        gid = grade.get("grade_id")
        cell = {
            "n": n,
            "kind": kind if kind in ("markdown", "code", "raw") else "raw",
            "source": _join(c.get("source")),
            "grade_id": gid if isinstance(gid, str) and _GRADE_ID.match(gid) else "",
            "attachments": c.get("attachments") if isinstance(c.get("attachments"), dict) else {},
            "outputs": [o for o in c.get("outputs") or [] if isinstance(o, dict)]
            if kind == "code" and isinstance(c.get("outputs"), list)
            else [],
        }
        cells.append(cell)
    return cells, len(all_cells)


def bound_outputs(cell: dict, images: Images, budget: list[int], plain: int) -> list[dict]:
    """The cell's outputs, bounded, cleaned, with images checked; ``plain`` 1 drops rich
    text (LaTeX, markdown) and 2 drops everything."""
    out: list[dict] = []
    if plain >= 2:
        return out
    for o in cell["outputs"]:
        kind = o.get("output_type")
        if budget[0] <= 0 or budget[1] <= 0:
            out.append({"output_type": "stream", "name": "stdout",
                        "text": "[... further outputs omitted from the PDF]\n"})  # fmt: skip
            break
        budget[1] -= 1
        if kind == "stream":
            text = bound_text(_join(o.get("text")), max_chars=min(MAX_TEXT_CHARS, budget[0]))
            budget[0] -= len(text)
            name = o.get("name") if o.get("name") in ("stdout", "stderr") else "stdout"
            out.append({"output_type": "stream", "name": name, "text": text})
        elif kind == "error":
            tb = [_join(x) if isinstance(x, (str, list)) else "" for x in o.get("traceback") or []]
            text = bound_text("\n".join(tb[-MAX_TRACEBACK_LINES:]), "traceback")
            budget[0] -= len(text)
            out.append({"output_type": "error", "ename": clean(str(o.get("ename", "")))[:200],
                        "evalue": clean(str(o.get("evalue", "")))[:2000],
                        "traceback": [text]})  # fmt: skip
        elif kind in ("display_data", "execute_result"):
            data = o.get("data") if isinstance(o.get("data"), dict) else {}
            new: dict = {}
            for mime in ("image/png", "image/jpeg", "image/svg+xml", "image/gif"):
                if mime in data:
                    try:
                        raw = decode_b64(data[mime]) if mime != "image/svg+xml" else (
                            _join(data[mime]).encode()[:MAX_IMAGE_BYTES])  # fmt: skip
                        name, why = images.add(raw, mime)
                    except (ValueError, binascii.Error) as exc:
                        name, why = None, f"the image could not be read ({exc})"
                    if name:
                        new["hw2_image"] = name
                    else:
                        new["text/plain"] = f"[image not shown: {why}]"
                    break
            latex = clean(_join(data.get("text/latex", "")))[:MAX_TEXT_CHARS]
            if not plain and latex and safe_tex(latex):  # else its text/plain is shown
                new["text/latex"] = latex
            if not plain and "text/markdown" in data and "text/latex" not in new:
                new["hw2_markdown"] = _join(data["text/markdown"])[:MAX_MARKDOWN_CHARS]
            if "text/plain" in data and "text/plain" not in new:
                cap = min(MAX_TEXT_CHARS, budget[0])
                new["text/plain"] = bound_text(_join(data["text/plain"]), max_chars=cap)
                budget[0] -= len(new["text/plain"])
            if new:
                out.append({"output_type": kind, "data": new})
    return out


def _defines(cell: dict, fn: str) -> bool:
    return cell["kind"] == "code" and bool(
        re.search(rf"^\s*def\s+{re.escape(fn)}\s*\(", cell["source"], re.M)
    )


def build(req: dict, raw: bytes) -> dict:
    """The notebook as nbconvert input plus what we did to it; see ``render``."""
    images = Images()
    cells, total = parse_notebook(raw) if raw else ([], 0)
    verbatim = {int(k): str(v) for k, v in req.get("verbatim", {}).items()}
    plain = {int(k): int(v) for k, v in req.get("plain", {}).items()}
    level = int(req.get("level", 0))
    notes: dict[int, str] = {}
    budget = [MAX_OUTPUT_CHARS, MAX_OUTPUTS]
    labels = req.get("labels") if isinstance(req.get("labels"), dict) else {}
    missing = label_answers(cells, req.get("answers"), labels)
    for cell in cells:
        n = cell["n"]
        if cell["kind"] == "code":
            cell["source"] = bound_code(cell["source"])
            cell["outputs"] = bound_outputs(cell, images, budget, max(plain.get(n, 0), level))
        else:
            src = cell["source"]
            if cell["kind"] == "markdown":  # pasted images are images, not text to cut
                attachments = dict(cell["attachments"])
                src, pasted = answers.pasted_images(src, set(attachments))
                attachments.update({name: {mime: b64} for name, mime, b64 in pasted})
                cell["attachments"] = attachments
            if len(src) > MAX_MARKDOWN_CHARS:
                src = src[:MAX_MARKDOWN_CHARS]
                notes.setdefault(n, f"cut to its first {MAX_MARKDOWN_CHARS:,} characters")
            cell["source"] = src
            if cell["kind"] == "raw":
                verbatim.setdefault(n, "a raw cell")
            elif level >= 1:
                verbatim.setdefault(n, "the notebook did not typeset")
    if total > len(cells):
        cells.append({"n": -1, "kind": "note", "source": f"**\\[{total - len(cells)} more "
                      "cells omitted from the PDF\\]**"})  # fmt: skip
    # the grader's cells: the score page first, each function's feedback after its cell
    unplaced = []
    for fn, md in reversed(list(req.get("feedback", {}).items())):
        at = next((k for k, c in enumerate(cells) if _defines(c, fn)), None)
        if at is None:
            unplaced.insert(0, md)
        else:
            cells.insert(at + 1, {"n": -1, "kind": "note", "source": md})
    head = [{"n": -1, "kind": "note", "source": md} for md in req.get("head", [])]
    if unplaced:
        head.append({"n": -1, "kind": "note", "source": "## Feedback for functions not found "
                     "in the notebook\n\n" + "\n\n".join(unplaced)})  # fmt: skip
    cells[:0] = head
    # markdown (cells and text/markdown outputs) → LaTeX in one pandoc run
    todo: list[tuple[str, dict]] = []
    where: list[tuple[dict, object]] = []
    for cell in cells:
        if "latex" in cell:
            continue
        if cell["kind"] == "note" or (cell["kind"] == "markdown" and cell["n"] not in verbatim):
            todo.append((cell["source"], cell.get("attachments", {})))
            where.append((cell, None))
        for o in cell.get("outputs", []):
            if "hw2_markdown" in o.get("data", {}):
                todo.append((o["data"].pop("hw2_markdown"), {}))
                where.append((cell, o))
    _budget_left[0] = PANDOC_BUDGET
    for (cell, o), latex in zip(where, markdown_to_latex(todo, images), strict=True):
        if o is not None:
            if latex is not None:
                o["data"]["text/latex"] = latex
        elif latex is None:
            verbatim[cell["n"]] = "pandoc could not convert it in time"
        else:
            cell["latex"] = latex
            if cell["n"] >= 0 and NOT_TYPESET in " ".join(latex.split()):
                notes.setdefault(cell["n"], "LaTeX commands the PDF does not allow shown as source")
    for cell in cells:
        if cell["kind"] in ("markdown", "raw") and cell["n"] in verbatim:
            why = verbatim[cell["n"]]
            cell["latex"] = source_box(cell["source"], f"Shown as source: {why}")
            if not why.startswith(("a raw", "the notebook")):
                notes[cell["n"]] = f"shown as source ({why})"
    degraded = degraded_cells(cells, notes, plain)
    if missing:  # page 1 says which answers could not be placed, and why
        items = "".join(f"\\item {latex_escape(f'{label}: {why}')}\n" for _, label, why in missing)
        box = ("\\begin{hwsource}{Answers not found}\n"
               f"\\begin{{itemize}}\n{items}\\end{{itemize}}\n\\end{{hwsource}}\n")  # fmt: skip
        cells.insert(0, {"n": -1, "kind": "note", "source": "", "latex": box})
    if degraded:  # page 1 says which cells are not shown as the student wrote them
        items = "".join(f"\\item {latex_escape(f'{label}: {why}')}\n" for _, label, why in degraded)
        box = ("\\begin{hwsource}{Not typeset as written}\n"
               f"\\begin{{itemize}}\n{items}\\end{{itemize}}\n\\end{{hwsource}}\n")  # fmt: skip
        cells.insert(0, {"n": -1, "kind": "note", "source": "", "latex": box})
    return {"cells": cells, "images": images, "degraded": degraded}


def label_answers(cells: list[dict], tpl: object, labels: dict) -> list[list]:
    """Each cell of a written answer's region gets its item's label ("answer to Q1(c)"),
    found as every reader finds it (``answers.find_answers``); [-1, label, why] for each
    answer that could not be found."""
    if not isinstance(tpl, dict) or not labels:
        return []
    triples = [(c["kind"], c["source"], c["grade_id"]) for c in cells]
    missing = []
    for item, region in answers.find_answers(tpl, triples, list(labels)).items():
        label = str(labels[item])
        if region.problem:
            missing.append([-1, label, region.problem])
        for k, s in enumerate(region.cells):
            cells[s]["label"] = label if k == 0 else f"{label}, cell {k + 1}"
    return missing


def degraded_cells(cells: list[dict], notes: dict[int, str], plain: dict[int, int]) -> list[list]:
    """[cell number, label, what happened] for every student cell not shown as written."""
    out = []
    for cell in cells:
        n = cell["n"]
        if n < 0:
            continue
        label = cell.get("label")  # set by label_answers: the one matching of answers
        # Named as submissions.cell_place names cells: the number over all cells, and the item.
        place = f"cell {n + 1}" + (f" ({label})" if label else "")
        if cell["kind"] == "code" and plain.get(n):
            what = "outputs shown as plain text" if plain[n] == 1 else "outputs left out"
            out.append([n, f"outputs of {place}", f"{what} (LaTeX error)"])
        elif n in notes:
            out.append([n, place, notes[n]])
    return out


# -- nbconvert -------------------------------------------------------------------------------
_EXPORTER = None


def exporter():
    """nbconvert's LaTeX exporter with our template, built once per worker."""
    global _EXPORTER
    if _EXPORTER is None:
        from nbconvert import LatexExporter
        from traitlets.config import Config

        c = Config()
        # outputs and attachments are already checked files; SVG was converted by rsvg
        c.ExtractOutputPreprocessor.enabled = False
        c.ExtractAttachmentsPreprocessor.enabled = False
        c.SVG2PDFPreprocessor.enabled = False
        c.HighlightMagicsPreprocessor.enabled = False
        here = Path(__file__).resolve().parent
        _EXPORTER = LatexExporter(
            config=c, template_name="graded", extra_template_basedirs=[str(here / "latex")]
        )
        # LatexExporter registers its own highlighter unless this trait names one
        _EXPORTER.filters = {**_EXPORTER.filters, "highlight_code": highlight_code}
    return _EXPORTER


_PYGMENTS: list = []
_HIGHLIGHTED: dict[str, str] = {}  # most code cells are the template's, the same for all
CACHE_ENTRIES = 4000


_TOKEN = re.compile(r"\\PY\{([a-z0-9+]+)\}\{((?:[^{}]|\{\})*)\}")


def _unwrap_unstyled(latex: str, formatter) -> str:
    r"""Drop the \PY wrapper of tokens the style leaves plain (names, punctuation: about
    60% of them): LaTeX expands each wrapper at a cost of 0.1 s per notebook."""
    styled = set(formatter.ttype2name.values())

    def plain(m: re.Match) -> str:
        return m.group(0) if any(p in styled for p in m.group(1).split("+")) else m.group(2)

    return _TOKEN.sub(plain, latex)


def highlight_code(source: str, language=None, metadata=None, strip_verbatim=False) -> str:
    """nbconvert's Highlight2Latex with the lexer and formatter made once, not per cell
    (its lookup scans the installed packages' entry points on every call), and a cache:
    most code cells are the template's, the same in every submission."""
    latex = _HIGHLIGHTED.get(source)
    if latex is None:
        from pygments import highlight

        if not _PYGMENTS:
            from pygments.formatters import LatexFormatter
            from pygments.lexers import PythonLexer

            _PYGMENTS.extend([PythonLexer(), LatexFormatter()])
        latex = _unwrap_unstyled(highlight(source, *_PYGMENTS), _PYGMENTS[1])
        if len(_HIGHLIGHTED) < CACHE_ENTRIES:
            _HIGHLIGHTED[source] = latex
    if strip_verbatim:
        latex = latex.replace(r"\begin{Verbatim}[commandchars=\\\{\}]" + "\n", "")
        return latex.replace("\n\\end{Verbatim}\n", "")
    return latex


def to_notebook(cells: list[dict]):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"language_info": {"name": "python"}}
    for cell in cells:
        meta = {"hw2_n": cell["n"]}
        if cell["kind"] == "code":
            outputs = []
            for o in cell["outputs"]:
                if o["output_type"] in ("display_data", "execute_result"):
                    data = dict(o["data"])
                    image = data.pop("hw2_image", None)
                    if image:  # already a checked file: nbconvert only places it
                        data = {"image/png" if image.endswith(".png") else "image/jpeg": ""}
                        o = {**o, "metadata": {"filenames": {next(iter(data)): image}}}
                    o = {**o, "data": data, "metadata": o.get("metadata", {})}
                    if o["output_type"] == "execute_result":
                        o["execution_count"] = None
                outputs.append(nbformat.from_dict(o))
            nb.cells.append(nbformat.v4.new_code_cell(cell["source"], metadata=meta,
                                                      outputs=outputs))  # fmt: skip
        else:
            meta["hw2_latex"] = cell.get("latex", "")
            nb.cells.append(nbformat.v4.new_markdown_cell("", metadata=meta))
    return nb


def render(req: dict, raw: bytes) -> tuple[dict, bytes]:
    built = build(req, raw)
    nonce = secrets.token_hex(6)
    resources = {
        "metadata": {"name": "notebook"},
        "hw2_title": str(req.get("title", "")),
        "hw2_student": str(req.get("student", "")),
        # Pages of ours come first (the score page): the student's work starts on a new one.
        "hw2_head": bool(built["cells"]) and built["cells"][0]["n"] < 0,
        "hw2_nonce": nonce,
        "hw2_part": "document",
    }
    tex, _res = exporter().from_notebook_node(to_notebook(built["cells"]), resources=resources)
    files = built["images"].files
    blob = b"".join(files.values())
    kinds = {c["n"]: c["kind"] for c in built["cells"] if c["n"] >= 0}
    gids = {c["n"]: c.get("grade_id", "") for c in built["cells"] if c["n"] >= 0}
    header = {
        "ok": True,
        "tex": tex,
        "nonce": nonce,
        "cells": [[n, kinds[n], gids[n]] for n in sorted(kinds)],
        "images": [[name, len(data)] for name, data in files.items()],
        "degraded": built["degraded"],
    }
    return header, blob


def token_macros() -> str:
    r"""A \PY that costs one \csname and a named colour: a macro per Pygments token type.

    Pygments' own \PY{k+kn}{import} splits the type on "+", applies each part's settings
    and parses an inline rgb colour, token by token: xcolor's parsing is most of the cost
    of a code cell. Here each token type's style is resolved once (Pygments resolves the
    parents), its colour defined once by name, all in the format: 0.15–0.2 s less per
    notebook. A type without a macro prints its text plain; "err" loses its red frame.
    """
    from pygments.formatters import LatexFormatter
    from pygments.formatters.latex import _get_ttype_name
    from pygments.token import STANDARD_TYPES, Token

    formatter = LatexFormatter()
    colours: dict[str, str] = {}
    macros = [r"\def\PY#1#2{\csname PYc@#1\endcsname{#2}}"]
    for ttype in STANDARD_TYPES:
        names, t = [], ttype
        while t is not Token:  # the type as LatexFormatter spells it: "l+s+s2"
            names.append(formatter.ttype2name.get(t) or _get_ttype_name(t))
            t = t.parent
        style = formatter.style.style_for_token(ttype)
        body = "#1"
        for flag, command in (("bold", "textbf"), ("italic", "textit"), ("underline", "underline")):
            if style[flag]:
                body = rf"\{command}{{{body}}}"
        if hexa := style["color"]:
            colours.setdefault(hexa, f"hwpy{len(colours)}")
            body = rf"\textcolor{{{colours[hexa]}}}{{{body}}}"
        if names and body != "#1":
            name = "+".join(reversed(names))
            macros.append(rf"\expandafter\def\csname PYc@{name}\endcsname#1{{{body}}}")
    defined = [
        rf"\definecolor{{{name}}}{{HTML}}{{{hexa.upper()}}}" for hexa, name in colours.items()
    ]
    return "\n".join([*defined, *macros])


def preamble() -> str:
    import nbformat

    resources = {"metadata": {"name": "notebook"}, "hw2_part": "format", "hw2_nonce": "x",
                 "hw2_format_extra": FORMAT_EXTRA + "\n" + token_macros()}  # fmt: skip
    tex, _ = exporter().from_notebook_node(nbformat.v4.new_notebook(), resources=resources)
    return tex


def main() -> int:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the frames
    exporter()
    write_frame(stdout, {"ready": True, "pid": os.getpid()})
    while True:
        frame = read_frame(stdin)
        if frame is None:
            return 0
        req, raw = frame
        try:
            if req.get("op") == "preamble":
                write_frame(stdout, {"ok": True, "tex": preamble()})
            else:
                header, blob = render(req, raw)
                write_frame(stdout, header, blob)
        except MemoryError:
            write_frame(stdout, {"ok": False, "reason": "the notebook needs more memory than "
                                 "the PDF step allows"})  # fmt: skip
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            write_frame(stdout, {"ok": False, "reason": "the file is not a valid Jupyter "
                                 f"notebook ({type(exc).__name__})"})  # fmt: skip
        except Exception as exc:
            write_frame(stdout, {"ok": False, "reason": f"{type(exc).__name__}: {exc}"[:300]})


if __name__ == "__main__":
    sys.exit(main())
