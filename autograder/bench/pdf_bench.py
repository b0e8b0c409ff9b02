"""PDF benchmark: plain `jupyter nbconvert --to pdf` vs our export and graded PDFs, side by side.

    hw2 bench pdf [--copies 2] [--rounds 1] [--grade-n 100]

The three example submissions are executed first (so they carry their plots) and
copied to make ``3 × copies`` notebooks. Every copy is made distinct (a comment in
each code cell, a markdown cell of its own), so the worker's caches of highlighted
code only help where real submissions share cells: the question text. They are
graded, then, notebook by notebook and interleaved (so a busy machine hurts all
three alike): plain nbconvert (a fresh CLI process, as a student runs it),
export_pdf and render_graded_pdf (in this process, with its warm PDF worker). Then
render_graded_pdfs over all of them with jobs=1 and jobs=2 (these include starting
the workers and building the LaTeX format), and with jobs=2 on lanes started
beforehand, as `grade` has them (it starts them while the class is graded): that
batch's seconds per notebook is the PDF cost of a `make grade`. With ``--grade-n N``, also a full
``grade`` of N submissions with ``--no-pdf`` and with PDFs, one after the other.
Writes --out (bench/pdf_results.json) and prints a table. Wall-clock times; the load
average at the end says how busy the machine was.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder import REPO_DIR as REPO
from autograder.grade.batch import grade_all
from autograder.report.pdf import PdfLanes, export_pdf, render_graded_pdf, render_graded_pdfs
from autograder.rubric import load_rubric
from autograder.run.sandbox import Limits, default_runtime
from autograder.submissions import discover

JUPYTER = REPO / ".venv" / "bin" / "jupyter"


def executed_notebooks(folder: Path, copies: int) -> list[Path]:
    """The examples run top to bottom in a real kernel (errors allowed), then copied."""
    import nbformat
    from nbclient import NotebookClient

    paths = []
    for src in sorted((REPO / "examples" / "submissions").glob("*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
        for k in range(copies):
            copy = nbformat.from_dict(json.loads(json.dumps(nb)))
            for cell in copy.cells:
                if cell.cell_type == "code":
                    cell.source += f"\n# copy {k} of {src.stem}"
            copy.cells.append(nbformat.v4.new_markdown_cell(f"Copy {k} of *{src.stem}*."))
            dest = folder / f"{src.stem}_{k}.ipynb"
            nbformat.write(copy, dest)
            paths.append(dest)
    return paths


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def plain(nb: Path, out: Path) -> None:
    cmd = [str(JUPYTER), "nbconvert", "--to", "pdf", "--output-dir", str(out), str(nb)]
    subprocess.run(cmd, check=True, capture_output=True)


def full_grade(n: int, work: Path) -> dict:
    """`grade` of n submissions (copies of the examples), without and with PDFs."""
    subs = work / "grade-subs"
    subs.mkdir()
    examples = sorted((REPO / "examples" / "submissions").glob("*.ipynb"))
    for k in range(n):
        shutil.copy(examples[k % len(examples)], subs / f"student_{k:04d}.ipynb")
    times = {}
    for label, extra in (("no_pdf", ["--no-pdf"]), ("with_pdf", [])):
        out = work / f"grade-{label}"
        cmd = [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out),
               "--jobs", "2", *extra]  # fmt: skip
        t = timed(lambda cmd=cmd: subprocess.run(cmd, cwd=REPO, check=True, capture_output=True))
        times[label] = round(t, 1)
    times["ratio"] = round(times["with_pdf"] / times["no_pdf"], 2)
    times["n"] = n
    return times


def main(*, copies: int, rounds: int, grade_n: int, out: Path) -> None:
    """Time the PDF routes on ``3 × copies`` notebooks, ``rounds`` times; write ``out``."""
    rubric = load_rubric()
    work = Path(tempfile.mkdtemp(prefix="pdf-bench-"))
    try:
        nbs = executed_notebooks(work, copies)
        subs = discover(nbs)
        results = grade_all(subs, runtime=default_runtime(), jobs=2, limits=Limits(), unsafe=False)
        by_path = {Path(r.source).resolve(): r for r in results}
        t_warm = timed(lambda: export_pdf(nbs[0], work / "warm.pdf"))  # worker start + format
        rows: dict[str, dict[str, list[float]]] = {}
        for _ in range(rounds):
            for nb in nbs:
                r = by_path[nb.resolve()]
                row = rows.setdefault(nb.stem, {"plain": [], "export": [], "graded": []})
                row["plain"].append(timed(lambda nb=nb: plain(nb, work / "plain")))
                row["export"].append(timed(lambda nb=nb: export_pdf(nb, work / "e" / nb.name)))
                row["graded"].append(
                    timed(lambda nb=nb, r=r: render_graded_pdf(r, rubric, nb, work / "g.pdf"))
                )
        pool = {}
        for jobs in (1, 2):
            t = timed(
                lambda jobs=jobs: render_graded_pdfs(results, rubric, work / f"j{jobs}", jobs)
            )
            produced = sum(1 for p in (work / f"j{jobs}" / "pdf").glob("*.pdf"))
            pool[f"jobs={jobs}"] = {"seconds": round(t, 2), "pdfs": produced}
        # A class's PDFs as `grade` makes them: lanes started while it grades, then the batch.
        lanes = PdfLanes(2)
        lanes.wait_started()
        t = timed(lambda: render_graded_pdfs(results, rubric, work / "warm", 2, lanes))
        produced = sum(1 for p in (work / "warm" / "pdf").glob("*.pdf"))
        pool["jobs=2, lanes started"] = {"seconds": round(t, 2), "pdfs": produced,
                                         "per_notebook": round(t / len(results), 3)}  # fmt: skip
        grade = full_grade(grade_n, work) if grade_n else None
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = {k: statistics.median(x for row in rows.values() for x in row[k]) for k in
           ("plain", "export", "graded")}  # fmt: skip
    report = {
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],  # others' jobs skew it
        "notebooks": len(rows),
        "rounds": rounds,
        "first_pdf_seconds": round(t_warm, 2),  # starting the worker and building the format
        "per_notebook_seconds": {
            name: {k: round(statistics.median(v), 2) for k, v in row.items()}
            for name, row in rows.items()
        },
        "median_seconds": {k: round(v, 2) for k, v in med.items()},
        "ratio_export_over_plain": round(med["export"] / med["plain"], 3),
        "ratio_graded_over_plain": round(med["graded"] / med["plain"], 3),
        "render_graded_pdfs": pool,
        "speedup_jobs2": round(pool["jobs=1"]["seconds"] / pool["jobs=2"]["seconds"], 2),
        "full_grade": grade,
    }
    Path(out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'notebook':<22}{'plain nbconvert':>16}{'export_pdf':>12}{'graded':>10}")
    for name, row in report["per_notebook_seconds"].items():
        print(f"{name:<22}{row['plain']:>15.2f}s{row['export']:>11.2f}s{row['graded']:>9.2f}s")
    m = report["median_seconds"]
    print(f"{'median':<22}{m['plain']:>15.2f}s{m['export']:>11.2f}s{m['graded']:>9.2f}s")
    ratios = f"export {report['ratio_export_over_plain']}×, graded "
    print(f"ours / plain: {ratios}{report['ratio_graded_over_plain']}× (target ≤ 0.15×, ≤ 1 s)")
    print(f"first PDF of a process (worker start + format): {report['first_pdf_seconds']} s")
    print(f"render_graded_pdfs over {len(rows)} notebooks: jobs=1 {pool['jobs=1']['seconds']} s, "
          f"jobs=2 {pool['jobs=2']['seconds']} s, speed-up {report['speedup_jobs2']}×")  # fmt: skip
    warm = pool["jobs=2, lanes started"]
    print(f"per notebook in a batch (jobs=2, lanes started, as `grade` has them): "
          f"{warm['per_notebook']} s (target ≤ 1 s)")  # fmt: skip
    if grade:
        print(f"grade of {grade['n']}: --no-pdf {grade['no_pdf']} s, with PDFs "
              f"{grade['with_pdf']} s: {grade['ratio']}× (target ≤ 2×)")  # fmt: skip
    print(f"load average at the end: {report['load_average_at_end']}")
