"""The student's notebook and the students' pages (README, docs) never state a written answer.

Each written item of the rubric lists its key formulas (``formulas`` in rubric.toml).
Both the formulas and the text students get are normalised, so that unicode, LaTeX and
code spellings of one formula meet: ``W2ᵀ δ``, ``W_2^\\top \\delta`` and
``W2.T @ delta`` all become ``w2tδ``. No normalised formula may occur in the
normalised student text.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from notebooks import MANUAL, REPO, STUDENT_NB, read

from autograder.rubric import load_rubric

RUBRIC = load_rubric()

# Applied in order, after NFKC (ᵀ → T, ² → 2, ₁ → 1) and lower-casing.
_SPELLINGS = [
    (r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"\1/(\2)"),
    (r"\\(?:hat|widehat)\s*\{?\s*y\s*\}?", "ŷ"),
    (r"\by_?hat\b|\bhat_?y\b", "ŷ"),
    (r"\\top\b|\\intercal\b", "t"),
    (r"\\(?:left|right|big|bigg|cdot|,|;|!|quad)", ""),
    (r"\\sigma\b|\bsigmoid\b|\bsigma\b", "σ"),
    (r"σ_?grad\b|σ_?prime\b", "σ'"),
    (r"\\delta\b|\bdelta\b", "δ"),
    (r"\\eta\b|\beta\b|\blr\b|\blearning_rate\b", "η"),
    (r"\\rho\b|\brho\b", "ρ"),
    (r"\\kappa\b|\bkappa\b", "κ"),
    (r"\\odot\b", "⊙"),
    (r"\\times\b", "×"),
    (r"\\max\b", "max"),
    (r"\\\||\\lvert|\\rvert|\\lVert|\\rVert", "‖"),
    (r"\\partial\b", "∂"),
    (r"\bnp\.", ""),
    (r"(\d)\.0\b", r"\1"),
    (r"[−–]", "-"),
    (r"\.t\b", "t"),
    # Grouping, multiplication and sub/superscript marks carry no meaning here.
    (r"[\s(){}\[\]*@·⋅_^$.\\]", ""),
]


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    for pattern, repl in _SPELLINGS:
        text = re.sub(pattern, repl, text)
    return text


def student_texts() -> dict[str, str]:
    """Where: text, for everything a student is given."""
    texts = {f"notebook cell {c.get('id')}": c.source for c in read(STUDENT_NB).cells}
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## For students", 1)[1].split("\n## ", 1)[0]
    texts["README.md, For students"] = section
    texts["docs/students.md"] = (REPO / "docs" / "students.md").read_text(encoding="utf-8")
    return texts


def giveaways(texts: dict[str, str]) -> list[str]:
    found = []
    normalised = {where: normalise(text) for where, text in texts.items()}
    for item in RUBRIC.manual:
        for formula in item.formulas:
            key = normalise(formula)
            for where, text in normalised.items():
                if key in text:
                    found.append(f"{item.id}: {formula!r} in {where}")
    return found


def test_every_written_item_lists_its_formulas():
    assert {i.id for i in RUBRIC.manual} == set(MANUAL)
    for item in RUBRIC.manual:
        assert item.formulas, item.id
        assert all(len(normalise(f)) >= 3 for f in item.formulas), item.id


@pytest.mark.parametrize(
    "spellings",
    [
        ["W2ᵀ δ", "W_2^\\top \\delta", "W2.T @ delta", "W_2^T\\,\\delta"],
        ["2(ŷ − y)", "2 (\\hat{y} - y)", "2 * (y_hat - y)", "2.0*(yhat-y)"],
        ["σ(z)(1 − σ(z))", "\\sigma(z)\\,(1-\\sigma(z))", "sigmoid(z) * (1 - sigmoid(z))"],
        ["2 / max(a, b)", "\\frac{2}{\\max(a, b)}", "2.0/max(a,b)", "2 / np.max([a, b])"],
        ["1 − η a", "1 - \\eta a", "1 - lr * a", "1-eta*a"],
    ],
)
def test_spellings_of_one_formula_meet(spellings):
    assert len({normalise(s) for s in spellings}) == 1, [normalise(s) for s in spellings]


def test_student_material_states_no_written_answer():
    assert not giveaways(student_texts())


@pytest.mark.parametrize(
    "leak",
    [
        "    With δ = ∂L/∂ŷ = 2(ŷ − y): ∂L/∂W2 = δ uᵀ",  # the old backward docstring
        'print(f"matrix products predict (2khn + hdn) / (hdn + khn) = {r:.2f}")',
        "| `max_stable_lr(a, b)` = 2 / max(a, b) |",  # the old README table
        "    return np.array([a * w[0], b * w[1]])",
        "$$\\rho_1 = 1 - \\eta a$$",
    ],
)
def test_a_leak_is_found(leak):
    texts = student_texts()
    texts["notebook cell sigmoid"] += "\n" + leak
    assert giveaways(texts)
