"""Graded PDFs: the student's own notebook through nbconvert's LaTeX route, with the scores.

The PDF is the notebook as submitted (markdown with its images, code, the outputs
the student produced), plus cells the grader inserts:

- a score page at the top: one table per question (Q1, Q2, Q3) with auto and
  manual points, the total and any grading failure;
- after the cell that defines each graded function, that function's hidden
  checks (✓/✗, the feedback, the points).

Inserted cells are markdown in which every student- or grader-supplied string
is escaped (``md_text``), so pandoc turns it into plain LaTeX text; the rubric items
and comments graders wrote keep their math (``mathtext.md_with_math``, known math
commands only).

This module only orchestrates; it never parses the student's notebook. The bytes
go to the PDF worker (``pdf_worker``, in the sandbox of ``pdf_sandbox``), which
returns a .tex and checked images; xelatex compiles them in a second sandbox. When
LaTeX fails, the cells its errors point at are shown as source and the rest keeps
its math; failing that, safer renderings of the whole notebook, then the score
page alone. Every step has a deadline, so every submission gets a PDF and
``PdfOutcome.degraded`` says what was given up.

CLI: ``hw2 pdf NOTEBOOK DEST.pdf`` (a student export, :func:`export_pdf`) and
``hw2 pdf --example-page docs/graded-page.png`` (:func:`render_example_page`).
"""

from __future__ import annotations

import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from autograder import answers
from autograder.files import write_atomic
from autograder.grade.outcome import SubmissionResult
from autograder.report.mathtext import md_with_math
from autograder.report.pdf_check import active_content
from autograder.report.pdf_sandbox import (
    Lane,
    LatexRun,
    WorkerFailed,
    format_dir,
    prestart_xelatex,
    typeset,
)
from autograder.rubric import Rubric
from autograder.run.sandbox import SandboxUnavailable

TOOLS = (  # (program, Debian package), in the order they are needed
    ("pandoc", "pandoc"),
    ("xelatex", "texlive-xetex"),
    ("rsvg-convert", "librsvg2-bin"),
    ("bwrap", "bubblewrap"),
    ("setpriv", "util-linux"),
    ("prlimit", "util-linux"),
)
FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core")
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


def _pts(x: float) -> str:
    return f"{x:g}"


# -- inserted cells (markdown; the worker places them) ----------------------------------------
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
        # Written by graders, in the model answers' notation: their math is typeset.
        lines += [f"- {md_with_math(t)}" for t in notes.get("rubric", [])]
        lines += [f"- Comment: {md_with_math(notes['comment'])}"] if notes.get("comment") else []
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


# -- rendering: the worker makes the .tex, xelatex typesets it, both sandboxed ---------------
PDF_DEADLINE = 60.0  # wall-clock seconds for one PDF's notebook; then the score page alone
FALLBACK_DEADLINE = 30.0  # for the score page alone
MAX_ROUNDS = 3  # typeset, show the failing cells as source, typeset again
_SAFE_IMAGE = re.compile(r"^img[0-9]{1,3}\.(png|jpg)$")


def _read_bytes(path: Path, problem: str = "") -> tuple[bytes | None, str]:
    """The notebook's bytes, or None and why, read as grading reads them
    (autograder.submissions.read_submission: no link, FIFO or device, size first).
    ``problem``: why grading refused the file; it is then not opened again."""
    from autograder.submissions import Submission, UnreadableNotebook, read_submission

    try:
        return read_submission(Submission(path.stem, path, problem=problem)), ""
    except UnreadableNotebook as exc:
        return None, str(exc)


def _cells_at(tex: str, nonce: str, lines: list[int]) -> set[int]:
    """The cells (by number; -1 for the grader's own) where LaTeX reported errors.

    LaTeX notices an error at or after its cause, never before: a line belongs to
    the last cell that began above it. Lines before any cell give -1.
    """
    starts: list[tuple[int, int]] = []
    marker = re.compile(rf"^%HW2CELL-{re.escape(nonce)}-(-?[0-9]+)$")
    for k, line in enumerate(tex.splitlines(), start=1):
        m = marker.match(line)
        if m:
            starts.append((k, int(m.group(1))))
    found = set()
    for line in lines:
        before = [n for k, n in starts if k <= line]
        found.add(before[-1] if before else -1)
    return found


