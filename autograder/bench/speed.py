"""The speed limit, side by side in one run, on N copies of the correct example notebook.

Part of ``hw2 bench run`` (``--speed-n``, 0 to skip):

- the floor: each notebook's code cells in one fresh bare python (floor_exec.py);
- ours at ``--jobs 1``, warm (the default: each submission forked from the slot's warm
  process, autograder.run.warm) and ``--cold``; at ``--jobs 2``; at ``--jobs 2`` with PDFs;
- ``nbgrader autograde`` on the same notebooks;
- ours' per-submission split (sandbox start, imports, student cells, hidden tests,
  clean-up: autograder.run.sandbox.PHASES), the mean over OUT/logs.

Targets: ours at ``--jobs 1`` ≤ 0.3 × the floor; ours at ``--jobs 2`` ≥ 20 × faster than
nbgrader; grading with PDFs ≤ 2 × grading without.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder import REPO_DIR as REPO
from autograder.bench import tools
from autograder.run.sandbox import PHASES

JOBS1_OVER_FLOOR = 0.3
NBGRADER_OVER_JOBS2 = 20.0
PDF_OVER_NO_PDF = 2.0
EXAMPLE = REPO / "examples" / "submissions" / "correct.ipynb"


def run(work: Path, runtime: Path, n: int, *, nbgrader: bool, step) -> dict:
    """Every row on ``n`` copies of the correct example; ratios and targets."""
    folder = work / "speed"
    folder.mkdir(parents=True, exist_ok=True)
    flat = []
    for i in range(n):
        flat.append(folder / f"correct_{i:03d}.ipynb")
        shutil.copy(EXAMPLE, flat[-1])
    step(f"speed: floor on {n} copies of the correct example")
    rows = {"floor": tools.floor(flat, work, runtime)}
    rows["floor"].pop("by_student")
    for key, kw in (("j1", {"jobs": 1}), ("j1_cold", {"jobs": 1, "cold": True}),
                    ("j2", {"jobs": 2}), ("j2_pdf", {"jobs": 2, "pdf": True})):  # fmt: skip
        step(f"speed: ours {key} on {n}")
        rows[key] = tools.ours(folder, work / f"speed-{key}", n=n, **kw)
        shutil.rmtree(work / f"speed-{key}", ignore_errors=True)
    if nbgrader:
        step(f"speed: nbgrader autograde on {n}")
        tools.nbgrader_course(work / "speed-course", flat)
        rows["nbgrader"] = tools.nbgrader_autograde(work / "speed-course", n)
    floor, j1, j2 = rows["floor"]["per_sub_s"], rows["j1"]["per_sub_s"], rows["j2"]["per_sub_s"]
    nbg = rows.get("nbgrader", {}).get("per_sub_s")
    ratios = {
        "j1_over_floor": round(j1 / floor, 4),
        "j1_cold_over_floor": round(rows["j1_cold"]["per_sub_s"] / floor, 4),
        "nbgrader_over_j2": round(nbg / j2, 2) if nbg else None,
        "pdf_over_no_pdf": round(rows["j2_pdf"]["wall_s"] / rows["j2"]["wall_s"], 4),
    }
    targets = [
        {"target": f"ours --jobs 1 ≤ {JOBS1_OVER_FLOOR}× the floor",
         "measured": ratios["j1_over_floor"], "met": ratios["j1_over_floor"] <= JOBS1_OVER_FLOOR},
        {"target": f"ours --jobs 2 ≥ {NBGRADER_OVER_JOBS2:g}× faster than nbgrader autograde",
         "measured": ratios["nbgrader_over_j2"],
         "met": None if nbg is None else ratios["nbgrader_over_j2"] >= NBGRADER_OVER_JOBS2},
        {"target": f"grading with PDFs ≤ {PDF_OVER_NO_PDF:g}× without (--jobs 2)",
         "measured": ratios["pdf_over_no_pdf"],
         "met": ratios["pdf_over_no_pdf"] <= PDF_OVER_NO_PDF},
    ]  # fmt: skip
    return {"n": n, "rows": rows, "ratios": ratios, "targets": targets}


def table(speed: dict) -> str:
    """The speed section as Markdown: the rows, the split, the targets."""
    lines = [f"Speed limit: {speed['n']} copies of the correct example", "",
             "| run | wall s | s / submission |", "|---|---:|---:|"]  # fmt: skip
    for row in speed["rows"].values():
        lines.append(f"| {row['tool']} | {row['wall_s']:.1f} | {row['per_sub_s']:.3f} |")
    lines += ["", "| split, s per submission | sandbox start | imports | student cells "
              "| hidden tests | clean-up |", "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for row in speed["rows"].values():
        s = row.get("split")
        if s:
            cells = " | ".join(f"{s.get(k, 0):.3f}" for k in PHASES)
            lines.append(f"| {row['tool']} | {cells} |")
    lines += ["", "| target | measured | met |", "|---|---:|---|"]
    for t in speed["targets"]:
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        value = "–" if t["measured"] is None else f"{t['measured']:.3f}"
        lines.append(f"| {t['target']} | {value} | {met} |")
    return "\n".join(lines)
