"""The PDF worker finds written answers as every reader does (autograder.answers) and
takes pasted (Colab) images out of the text: run in-process, without the sandbox."""

from __future__ import annotations

import base64
import io
import json
import os

from autograder import answers
from autograder.report import pdf, pdf_worker
from autograder.rubric import load_rubric
from tests.notebooks import REPO

CORRECT = REPO / "examples" / "submissions" / "correct.ipynb"


def _request() -> dict:
    return {"labels": pdf.item_labels(load_rubric()), "answers": answers.released_template()}


def _at(nb: dict, item: str) -> int:
    return next(
        k
        for k, c in enumerate(nb["cells"])
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == item
    )


def photo(size: int = 300_000) -> str:
    """A PNG of noise, about ``size`` bytes (noise does not compress)."""
    from PIL import Image

    side = int((size / 3) ** 0.5)
    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_labels_follow_an_answer_into_added_cells_and_missing_ones_are_listed():
    nb = json.loads(CORRECT.read_text(encoding="utf-8"))
    for c in nb["cells"]:
        c["metadata"] = {}  # VS Code's copy: no nbgrader ids to go by
    k = _at(json.loads(CORRECT.read_text(encoding="utf-8")), "q1_backward")
    nb["cells"].insert(k + 1, {"cell_type": "markdown", "metadata": {}, "source": "x" * 30_000})
    q = _at(json.loads(CORRECT.read_text(encoding="utf-8")), "q2_updates")
    nb["cells"][q]["source"] = "I rewrote the question"  # q - 1, moved by the insert
    nb["cells"][q + 2]["source"] = "and this one"
    built = pdf_worker.build(_request(), json.dumps(nb).encode())
    labels = {c["n"]: c.get("label") for c in built["cells"] if c["n"] >= 0}
    assert labels[k] == "answer to Q1(c)" and labels[k + 1] == "answer to Q1(c), cell 2"
    assert ["answer to Q1(c), cell 2" in d[1] for d in built["degraded"]] == [True]
    box = "".join(c.get("latex", "") for c in built["cells"] if c["n"] < 0)
    assert "Answers not found" in box and "answer to Q2(b): answer not found" in box


def test_pasted_images_are_images_and_never_cut_the_text():
    nb = json.loads(CORRECT.read_text(encoding="utf-8"))
    k = _at(nb, "q1_backward")
    nb["cells"][k]["source"] = f"My work:\n\n![image.png](data:image/png;base64,{photo()})\n\nDone."
    built = pdf_worker.build(_request(), json.dumps(nb).encode())
    cell = next(c for c in built["cells"] if c["n"] == k)
    assert built["degraded"] == [], built["degraded"]
    assert len(cell["source"]) < 200 and "base64" not in cell["source"]
    assert "includegraphics" in cell["latex"] and len(built["images"].files) == 1
