"""A graded OUT folder made up for `review`: notebooks with written answers and cached results.

Used by tests/test_review*.py (a handful of students with chosen answers) and by
`hw2 bench review` (a class of 500 × 8 written items). The notebooks are the
released assignment/hw2.ipynb with the written cells filled in; OUT/.state holds
what `grade` caches (key + result), so `review` reads it exactly as after a real run.
"""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

from autograder import STUDENT_NB
from autograder.cells import grade_id
from autograder.grade.outcome import SubmissionResult, TestOutcome
from autograder.rubric import load_rubric

RUBRIC = load_rubric()
MANUAL = [i.id for i in RUBRIC.manual]
# 1×1 PNG: a pasted photo of a handwritten derivation, in miniature.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

Answer = str | tuple[str, dict[str, dict[str, str]]]  # text, or (text, attachments)


def notebook(answers: dict[str, Answer]) -> dict[str, Any]:
    """The released notebook with the written cells of ``answers`` filled in."""
    nb = json.loads(STUDENT_NB.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        gid = grade_id(cell)
        if gid in answers:
            ans = answers[gid]
            text, atts = (ans, None) if isinstance(ans, str) else ans
            cell["source"] = text
            if atts:
                cell["attachments"] = atts
    return nb


def png_attachment(data: bytes = PNG) -> dict[str, str]:
    return {"image/png": base64.b64encode(data).decode()}


def make_out(
    out: Path,
    answers: dict[str, dict[str, Answer]],
    auto_passed: dict[str, float] | None = None,
) -> Path:
    """Write OUT/submissions/<student>.ipynb and OUT/.state/<student>.json for each student.

    ``auto_passed[student]`` is the share of hidden tests passed (default 1)."""
    (out / "submissions").mkdir(parents=True, exist_ok=True)
    (out / ".state").mkdir(parents=True, exist_ok=True)
    for student, their in answers.items():
        path = (out / "submissions" / f"{student}.ipynb").resolve()
        path.write_text(json.dumps(notebook(their)), encoding="utf-8")
        share = (auto_passed or {}).get(student, 1.0)
        tests = []
        for it in RUBRIC.auto:
            tests += [
                TestOutcome(it.id, f"{it.id}: check {k}", 1.0, "visible", k < 4 * share)
                for k in range(4)
            ]
        result = SubmissionResult(student, str(path), "graded", tests=tests)
        state = {"key": f"made-up-{student}", "result": result.to_json()}
        (out / ".state" / f"{student}.json").write_text(json.dumps(state))
    return out


POOL = {
    "q1_graph": ["$x$: $d\\times n$, $W_1$: $h\\times d$, $Z = W_1 x$: $h \\times n$"],
    "q1_forward": ["$Z = W_1 x$, $u = \\sigma(Z)$, $\\hat y = W_2 u$, $L = \\|\\hat y - y\\|^2$"],
    "q1_backward": [
        "$\\delta = 2(\\hat y - y)$, $\\partial L/\\partial W_2 = \\delta u^\\top$",
        "$$\\frac{\\partial L}{\\partial W_1} = "
        "\\big(W_2^\\top \\delta \\odot u(1-u)\\big) x^\\top$$",
    ],
    "q1_complexity": ["Backward is about $2\\times$ the forward pass: two products per layer."],
    "q2_gradient": ["$\\nabla L(w) = (a w_1, b w_2)$, so $w^* = (0, 0)$."],
    "q2_updates": ["$\\rho_1 = 1 - \\eta a$, $\\rho_2 = 1 - \\eta b$, $w_i(t) = \\rho_i^t w_i(0)$"],
    "q2_convergence": ["$0 < \\eta < 2/\\max(a, b)$"],
    "q2_slow": ["When $a \\gg b$: $\\eta < 2/a$ makes $\\rho_2 = 1 - \\eta b \\approx 1$."],
}


def class_answers(n: int, seed: int = 0) -> dict[str, dict[str, Answer]]:
    """n students: per item about 40 % share a pool answer (groups, with spacing variants),
    10 % are unanswered, 5 % paste a photo, the rest write their own."""
    rng = random.Random(seed)
    found: dict[str, dict[str, Answer]] = {}
    for k in range(n):
        mine: dict[str, Answer] = {}
        for item in MANUAL:
            r = rng.random()
            if r < 0.4:
                text = rng.choice(POOL[item])
                mine[item] = text.replace(" = ", "=") if rng.random() < 0.5 else text
            elif r < 0.5:
                pass  # left as YOUR ANSWER HERE
            elif r < 0.55:
                mine[item] = ("My derivation: ![photo](attachment:photo.png)",
                              {"photo.png": png_attachment()})  # fmt: skip
            else:
                words = " ".join(rng.choice(["so", "the", "gradient", "$W_1$", "$\\sigma'(Z)$",
                                             "is", "$\\rho_2$", "small", "large", "because"])
                                 for _ in range(rng.randint(20, 120)))  # fmt: skip
                mine[item] = f"Student {k}: {words}\n\n$$L = \\|\\hat y - y\\|^2_{k}$$"
        found[f"s{k:04d}"] = mine
    return found
