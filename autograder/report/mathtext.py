"""TeX math in the texts graders write (rubric items, comments), for where they reach students.

Rubric items are written like the model answers: "$\\partial L/\\partial \\hat y = 2(\\hat y - y)$."
Two renderings, neither ever passing anything but math through:

- :func:`md_with_math`, for the graded PDF: text escaped as literal markdown, and each
  ``$…$`` kept as math for pandoc and xelatex only when every control word in it is a
  known math command (no ``\\input``, ``\\def``, ``^^`` tricks, unbalanced braces or ``%``);
  other math is shown as its source text.
- :func:`to_unicode`, for results.json (plain text on Gradescope, which renders no TeX):
  ``∂L/∂ŷ = 2(ŷ − y)``: Greek letters, operators, accents, sub- and superscripts in Unicode.

Dollars follow pandoc's ``tex_math_dollars``: the opening ``$`` is followed by a non-space,
the closing one preceded by a non-space and not followed by a digit ("$20 and $30" is text).
"""

from __future__ import annotations

import re
import unicodedata

from autograder.report.pdf_worker import MATH_CHARS

_MATH = re.compile(
    r"(?<!\\)\$\$(?P<display>[^$]+?)(?<!\\)\$\$"
    r"|(?<![\\$])\$(?=[^\s$])(?P<inline>(?:\\.|[^$\\\n])+?)(?<=\S)(?<!\\)\$(?!\d)"
)

# \command → Unicode: MATH_CHARS read backwards (the PDF worker's map for typed Unicode),
# then what it has no single character for.
SYMBOLS: dict[str, str] = {}
for _char, _cmd in MATH_CHARS.items():
    if re.fullmatch(r"\\[A-Za-z]+", _cmd):
        SYMBOLS.setdefault(_cmd[1:], _char)
SYMBOLS |= {
    "le": "≤", "ge": "≥", "ne": "≠", "gg": "≫", "ll": "≪", "iff": "⟺", "implies": "⟹",
    "top": "ᵀ", "intercal": "ᵀ", "prime": "′", "ast": "∗", "star": "⋆", "colon": ":",
    "vert": "|", "lvert": "|", "rvert": "|", "Vert": "‖", "lVert": "‖", "rVert": "‖",
    "dots": "…", "cdots": "⋯", "ldots": "…", "epsilon": "ε", "varepsilon": "ε",
    "lbrace": "{", "rbrace": "}", "langle": "⟨", "rangle": "⟩", "to": "→", "gets": "←",
    "leftarrow": "←", "rightarrow": "→", "mid": "|", "setminus": "∖", "sqrt": "√",
    "lt": "<", "gt": ">", "ell": "ℓ", "hbar": "ℏ", "partial": "∂", "nabla": "∇",
}  # fmt: skip
NAMED = {
    "max", "min", "log", "ln", "exp", "sin", "cos", "tan", "arg", "argmin", "argmax", "lim",
    "sup", "inf", "det", "dim", "ker", "deg", "sign", "tanh", "Pr",
}  # fmt: skip
ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "overline": "\u0305",
           "tilde": "\u0303", "widetilde": "\u0303", "vec": "\u20d7", "dot": "\u0307"}  # fmt: skip
FONTS = {"mathrm", "mathbf", "mathit", "mathsf", "mathtt", "mathcal", "mathbb", "boldsymbol",
         "text", "textrm", "textit", "textbf", "operatorname"}  # fmt: skip
SIZES = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
         "biggl", "biggr", "middle", "displaystyle", "textstyle", "limits", "nolimits"}  # fmt: skip
