"""Graded PDFs: the student's own notebook through nbconvert's LaTeX route, with the scores.

The PDF is the notebook as submitted (markdown, code, the outputs the student
produced) converted by nbconvert's LatexExporter, plus cells the grader inserts:

- a score page at the top: one table per question (Q1, Q2, Q3) with auto and
  manual points, the total and any grading failure;
- after the cell that defines each graded function, that function's hidden
  checks (✓/✗, the feedback, the points).

Inserted cells are markdown in which every student- or grader-supplied string
is escaped, so pandoc turns it into plain LaTeX text: no template injection.
xelatex runs in the sandbox of ``pdf_sandbox``. A notebook whose markdown or
outputs break LaTeX is retried with safer renderings, so every submission gets
a PDF; ``PdfOutcome.degraded`` says what was given up.

CLI: ``python -m autograder.report.pdf NOTEBOOK DEST.pdf`` (a student export) and
``python -m autograder.report.pdf --example-page docs/graded-page.png``.
"""

from __future__ import annotations

import copy
import multiprocessing as mp
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nbformat

from autograder.grade.outcome import SubmissionResult
from autograder.report.files import write_atomic
from autograder.rubric import Rubric

LATEX_DIR = Path(__file__).resolve().parent / "latex"
TOOLS = (  # (program, Debian package), in the order they are needed
    ("pandoc", "pandoc"),
    ("xelatex", "texlive-xetex"),
    ("bwrap", "bubblewrap"),
    ("setpriv", "util-linux"),
    ("prlimit", "util-linux"),
)
FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core")

# Bounds that keep a PDF readable whatever the notebook holds.
MAX_CELLS = 400
MAX_SOURCE_LINES = 300
MAX_TEXT_LINES = 200  # per output
MAX_TEXT_CHARS = 20_000  # per output
WRAP = 100  # an output line longer than this is wrapped: Verbatim does not break lines
MAX_TRACEBACK_LINES = 40
MAX_MARKDOWN_CHARS = 20_000
MAX_IMAGE_BYTES = 2 << 20  # base64 length, about 1.5 MB of image
MAX_IMAGES = 40
KEEP_MIMES = ("application/pdf", "image/png", "image/jpeg", "text/latex", "text/markdown",
              "text/plain")  # fmt: skip
NOTE = "hw2_grader"  # metadata key of inserted cells: never escaped, never dropped

LEVELS = ("", "markdown rendered verbatim", "markdown rendered verbatim, outputs dropped")


@dataclass(frozen=True)
class PdfOutcome:
    """What happened to one PDF: where it is, what was given up, or why there is none."""

    student: str
    path: Path | None  # None when not produced
    produced: bool
    degraded: str  # "" or what was given up, e.g. "markdown rendered verbatim"
    reason: str  # why not produced (or why the notebook itself is missing from it)
    seconds: float


def pdf_toolchain_missing() -> list[str]:
    """What the PDF step lacks here, e.g. ["xelatex (Debian package texlive-xetex)"]; [] if none."""
    missing = [f"{tool} (Debian package {pkg})" for tool, pkg in TOOLS if not shutil.which(tool)]
    if not Path(FONTS[0]).exists():
        missing.append(f"the DejaVu fonts (Debian package {FONTS[1]})")
    if shutil.which("xelatex") and not shutil.which("kpsewhich"):
        missing.append("kpsewhich (Debian package texlive-binaries)")
    return missing


# -- escaping -------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def md_text(text: str) -> str:
    """``text`` as literal markdown: pandoc turns it into escaped LaTeX text, never commands."""
    text = _CONTROL.sub("\ufffd", str(text))
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def md_verbatim(text: str) -> str:
    """A multi-line string as literal markdown, line breaks kept (each line escaped)."""
    lines = [md_text(line) for line in str(text).splitlines()]
    out, para = [], []
    for line in [*lines, ""]:
        if line:
            para.append(line)
        elif para:
            out.append("\\\n".join(para))  # a trailing backslash is a hard line break
            para = []
    return "\n\n".join(out)


def _pts(x: float) -> str:
    return f"{x:g}"