def _typeset(reply: dict, blob: bytes, lane: Lane, fmt: Path) -> LatexRun:
    """The worker's .tex and images → xelatex in the sandbox (:func:`typeset`)."""
    files = {"notebook.tex": str(reply.get("tex", "")).encode()}
    offset = 0
    for name, size in reply.get("images", []):
        if not (_SAFE_IMAGE.match(str(name)) and isinstance(size, int) and size >= 0):
            return LatexRun(None, "the PDF worker named an image badly", 0)
        files[name] = blob[offset : offset + size]
        offset += size
    run = typeset(files, lane, fmt)
    if run.pdf is not None and (why := active_content(run.pdf)):
        # Never handed out: the caller degrades the notebook as after a LaTeX error.
        return LatexRun(None, f"the PDF was refused: it holds {why}", run.runs)
    return run


def _describe(reply: dict, level: int) -> str:
    parts = [f"{label}: {why}" for _n, label, why in reply.get("degraded", [])]
    if level:
        parts.insert(0, LEVELS[level])
    return "; ".join(parts)[:2000]


def _render(
    lane: Lane,
    *,
    student: str,
    title: str,
    head: Callable[[str], list[str]],
    feedback: dict[str, str],
    labels: dict[str, str],
    raw: bytes | None,
    why: str,
    dest: Path,
    score_page_fallback: bool,
) -> PdfOutcome:
    """Typeset the notebook (degrading cell by cell, then wholesale); else the score page.

    Every step is bounded: the worker by its rlimits and the request deadline, each
    xelatex run by RUN_TIMEOUT, the whole notebook by PDF_DEADLINE, after which the
    PDF is the score page alone and its reason says why.
    """
    t0 = time.monotonic()
    try:
        fmt = format_dir(lane)
    except WorkerFailed as exc:
        reason = f"the PDF sandbox could not start: {exc}"
        return PdfOutcome(student, None, False, "", reason, time.monotonic() - t0)
    prestart_xelatex(lane, fmt)  # loads while the worker converts the notebook
    request = {"op": "render", "title": title, "student": student, "feedback": feedback,
               "labels": labels,
               "answers": answers.released_template() if labels else None}  # fmt: skip
    failure = why or "no notebook to render"
    if raw is not None:
        verbatim: dict[int, str] = {}
        plain: dict[int, int] = {}
        level = 0
        deadline = t0 + PDF_DEADLINE
        for _ in range(MAX_ROUNDS + len(LEVELS)):
            left = deadline - time.monotonic()
            if left <= 0:
                failure = f"the notebook took longer than {PDF_DEADLINE:g} s to typeset"
                break
            req = {**request, "head": head(""), "verbatim": verbatim, "plain": plain,
                   "level": level}  # fmt: skip
            try:
                reply, blob = lane.request(req, raw, left)
            except WorkerFailed as exc:
                failure = f"the notebook could not be converted within the PDF limits ({exc})"
                break
            if not reply.get("ok"):
                failure = str(reply.get("reason", "the PDF worker failed"))[:300]
                raw = None  # the notebook itself is unreadable: the PDF is the score page
                break
            run = _typeset(reply, blob, lane, fmt)
            if run.pdf is not None:
                write_atomic(dest, run.pdf)
                return PdfOutcome(student, dest, True, _describe(reply, level), "",
                                  time.monotonic() - t0)  # fmt: skip
            failure = f"LaTeX failed ({LEVELS[level] or 'normal rendering'}): {run.log_tail}"
            kinds = {int(n): kind for n, kind, _gid in reply.get("cells", [])}
            bad = _cells_at(str(reply.get("tex", "")), str(reply.get("nonce", "")),
                            run.error_lines)  # fmt: skip
            fixable = (
                bad
                and level == 0
                and all(n in kinds and n not in verbatim and plain.get(n, 0) < 2 for n in bad)
            )
            if fixable:
                for n in bad:
                    if kinds[n] == "code":
                        plain[n] = plain.get(n, 0) + 1
                    else:
                        verbatim[n] = "LaTeX error"
                continue
            level += 1
            if level >= len(LEVELS):
                break
    if not score_page_fallback:
        return PdfOutcome(student, None, False, "", failure, time.monotonic() - t0)
    req = {**request, "head": head(failure), "verbatim": {}, "plain": {}, "level": 0}
    try:
        reply, blob = lane.request(req, b"", FALLBACK_DEADLINE)
        run = _typeset(reply, blob, lane, fmt) if reply.get("ok") else None
    except WorkerFailed as exc:
        run, failure = None, f"{failure}; the score page failed too ({exc})"
    if run is not None and run.pdf is not None:
        write_atomic(dest, run.pdf)
        degraded = "score page only" if raw is None else "notebook omitted: only the score page"
        return PdfOutcome(student, dest, True, degraded, failure, time.monotonic() - t0)
    return PdfOutcome(student, None, False, "", failure, time.monotonic() - t0)