SPACES = {"quad": " ", "qquad": "  ", "enspace": " ", "thinspace": ""}
FRACTIONS = {"frac", "dfrac", "tfrac"}
SAFE_WORDS = set(SYMBOLS) | NAMED | set(ACCENTS) | FONTS | SIZES | set(SPACES) | FRACTIONS
SAFE_WORDS |= {"sqrt", "cdot", "times", "sum", "prod", "int", "infty", "not", "in", "notin"}
RELATIONS = set("≤≥≠≫≪⟺⟹→←≈≡∼∝∈∉⊂⊆∪∩×·±∓⊙⊗⊕∘÷|⇒⇔↦∣")
_SUP = dict(zip("0123456789+-=()nitT*", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵗᵀ*", strict=True))
_SUB = dict(zip("0123456789+-=()aeijkmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))
# Characters a math segment may hold besides control sequences: nothing TeX treats
# specially but braces, ^ and _ (checked apart): no %, #, &, ~, $ or control characters.
_PLAIN = re.compile(r"[A-Za-z0-9\s+\-*/=<>()\[\].,;:!?'|^_{}]")


def segments(text: str) -> list[tuple[str, str]]:
    """``text`` as ("text", …) and ("math", tex) pieces, in order."""
    out, at = [], 0
    for m in _MATH.finditer(text):
        if m.start() > at:
            out.append(("text", text[at : m.start()]))
        out.append(("math", m["display"] if m["display"] is not None else m["inline"]))
        at = m.end()
    if at < len(text):
        out.append(("text", text[at:]))
    return out


def safe_math(tex: str) -> bool:
    """Whether ``tex`` is only math: known commands, balanced braces, nothing TeX could run."""
    if "^^" in tex or len(tex) > 500:
        return False
    depth, i = 0, 0
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+|[,;:! |{}\\_])", tex[i:])
            if not m or (m[1].isalpha() and m[1] not in SAFE_WORDS):
                return False
            i += len(m[0])
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                return False
        elif ord(c) < 128 and not _PLAIN.match(c):
            return False
        elif ord(c) >= 128 and unicodedata.category(c).startswith("C"):
            return False
        i += 1
    return depth == 0


def _md_literal(text: str) -> str:
    """Like pdf.md_text, keeping one space at either end (text between math segments)."""
    from autograder.report.pdf import md_text

    core = md_text(text)
    if not core:
        return " " if text and text.isspace() else ""
    return (" " if text[:1].isspace() else "") + core + (" " if text[-1:].isspace() else "")


def md_with_math(text: str) -> str:
    """``text`` as markdown for the PDF: literal text, and its safe math as ``$…$``."""
    parts = []
    for kind, piece in segments(" ".join(str(text).split())):
        if kind == "math" and safe_math(piece):
            parts.append(f"${piece.strip()}$")
        else:
            parts.append(_md_literal(piece if kind == "text" else f"${piece}$"))
    return "".join(parts).strip()


class _Reader:
    """A small reader of TeX math: enough of it for the texts graders write."""

    def __init__(self, tex: str) -> None:
        self.tex, self.i = tex, 0

    def convert(self, stop: str = "") -> str:
        out = []
        while self.i < len(self.tex) and self.tex[self.i] != stop:
            out.append(self.token())
        self.i += 1 if stop else 0  # the closing brace
        return "".join(out)

    def argument(self) -> str:
        while self.i < len(self.tex) and self.tex[self.i] == " ":
            self.i += 1
        return self.token() if self.i < len(self.tex) else ""

    def token(self) -> str:
        c = self.tex[self.i]
        self.i += 1
        if c == "{":
            return self.convert("}")
        if c in "^_":
            arg = self.argument()
            table = _SUP if c == "^" else _SUB
            if arg in ("ᵀ", "T") and c == "^":
                return "ᵀ"
            if arg and all(ch in table for ch in arg):
                return "".join(table[ch] for ch in arg)
            return c + (arg if len(arg) == 1 else f"({arg})")
        if c == "-":
            return "−"
        if c != "\\":
            return c
        m = re.match(r"[A-Za-z]+|.", self.tex[self.i :])
        if not m:
            return ""
        word = m[0]
        self.i += len(word)
        if word.isalpha() and SYMBOLS.get(word, "") not in RELATIONS:
            # TeX ignores the spaces after a control word: ∂L, δuᵀ; around a relation
            # they are kept for the reader (η < 2/a).
            rest = self.tex[self.i :]
            if re.match(r" +[A-Za-z\\]", rest):
                self.i += len(rest) - len(rest.lstrip(" "))
        if word in FRACTIONS:
            num, den = self.argument(), self.argument()
            wrap = [f"({s})" if len(s) > 1 and re.search(r"[\s+−/]", s) else s for s in (num, den)]
            return f"{wrap[0]}/{wrap[1]}"
        if word in ACCENTS:
            arg = self.argument()
            return unicodedata.normalize("NFC", arg[:1] + ACCENTS[word] + arg[1:])
        if word in FONTS:
            return self.argument()
        if word == "sqrt":
            arg = self.argument()
            return "√" + (arg if len(arg) == 1 else f"({arg})")
        if word in SIZES:
            if word in ("left", "right", "middle") and self.tex[self.i : self.i + 1] == ".":
                self.i += 1
            return ""
        if word in SPACES:
            return SPACES[word]
        if word in NAMED:
            return word
        if word in SYMBOLS:
            return SYMBOLS[word]
        if word in ",;: ":
            return " "
        if word == "!":
            return ""
        if word == "|":
            return "‖"
        if word in "{}_$%&#\\":
            return word
        return "\\" + word  # unknown: as typed


def math_to_unicode(tex: str) -> str:
    """One math segment in Unicode: ``\\partial L/\\partial \\hat y`` → ``∂L/∂ŷ``."""
    return " ".join(_Reader(tex).convert().split())


def to_unicode(text: str) -> str:
    """``text`` with every ``$…$`` written in Unicode, for a plain-text reader."""
    return "".join(
        math_to_unicode(piece) if kind == "math" else piece for kind, piece in segments(str(text))
    )