# -- inserted cells ---------------------------------------------------------------------------
def _cell(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(source, metadata={NOTE: True})


def score_page(result: SubmissionResult, rubric: Rubric, note: str = "") -> str:
    """The score page as markdown: a table per question, the total, any grading failure."""
    auto = result.auto_scores(rubric)
    manual_pending = any(i.id not in result.manual for i in rubric.manual)
    auto_max = sum(i.points for i in rubric.auto)
    lines = [
        "# Scores",
        "",
        f"**Student:** {md_text(result.student)}\\",
        f"**Total: {_pts(result.total(rubric))} / {_pts(rubric.max_points)}** (autograded "
        f"{_pts(result.auto_total(rubric))} / {_pts(auto_max)}"
        + ("; written answers pending manual grading)" if manual_pending else ")"),
        "",
    ]
    if result.status != "graded":
        lines += [f"**Not graded ({md_text(result.status)}):** {md_text(result.reason)}", ""]
    if result.unsafe:
        lines += ["**Warning:** graded with \\-\\-unsafe\\-no\\-sandbox (code not isolated).", ""]
    if note:
        lines += [f"**Note:** {md_text(note)}", ""]
    for q in rubric.questions:
        items = [i for i in rubric.items if i.question == q]
        number = q.removeprefix("Q")
        lines += [f"## Question {md_text(number)} ({_pts(sum(i.points for i in items))} points)"]
        # The dashes set the column widths once a row is too long for one line (pandoc).
        lines += ["", "| Item | Auto | Manual | Max |", "|:" + "-" * 56 + "|----:|------:|---:|"]
        got_auto = got_manual = 0.0
        pending = False
        for i in items:
            if i.kind == "auto":
                a, m = _pts(auto[i.id]), ""
                got_auto += auto[i.id]
            else:
                score = result.manual.get(i.id)
                pending |= score is None
                a, m = "", "pending" if score is None else _pts(score)
                got_manual += score or 0.0
            lines.append(f"| {md_text(i.title)} | {a} | {m} | {_pts(i.points)} |")
        manual_col = "pending" if pending else (_pts(got_manual) if got_manual else "")
        auto_col = _pts(got_auto) if any(i.kind == "auto" for i in items) else ""
        total = _pts(sum(i.points for i in items))
        lines += [f"| **Question {md_text(number)}** | {auto_col} | {manual_col} | {total} |", ""]
    if result.manual_notes:  # written feedback from `review`
        lines += ["**Written answers: rubric items and comments**", ""]
    for item_id, notes in result.manual_notes.items():
        lines += [f"**{md_text(item_id)}:** {md_text(_pts(result.manual.get(item_id, 0)))}", ""]
        lines += [f"- {md_text(t)}" for t in notes.get("rubric", [])]
        lines += [f"- Comment: {md_text(notes['comment'])}"] if notes.get("comment") else []
        lines.append("")
    if result.notebook_errors:
        lines += ["**Errors while running the notebook:**", ""]
        lines += [f"- {md_text(e[:300])}" for e in result.notebook_errors[:8]]
    return "\n".join(lines)


def feedback_cell(result: SubmissionResult, rubric: Rubric, item_id: str) -> str:
    """One function's hidden checks: ✓/✗, name, feedback and the points earned."""
    it = rubric.item(item_id)
    got = result.item_score(item_id, it.points)
    head = f"**Autograder feedback, {md_text(item_id)}: {_pts(got)} / {_pts(it.points)} points**"
    tests = [t for t in result.tests if t.item == item_id]
    if result.status != "graded" or not tests:
        reason = result.reason or "the notebook could not be run"
        return f"{head}\n\n- ✗ Not graded: {md_text(reason)}"
    rows = []
    for t in tests:
        mark = "✓" if t.passed else "✗"
        tail = "" if t.passed else f"  \n  {md_text(t.message[:600])}"
        rows.append(f"- {mark} {md_text(t.name)}{tail}")
    return head + "\n\n" + "\n".join(rows)


def _defines(cell: dict, fn: str) -> bool:
    src = cell.get("source", "")
    return cell.get("cell_type") == "code" and bool(
        re.search(rf"^\s*def\s+{re.escape(fn)}\s*\(", src, re.M)
    )


def add_grading(nb, result: SubmissionResult, rubric: Rubric, note: str = ""):
    """Insert the score page first and each function's feedback after the cell defining it."""
    unplaced = []
    for it in reversed(rubric.auto):  # reversed: inserting keeps earlier indices valid
        at = next((k for k, c in enumerate(nb.cells) if _defines(c, it.id)), None)
        text = feedback_cell(result, rubric, it.id)
        if at is None:
            unplaced.insert(0, text)
        else:
            nb.cells.insert(at + 1, _cell(text))
    head = [_cell(score_page(result, rubric, note))]
    if unplaced:
        head.append(_cell("## Feedback for functions not found in the notebook\n\n"
                          + "\n\n".join(unplaced)))  # fmt: skip
    nb.cells[:0] = head
    return nb


# -- bounding and safer renderings ------------------------------------------------------------
def _join(src) -> str:
    return "".join(src) if isinstance(src, list) else str(src or "")


def _bound_text(text: str, what: str = "output") -> str:
    text = _CONTROL.sub("\ufffd", text)
    lines = text.splitlines()
    size, n = len(text), len(lines)
    wrapped: list[str] = []
    for line in lines:
        wrapped += [line[i : i + WRAP] for i in range(0, max(len(line), 1), WRAP)]
        if len(wrapped) > MAX_TEXT_LINES or sum(map(len, wrapped)) > MAX_TEXT_CHARS:
            break
    if len(wrapped) <= MAX_TEXT_LINES and sum(map(len, wrapped)) <= MAX_TEXT_CHARS:
        return "\n".join(wrapped) + ("\n" if text.endswith("\n") else "")
    kept = wrapped[:MAX_TEXT_LINES]
    while sum(map(len, kept)) > MAX_TEXT_CHARS:
        kept.pop()
    return "\n".join(kept) + (
        f"\n[... {what} truncated: {n:,} lines, {size:,} characters in all; "
        f"the PDF shows the first {len(kept)} lines]\n"
    )


def _bound_output(out, images: list[int]) -> None:
    kind = out.get("output_type")
    if kind == "stream":
        out["text"] = _bound_text(_join(out.get("text")))
    elif kind == "error":
        tb = [_join(x) for x in out.get("traceback") or []][-MAX_TRACEBACK_LINES:]
        out["traceback"] = [_bound_text("\n".join(tb), "traceback")]
        out["ename"] = _bound_text(str(out.get("ename", "")))[:200]
        out["evalue"] = _bound_text(str(out.get("evalue", "")))[:2000]
    elif kind in ("display_data", "execute_result"):
        data = out.get("data") or {}
        for mime in list(data):
            if mime not in KEEP_MIMES:
                del data[mime]  # html, svg (needs inkscape), widgets: not for LaTeX
            elif mime.startswith(("image/", "application/")):
                if len(_join(data[mime])) > MAX_IMAGE_BYTES or images[0] >= MAX_IMAGES:
                    del data[mime]
                    data.setdefault("text/plain", "[image omitted from the PDF: too large]")
                else:
                    images[0] += 1
            else:
                data[mime] = _bound_text(_join(data[mime]))
        out["data"] = data
        out["metadata"] = {}  # student-set widths/heights go into LaTeX options


def bound(nb):
    """Cap cells, sources and outputs so any notebook gives a readable, bounded PDF."""
    images = [0]
    if len(nb.cells) > MAX_CELLS:
        dropped = len(nb.cells) - MAX_CELLS
        nb.cells = nb.cells[:MAX_CELLS]
        nb.cells.append(_cell(f"**\\[{dropped} more cells omitted from the PDF\\]**"))
    for cell in nb.cells:
        src = _CONTROL.sub("\ufffd", _join(cell.get("source")))
        if cell.get("cell_type") == "code":
            lines = src.splitlines()
            if len(lines) > MAX_SOURCE_LINES:
                src = "\n".join(lines[:MAX_SOURCE_LINES])
                src += f"\n# [... {len(lines) - MAX_SOURCE_LINES} more lines omitted from the PDF]"
            for out in cell.get("outputs", []):
                _bound_output(out, images)
        elif len(src) > MAX_MARKDOWN_CHARS:
            src = src[:MAX_MARKDOWN_CHARS] + "\n\n**\\[... cell truncated in the PDF\\]**"
        cell["source"] = src
        cell.pop("attachments", None)  # student-named files: never written to the work dir
    return nb


def safer(nb, level: int):
    """Rendering ``level`` of LEVELS: 1 renders student markdown verbatim, 2 drops outputs too."""
    for k, cell in enumerate(nb.cells):
        if level >= 1 and cell.get("cell_type") in ("markdown", "raw"):
            if not cell.get("metadata", {}).get(NOTE):
                nb.cells[k] = nbformat.v4.new_markdown_cell(md_verbatim(cell["source"]))
        if cell.get("cell_type") == "code":
            if level >= 2:
                cell["outputs"] = []
            elif level >= 1:
                for out in cell.get("outputs", []):
                    for mime in ("text/latex", "text/markdown"):
                        out.get("data", {}).pop(mime, None)
    return nb


# -- conversion -------------------------------------------------------------------------------
@cache
def _exporter():
    from nbconvert import LatexExporter

    return LatexExporter(template_name="graded", extra_template_basedirs=[str(LATEX_DIR)])


_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}$")