def item_labels(rubric: Rubric) -> dict[str, str]:
    """Written-answer cells by grade_id, as page 1 names them: "answer to Q1(c)"."""
    # The written parts are lettered as the homework letters them; an autograded item in
    # the same question (Q1's computational_graph) is code, not a lettered written part.
    labels = {}
    for q in rubric.questions:
        written = [i for i in rubric.manual if i.question == q]
        for k, it in enumerate(written):
            labels[it.id] = f"answer to {q}({chr(ord('a') + k)})"
    return labels


_lane: Lane | None = None
_lane_lock = threading.Lock()


def _shared_lane() -> Lane:
    """This process's lane for single PDFs: its worker stays warm between calls."""
    global _lane
    if _lane is None:
        import atexit

        _lane = Lane()
        atexit.register(_lane.close)
    return _lane


def export_pdf(notebook: Path, dest: Path) -> PdfOutcome:
    """A student's own PDF of ``notebook`` (no grading), e.g. for `make pdf NB=...`."""
    student = notebook.stem
    missing = pdf_toolchain_missing()
    if missing:
        return PdfOutcome(student, None, False, "", "cannot make PDFs: not installed: "
                          + ", ".join(missing), 0.0)  # fmt: skip
    raw, why = _read_bytes(notebook)
    if raw is None:
        return PdfOutcome(student, None, False, "", f"{notebook}: {why}", 0.0)
    with _lane_lock:
        try:
            lane = _shared_lane()
        except SandboxUnavailable as exc:
            return PdfOutcome(student, None, False, "", f"no PDF sandbox: {exc}", 0.0)
        outcome = _render(lane, student=student, title=notebook.stem,
                          head=lambda _note: [], feedback={}, labels={}, raw=raw, why="",
                          dest=dest, score_page_fallback=False)  # fmt: skip
    if not outcome.produced:
        return replace(outcome, reason=f"{notebook}: {outcome.reason}")
    return outcome


def _graded(lane: Lane, result: SubmissionResult, rubric: Rubric, notebook: Path,
            dest: Path) -> PdfOutcome:  # fmt: skip
    raw, why = _read_bytes(notebook, result.refused)
    return _render(
        lane,
        student=result.student,
        title=rubric.title,
        head=lambda note: [score_page(result, rubric, note)],
        feedback={it.id: feedback_cell(result, rubric, it.id) for it in rubric.auto},
        labels=item_labels(rubric),
        raw=raw,
        why=why,
        dest=dest,
        score_page_fallback=True,
    )


def render_graded_pdf(
    result: SubmissionResult, rubric: Rubric, notebook: Path, dest: Path
) -> PdfOutcome:
    """The graded PDF of one submission; an unreadable notebook gets the score page alone."""
    missing = pdf_toolchain_missing()
    if missing:
        return PdfOutcome(result.student, None, False, "", "cannot make PDFs: not installed: "
                          + ", ".join(missing), 0.0)  # fmt: skip
    with _lane_lock:
        try:
            lane = _shared_lane()
        except SandboxUnavailable as exc:
            return PdfOutcome(result.student, None, False, "", f"no PDF sandbox: {exc}", 0.0)
        return _graded(lane, result, rubric, notebook, dest)


