"""`grade`: submissions → sandboxed runs → scores → reports, end to end."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from autograder import REPO_DIR
from autograder.files import make_dirs, remove_stale_temporaries, write_atomic
from autograder.grade.batch import grade_all
from autograder.grade.cache import ResultCache, grader_fingerprint, submission_key
from autograder.grade.outcome import KEPT_NOTE, SubmissionResult
from autograder.inert import counted, path_text, visible
from autograder.report.gradebook import gradebook_csv
from autograder.report.lms import lms_csv, read_roster
from autograder.report.manual import read_manual, write_manual_template
from autograder.report.pdf_status import start_lanes, update_pdfs
from autograder.report.results_json import UNSAFE_NOTE
from autograder.report.student_files import write_student_files
from autograder.report.summary import Progress, summary_table
from autograder.rubric import load_rubric
from autograder.run import isolation
from autograder.run.sandbox import Limits, SandboxUnavailable, check_sandbox, default_runtime
from autograder.submissions import discover

if TYPE_CHECKING:
    from autograder.cluster.client import ClusterGrader


@dataclass(frozen=True)
class GradeOptions:
    submissions: list[Path]
    out: Path
    jobs: int = os.cpu_count() or 1
    pdf: bool = True
    limits: Limits = field(default_factory=Limits)  # `--timeout T`: Limits.from_timeout(T)
    unsafe: bool = False
    force: bool = False
    roster: Path | None = None
    # `--cluster`: a connected Dask cluster grades and renders PDFs; the rest stays here.
    cluster: ClusterGrader | None = None


class GradingIncomplete(Exception):
    """Everything was written, but some rows or PDFs failed for the grader's own reasons.

    The command then exits non-zero: a failed row is never a silent zero.
    """


def check_private(options: GradeOptions) -> None:
    """The uid level: no mount namespace hides the repo (the reference, the hidden checks,
    the instructor notebook), OUT or the submissions from student code, only their modes.
    Grading never changes those (it would outlast the run); it refuses while a slot uid
    could read one of them, naming each and what to do. Raises SandboxUnavailable."""
    repo = isolation.exposed(isolation.repo_paths(REPO_DIR))
    found = isolation.exposed([options.out, *options.submissions])
    if not (repo or found) and not options.out.exists():  # a new OUT is made private
        make_dirs(options.out, 0o700)
    if repo or found:
        names = [f"the checkout {path_text(REPO_DIR)} ({len(repo)} of its entries)"] if repo else []
        names += [path_text(p) for p in found[:5]] + (["…"] if len(found) > 5 else [])
        raise SandboxUnavailable(
            "isolation uid (no user namespaces here): student code runs as another uid and "
            f"could read {', '.join(names)}. Keep them private: put them in a folder other "
            "users cannot enter (chmod 700 on a parent), or run `chmod -R o-rwx` on them "
            "yourself; grading never changes their modes"
        )


def grade(options: GradeOptions) -> list[SubmissionResult]:
    """Grade every submission; writes OUT/results/*.json, OUT/logs/*.txt and OUT/grades.csv.

    Also keeps OUT/manual.csv (the manual-grades template, merged back in on a rerun)
    and, with a roster, writes OUT/lms.csv. Raises SubmissionError (bad SUBMISSION
    arguments), ManualGradesError, RosterError or SandboxUnavailable before anything
    is written. The gradebook (grades.csv, manual.csv, lms.csv) is complete before
    any PDF work starts. Students graded by an earlier run into the same OUT keep
    their rows, so one late notebook can be graded on its own.
    """
    rubric = load_rubric()
    subs = discover(options.submissions, rubric.assignment)
    students = [s.student for s in subs]
    manual_path = options.out / "manual.csv"
    manual = read_manual(manual_path, rubric)
    from autograder.review.db import read_feedback  # lazy: the web app's libraries

    feedback = read_feedback(options.out, rubric, manual)  # rubric items and comments of `review`
    roster = read_roster(options.roster) if options.roster else None
    runtime: Path | None = None
    if cluster := options.cluster:  # it grades in its workers' sandboxes, none here
        level = cluster.level
    else:
        runtime = default_runtime()
        level = check_sandbox(runtime, unsafe=options.unsafe)
    if options.unsafe:
        print(UNSAFE_NOTE, file=sys.stderr)
    if level is isolation.Level.UID and cluster is None:
        check_private(options)
    progress = Progress(len(subs))
    remove_stale_temporaries(options.out)
    limits = options.limits
    cache = ResultCache(options.out)
    fingerprint = grader_fingerprint(limits, options.unsafe, level.value)
    keys = {s.student: submission_key(s, fingerprint) for s in subs}
    cached = {} if options.force else {
        s.student: r for s in subs if (r := cache.get(s.student, keys[s.student])) is not None
    }  # fmt: skip

    notes = {s.student: s.note for s in subs}

    def write_reports(r: SubmissionResult) -> None:
        r.manual = manual.get(r.student, {})
        r.note = notes.get(r.student, r.note)
        r.isolation = r.isolation or level.value  # a kept row keeps the level it was graded at
        r.manual_notes = feedback.get(r.student, {})
        write_student_files(options.out, r, rubric)

    def on_result(r: SubmissionResult) -> None:
        write_reports(r)
        cache.put(r.student, keys[r.student], r)  # last: a result counts once its reports exist
        progress.update(r)

    for r in cached.values():
        write_reports(r)  # a run killed mid-way may have left them behind their state
        progress.update(r)
    todo = [s for s in subs if s.student not in cached]
    # New results mean new PDFs: their sandboxes start (5–10 s) while the class is graded.
    warm = start_lanes(options.jobs) if options.pdf and todo and not cluster else None
    run = cluster.grade_all if cluster else partial(grade_all, runtime=runtime, jobs=options.jobs)
    try:
        fresh = run(
            todo,
            limits=limits,
            unsafe=options.unsafe,
            on_result=on_result,
        ) if todo else []  # fmt: skip
    except BaseException:
        if warm is not None:
            warm.close()
        raise
    by_student = {**cached, **{r.student: r for r in fresh}}
    results = [by_student[s.student] for s in subs]
    if cached:
        print(f"reused {len(cached)} unchanged results (--force regrades them)", file=sys.stderr)
    kept = cache.others(set(students))
    for r in kept:  # their reports get this run's manual grades too
        r.note = KEPT_NOTE
        write_reports(r)
    if kept:
        print(f"kept {counted(len(kept), 'row')} graded by an earlier run into {options.out}",
              file=sys.stderr)  # fmt: skip
    everyone = sorted([*results, *kept], key=lambda r: r.student)
    no_row = sorted(set(manual) - {r.student for r in everyone})
    if no_row:
        print(visible(f"manual.csv has grades for students without a submission, kept as they "
                      f"are: {', '.join(no_row)}"), file=sys.stderr)  # fmt: skip
    # The gradebook first: a PDF stage that is slow or killed never costs it.
    write_manual_template(manual_path, rubric, [r.student for r in everyone], manual)
    write_atomic(options.out / "grades.csv", gradebook_csv(everyone, rubric))
    if roster is not None:
        write_atomic(options.out / "lms.csv", lms_csv(everyone, rubric, roster))
    print(summary_table(everyone, rubric))
    why = isolation.LIMITATIONS[level]
    print(f"isolation: {level.value}" + (f" ({why})" if why else ""))
    print(
        f"\nwrote {options.out / 'grades.csv'} and {counted(len(results), 'result')} in "
        f"{options.out}/results/"
    )
    pdf_failures = (
        update_pdfs(results, rubric, options.out, keys, jobs=options.jobs, force=options.force,
                    lanes=warm, render=cluster.render_pdfs if cluster else None)
        if options.pdf
        else []
    )  # fmt: skip
    if warm is not None:
        warm.close()  # when the PDF stage had nothing to render
    problems = []
    if failed := [r.student for r in results if r.status == "failed"]:
        problems.append(f"{len(failed)} row(s) failed because of the grader itself ("
                        + ", ".join(failed[:5]) + (", …" if len(failed) > 5 else "")
                        + "; see OUT/logs/)")  # fmt: skip
    if pdf_failures:
        problems.append(f"{len(pdf_failures)} PDF(s) could not be made (see OUT/pdf/status.csv)")
    if problems:
        raise GradingIncomplete("; ".join(problems))
    return results