def _typeset(nb, title: str, author: str) -> tuple[bytes | None, str]:
    """nbconvert → .tex and images in a private folder → xelatex in the sandbox."""
    from autograder.report.pdf_sandbox import run_xelatex

    resources = {"metadata": {"name": "notebook"}, "hw2_title": title, "hw2_author": author}
    try:
        tex, res = _exporter().from_notebook_node(nb, resources=resources)
    except Exception as exc:  # pandoc or a filter choking on the notebook
        return None, f"nbconvert failed: {type(exc).__name__}: {str(exc)[:300]}"
    work = Path(tempfile.mkdtemp(prefix="hw2-pdf-"))
    try:
        (work / "notebook.tex").write_text(tex, encoding="utf-8")
        for name, data in (res.get("outputs") or {}).items():
            if _SAFE_NAME.match(name) and isinstance(data, bytes):
                (work / name).write_bytes(data)
        run = run_xelatex(work)
        return run.pdf, run.log_tail
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _read_notebook(path: Path):
    """(notebook, "") or (None, reason): parsing only, as autograder.submissions does."""
    from autograder.submissions import MAX_NOTEBOOK_BYTES

    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return None, f"the file is larger than {MAX_NOTEBOOK_BYTES >> 20} MB"
        nb = nbformat.reads(path.read_bytes().decode("utf-8"), as_version=4)
        if not isinstance(nb.get("cells"), list):
            return None, "the notebook has no list of cells"
        nb.cells = [c for c in nb.cells if isinstance(c, dict) and "cell_type" in c]
        for cell in nb.cells:
            cell.setdefault("metadata", {})
            cell["source"] = _join(cell.get("source"))
            if cell["cell_type"] == "code":
                cell.setdefault("outputs", [])
                cell.setdefault("execution_count", None)
        nb.metadata = {"language_info": {"name": "python"}}  # title/authors reach LaTeX
        return nb, ""
    except (OSError, UnicodeDecodeError):
        return None, "the file cannot be read as text"
    except Exception as exc:
        return None, f"the file is not a valid Jupyter notebook ({type(exc).__name__})"


