"""Submissions as Colab, VS Code and JupyterLab save them, built from the correct example.

The structure of each file follows real public notebooks saved by those front ends (read
through the code index of public GitHub files), not guesses:

* Colab: ``julianbertini/Res50Unet`` TensorFlow_with_GPU.ipynb and a Colab-saved course
  notebook ("Notebook 04 — Preparação de Dados"): top-level ``"nbformat_minor": 0`` first,
  notebook ``metadata.colab`` (``provenance: []``), ``kernelspec`` without ``language``,
  ``accelerator: "GPU"``; every cell has ``metadata.id``, 12 characters of [A-Za-z0-9_-]
  (the newer saves repeat it as the cell's ``id``), keys in the order cell_type, source,
  metadata (then execution_count, outputs), sources as lists of lines, 2-space indent; a
  pasted picture stays inside the markdown as ``![image.png](data:image/png;base64,…)``.
  Cells with output carry ``metadata.colab.base_uri`` and ``outputId``
  (deforum-art/deforum-stable-diffusion).
* VS Code: a notebook saved by the Jupyter extension (kernelspec ``display_name`` naming
  the environment, full ``language_info``, ``vscode.interpreter.hash``, nbformat 4.5):
  every cell's ``metadata`` is ``{}``, with an 8-hex-digit ``id``, keys sorted, 1-space
  indent. The nbgrader metadata is gone, as the issue reports for VS Code.
* JupyterLab: a pasted picture is a cell attachment, ``"attachments": {"image.png":
  {"image/png": …}}`` with ``![image.png](attachment:image.png)`` in the source, keys
  sorted, 1-space indent, nbformat 4.5 cell ids.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import random
import string
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORRECT = REPO / "examples" / "submissions" / "correct.ipynb"
_COLAB_ID = string.ascii_letters + string.digits + "_-"


def photo(seed: int, side: int = 316) -> bytes:
    """A PNG of noise, about 3·side² bytes (300 KB at 316): a pasted phone photo's weight."""
    from PIL import Image

    rnd = random.Random(seed)
    raw = rnd.randbytes(side * side * 3)
    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), raw).save(buf, "PNG")
    return buf.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _gid(cell: dict) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def _correct() -> dict:
    return json.loads(CORRECT.read_text(encoding="utf-8"))


def answer_text(front: str, item: str) -> str:
    return f"{front} answers {item}: $\\nabla L(w) = (a w_1, b w_2)$."


def colab(items: list[str]) -> dict:
    """Each written answer typed in Colab with a pasted photo; q1_forward in a new text
    cell below the untouched stub (Colab's "+ Text")."""
    rnd = random.Random(1)
    cells = []
    for cell in _correct()["cells"]:
        gid = _gid(cell)
        out = {"cell_type": cell["cell_type"], "source": cell["source"]}
        meta = dict(cell.get("metadata", {}))
        meta["id"] = "".join(rnd.choice(_COLAB_ID) for _ in range(12))
        if cell["cell_type"] == "code" and cell.get("outputs"):
            meta["colab"] = {"base_uri": "https://localhost:8080/"}
            meta["outputId"] = f"{rnd.getrandbits(128):032x}"
        out["metadata"] = meta
        if cell["cell_type"] == "code":
            out["execution_count"] = cell.get("execution_count")
            out["outputs"] = cell.get("outputs", [])
        if gid in items:
            pasted = f"![image.png](data:image/png;base64,{_b64(photo(len(cells)))})"
            text = f"{answer_text('Colab', gid)}\n\n{pasted}"
            if gid == "q1_forward":
                out["source"] = _lines("YOUR ANSWER HERE")
                cells.append(out)
                new_id = "".join(rnd.choice(_COLAB_ID) for _ in range(12))
                out = {"cell_type": "markdown", "source": _lines(text), "metadata": {"id": new_id}}
            else:
                out["source"] = _lines(text)
        else:
            out["source"] = _lines("".join(cell["source"]) if isinstance(cell["source"], list)
                                   else cell["source"])  # fmt: skip
        cells.append(out)
    return {
        "nbformat": 4,
        "nbformat_minor": 0,
        "metadata": {
            "colab": {"provenance": []},
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
            "accelerator": "GPU",
        },
        "cells": cells,
    }


def vscode(items: list[str]) -> dict:
    """Saved by VS Code: no cell metadata at all; q2_updates split over two cells."""
    cells = []
    for cell in _correct()["cells"]:
        gid = _gid(cell)
        out = copy.deepcopy(cell)
        out["metadata"] = {}
        out["id"] = hashlib.sha1(f"{len(cells)}".encode()).hexdigest()[:8]
        if gid in items:
            text = answer_text("VS Code", gid)
            if gid == "q2_updates":
                head, tail = text.split(": ", 1)
                out["source"] = _lines(head + ":")
                cells.append(out)
                out = {"cell_type": "markdown", "id": "0a1b2c3d", "metadata": {},
                       "source": _lines(tail)}  # fmt: skip
            else:
                out["source"] = _lines(text)
        cells.append(out)
    meta = {
        "kernelspec": {
            "display_name": "Python 3.11.4 ('.venv': venv)",
            "language": "python",
            "name": "python3",
        },
        "language_info": {
            "codemirror_mode": {"name": "ipython", "version": 3},
            "file_extension": ".py",
            "mimetype": "text/x-python",
            "name": "python",
            "nbconvert_exporter": "python",
            "pygments_lexer": "ipython3",
            "version": "3.11.4",
        },
        "vscode": {"interpreter": {"hash": hashlib.sha256(b".venv").hexdigest()}},
    }
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def jupyterlab(items: list[str]) -> dict:
    """JupyterLab: pictures pasted as attachments; q2_slow duplicated, the copy answered."""
    nb = _correct()
    cells = []
    for cell in nb["cells"]:
        gid = _gid(cell)
        out = copy.deepcopy(cell)
        out["id"] = hashlib.sha1(f"lab{len(cells)}".encode()).hexdigest()[:8]
        if gid in items:
            text = answer_text("JupyterLab", gid)
            if gid == "q2_slow":  # Duplicate Cells (Shift+C, Shift+V): the copy is answered
                out["source"] = _lines("YOUR ANSWER HERE")
                cells.append(out)
                out = copy.deepcopy(out)
                out["id"] = "dup0dup0"
                out["source"] = _lines(text)
            else:
                out["attachments"] = {"image.png": {"image/png": _b64(photo(len(cells)))}}
                out["source"] = _lines(f"{text}\n\n![image.png](attachment:image.png)")
        cells.append(out)
    nb["cells"] = cells
    nb["nbformat_minor"] = 5
    return nb


def write(nb: dict, path: Path, front: str) -> Path:
    """As each front end writes: Colab 2-space indent in its key order, the others sorted
    with 1-space indent (nbformat's own writer, which JupyterLab and VS Code follow)."""
    if front == "colab":
        text = json.dumps(nb, indent=2, ensure_ascii=False)
    else:
        text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


FRONTS = {"colab": colab, "vscode": vscode, "jupyterlab": jupyterlab}
NAMES = {"colab": "Colab", "vscode": "VS Code", "jupyterlab": "JupyterLab"}