def _render_one(lane: Lane, result: SubmissionResult, rubric: Rubric, out: Path) -> PdfOutcome:
    dest = out / "pdf" / f"{result.student}.pdf"
    t0 = time.monotonic()
    try:
        return _graded(lane, result, rubric, Path(result.source), dest)
    except Exception as exc:  # a bug here must not cost the other students their PDFs
        lane.stop_worker()
        reason = f"internal error in the PDF step: {type(exc).__name__}: {exc}"
        return PdfOutcome(result.student, None, False, "", reason, time.monotonic() - t0)


class PdfLanes:
    """``jobs`` threads, each driving one lane (a sandboxed worker and its xelatex runs).

    Start it early (while the class is graded, say) and the worker imports and the LaTeX
    format (5–10 s) are done by the time PDFs are wanted. A thread keeps its lane for its
    whole life: the sandboxes die with the thread that started them. One batch of work,
    then the lanes close: :meth:`finish`.
    """

    def __init__(self, jobs: int) -> None:
        self._tasks: queue.SimpleQueue[Callable[[Lane], None] | None] = queue.SimpleQueue()
        self.errors: list[str] = []
        self._started = threading.Semaphore(0)
        self._threads = [threading.Thread(target=self._main, daemon=True) for _ in range(jobs)]
        for t in self._threads:
            t.start()

    def _main(self) -> None:
        try:
            lane = Lane()
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
            self._started.release()
            return
        try:
            try:
                # Starts the worker (it makes the preamble), builds the format, and starts
                # the first xelatex, which waits for its document.
                prestart_xelatex(lane, format_dir(lane))
            except Exception:
                lane.stop_worker()  # the first PDF tries again, and its outcome says why
            self._started.release()
            while (task := self._tasks.get()) is not None:
                task(lane)
        finally:
            lane.close()

    def wait_started(self) -> None:
        """Until every lane has started (or failed to): for timing the PDFs alone."""
        for _ in self._threads:
            self._started.acquire()
        for _ in self._threads:
            self._started.release()

    def finish(self, tasks: list[Callable[[Lane], None]]) -> None:
        """Run every task on some lane, then close the lanes. Tasks that no lane could take
        (none started) are dropped: the caller sees their results missing."""
        for task in tasks:
            self._tasks.put(task)
        for _ in self._threads:
            self._tasks.put(None)
        for t in self._threads:
            t.join()

    def close(self) -> None:
        self.finish([])


def render_graded_pdfs(
    results: list[SubmissionResult],
    rubric: Rubric,
    out: Path,
    jobs: int,
    lanes: PdfLanes | None = None,
) -> list[PdfOutcome]:
    """Write out/pdf/<student>.pdf for every result, across ``jobs`` lanes (or ``lanes``,
    started earlier; they are closed after).

    One outcome per result, in order. Never raises for a bad notebook; a
    missing toolchain gives outcomes with produced=False and the reason. The work
    happens in the lanes' sandboxes, not in this process.
    """
    missing = pdf_toolchain_missing()
    if missing or not results:
        if lanes is not None:
            lanes.close()
        reason = "cannot make PDFs: not installed: " + ", ".join(missing)
        return [PdfOutcome(r.student, None, False, "", reason, 0.0) for r in results]
    lanes = lanes or PdfLanes(max(1, min(jobs, len(results))))
    outcomes: list[PdfOutcome | None] = [None] * len(results)

    def task(k: int, r: SubmissionResult) -> Callable[[Lane], None]:
        def run(lane: Lane) -> None:
            outcomes[k] = _render_one(lane, r, rubric, out)

        return run

    lanes.finish([task(k, r) for k, r in enumerate(results)])
    reason = "the PDF step could not start: " + (lanes.errors[0] if lanes.errors else "unknown")
    return [o or PdfOutcome(r.student, None, False, "", reason, 0.0)
            for o, r in zip(outcomes, results, strict=True)]  # fmt: skip


# -- the docs/ figure -------------------------------------------------------------------------
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
            dest.chmod(0o644)  # a figure for docs/, not a private report
    return outcome