def _render(student: str, nb, dest: Path, title: str, fallback) -> PdfOutcome:
    """Try each rendering level, then ``fallback`` (a notebook or None); write ``dest``."""
    t0 = time.monotonic()
    missing = pdf_toolchain_missing()
    if missing:
        reason = "cannot make PDFs: not installed: " + ", ".join(missing)
        return PdfOutcome(student, None, False, "", reason, time.monotonic() - t0)
    attempts = (
        [] if nb is None else [(d, safer(copy.deepcopy(nb), k)) for k, d in enumerate(LEVELS)]
    )
    if fallback is not None:
        attempts.append(("notebook omitted: only the score page", fallback))
    failure = "no notebook to render"
    for degraded, candidate in attempts:
        pdf, log = _typeset(candidate, title, student)
        if pdf is not None:
            write_atomic(dest, pdf)
            reason = failure if degraded else ""
            return PdfOutcome(student, dest, True, degraded, reason, time.monotonic() - t0)
        failure = f"LaTeX failed ({degraded or 'normal rendering'}): {log.strip()[-400:]}"
    return PdfOutcome(student, None, False, "", failure, time.monotonic() - t0)


def export_pdf(notebook: Path, dest: Path) -> PdfOutcome:
    """A student's own PDF of ``notebook`` (no grading), e.g. for `make pdf NB=...`."""
    student = notebook.stem
    nb, why = _read_notebook(notebook)
    if nb is None:
        return PdfOutcome(student, None, False, "", f"{notebook}: {why}", 0.0)
    return _render(student, bound(nb), dest, notebook.stem, None)


