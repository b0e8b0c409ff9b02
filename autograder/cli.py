"""The one place for command-line options; each command calls a plain function."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from autograder import INSTRUCTOR_NB, STUDENT_NB


class UsageError(Exception):
    """Bad input from the command line: reported as one clear line, exit status 2."""


def _release(args: argparse.Namespace) -> int:
    from autograder.release import release

    dest = release(Path(args.source), Path(args.dest))
    print(f"released {dest}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from autograder.pipeline import GradeOptions, GradingIncomplete, grade
    from autograder.report.lms import RosterError
    from autograder.report.manual import ManualGradesError
    from autograder.run.sandbox import SandboxUnavailable
    from autograder.submissions import SubmissionError

    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if not 0 < args.timeout <= 3600:
        raise UsageError("--timeout must be between 0 and 3600 seconds")
    if not 256 <= args.memory <= 65536:
        raise UsageError("--memory must be between 256 and 65536 MB")
    options = GradeOptions(
        submissions=[Path(s) for s in args.submissions],
        out=Path(args.out),
        jobs=args.jobs,
        pdf=not args.no_pdf,
        timeout=args.timeout,
        memory_mb=args.memory,
        unsafe=args.unsafe_no_sandbox,
        force=args.force,
        roster=Path(args.roster) if args.roster else None,
    )
    try:
        grade(options)
    except GradingIncomplete as exc:
        print(f"error: grading is incomplete: {exc}", file=sys.stderr)
        return 1
    except (SubmissionError, ManualGradesError, RosterError) as exc:
        raise UsageError(str(exc)) from None
    except SandboxUnavailable as exc:
        raise UsageError(
            f"cannot sandbox student code: {exc}. Fix that, or pass --unsafe-no-sandbox "
            "(then every report says the code was not isolated)."
        ) from None
    return 0


def _review(args: argparse.Namespace) -> int:
    from autograder.review.db import Refused

    out = Path(args.out)
    if not (out / ".state").is_dir():
        raise UsageError(f"{out}: not a graded output folder (run `make grade OUT={out}` first)")
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be between 0 and 65535")
    try:
        if args.export:
            from autograder.review.export import export

            export(out, jobs=args.jobs)
            return 0
        from autograder.review.server import serve

        return serve(out, host=args.host, port=args.port)
    except Refused as exc:
        raise UsageError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="generate the student notebook from the instructor notebook")
    p.add_argument("--source", default=str(INSTRUCTOR_NB))
    p.add_argument("--dest", default=str(STUDENT_NB))
    p.set_defaults(func=_release)

    p = sub.add_parser("grade", help="grade submissions into OUT (grades.csv, results/, pdf/)")
    p.add_argument(
        "submissions",
        nargs="+",
        metavar="SUBMISSION",
        help="a notebook, a folder of notebooks, or an nbgrader submitted/ tree",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="parallel submissions (default: all cores)",
    )
    p.add_argument("--no-pdf", action="store_true", help="do not render graded PDFs")
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds per notebook cell and per function call (default 10); "
        "a whole submission gets 15 times that",
    )
    p.add_argument("--memory", type=int, default=2048, help="memory cap per submission, MB")
    p.add_argument(
        "--roster",
        help="CSV with columns student, lms_id, name: also write OUT/lms.csv for the LMS",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="regrade every submission, even those whose result is up to date",
    )
    p.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="run student code without bubblewrap (reports say so)",
    )
    p.set_defaults(func=_grade)

    p = sub.add_parser("review", help="grade the written answers of OUT in the browser")
    p.add_argument("out", metavar="OUT", help="a folder `grade` wrote")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--export",
        action="store_true",
        help="no server: merge the manual grades into grades.csv, results/, lms.csv and PDFs",
    )
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="PDF jobs for --export")
    p.set_defaults(func=_review)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        from autograder.inert import visible

        print(visible(f"error: {exc}"), file=sys.stderr)  # it may name a student's file
        return 2