def render_graded_pdf(
    result: SubmissionResult, rubric: Rubric, notebook: Path, dest: Path
) -> PdfOutcome:
    """The graded PDF of one submission; an unreadable notebook gets the score page alone."""
    nb, why = _read_notebook(notebook)
    title = rubric.title
    only_scores = nbformat.v4.new_notebook()
    add_grading(only_scores, result, rubric, note=why)
    if nb is not None:
        nb = add_grading(bound(nb), result, rubric)
    outcome = _render(result.student, nb, dest, title, only_scores)
    if nb is None and outcome.produced:  # the reason is the notebook's, not LaTeX's
        return PdfOutcome(outcome.student, dest, True, "score page only", why, outcome.seconds)
    return outcome


def _render_one(result: SubmissionResult, rubric: Rubric, out: Path) -> PdfOutcome:
    dest = out / "pdf" / f"{result.student}.pdf"
    t0 = time.monotonic()
    try:
        return render_graded_pdf(result, rubric, Path(result.source), dest)
    except Exception as exc:  # a bug here must not cost the other students their PDFs
        reason = f"internal error in the PDF step: {type(exc).__name__}: {exc}"
        return PdfOutcome(result.student, None, False, "", reason, time.monotonic() - t0)


def _init_pool() -> None:
    from autograder.report.pdf_sandbox import slot_uid

    slot_uid()  # a slot of its own: grading pools hold theirs


def render_graded_pdfs(
    results: list[SubmissionResult], rubric: Rubric, out: Path, jobs: int
) -> list[PdfOutcome]:
    """Write out/pdf/<student>.pdf for every result, across ``jobs`` processes.

    One outcome per result, in order. Never raises for a bad notebook; a
    missing toolchain gives outcomes with produced=False and the reason.
    """
    missing = pdf_toolchain_missing()
    if missing or not results:
        reason = "cannot make PDFs: not installed: " + ", ".join(missing)
        return [PdfOutcome(r.student, None, False, "", reason, 0.0) for r in results]
    jobs = max(1, min(jobs, len(results)))
    if jobs == 1:
        _init_pool()
        return [_render_one(r, rubric, out) for r in results]
    ctx = mp.get_context("forkserver")
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_pool) as pool:
        futures = [pool.submit(_render_one, r, rubric, out) for r in results]
        outcomes = []
        for r, fut in zip(results, futures, strict=True):
            try:
                outcomes.append(fut.result())
            except Exception as exc:  # the PDF process itself died
                reason = f"the PDF process crashed ({type(exc).__name__})"
                outcomes.append(PdfOutcome(r.student, None, False, "", reason, 0.0))
    return outcomes


# -- the README figure and the command line ---------------------------------------------------
def render_example_page(dest: Path) -> PdfOutcome:
    """Grade examples/submissions/typical_mistakes.ipynb and save page 1 of its PDF as a PNG."""
    from autograder import REPO_DIR
    from autograder.grade.batch import grade_all
    from autograder.rubric import load_rubric
    from autograder.run.sandbox import Limits, default_runtime
    from autograder.submissions import discover

    rubric = load_rubric()
    subs = discover([REPO_DIR / "examples" / "submissions" / "typical_mistakes.ipynb"])
    [result] = grade_all(subs, runtime=default_runtime(), jobs=1, limits=Limits(), unsafe=False)
    with tempfile.TemporaryDirectory() as tmp:
        outcome = render_graded_pdf(result, rubric, subs[0].path, Path(tmp) / "graded.pdf")
        if outcome.produced:
            png = Path(tmp) / "page"
            cmd = ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"]
            subprocess.run([*cmd, str(outcome.path), str(png)], check=True)
            write_atomic(dest, png.with_suffix(".png").read_bytes())
            dest.chmod(0o644)  # a figure for the README, not a private report
    return outcome


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m autograder.report.pdf")
    parser.add_argument("--example-page", type=Path, metavar="PNG",
                        help="write page 1 of typical_mistakes' graded PDF as a PNG")  # fmt: skip
    parser.add_argument("notebook", nargs="?", type=Path)
    parser.add_argument("dest", nargs="?", type=Path)
    args = parser.parse_args(argv)
    if args.example_page:
        outcome = render_example_page(args.example_page)
        target = args.example_page
    elif args.notebook:
        outcome = export_pdf(args.notebook, args.dest or args.notebook.with_suffix(".pdf"))
        target = outcome.path
    else:
        parser.error("give a NOTEBOOK (and DEST.pdf), or --example-page PNG")
    if not outcome.produced:
        print(f"error: no PDF: {outcome.reason}", file=sys.stderr)
        return 1
    extra = f" ({outcome.degraded})" if outcome.degraded else ""
    print(f"wrote {target}{extra} in {outcome.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
