"""`hw2`: the one place for command-line options; each command calls a plain function.

    hw2 {grade,worker,review,pdf,release,nbgrader-course,otter,gradescope,bench} --help

(also `python -m autograder …`). Bad options are one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from autograder import INSTRUCTOR_NB, REPO_DIR, STUDENT_NB
from autograder.run.sandbox import MIN_SUBMISSION_TIMEOUT, SUBMISSION_FACTOR, Limits

if TYPE_CHECKING:
    from autograder.cluster.client import ClusterOptions
    from autograder.pipeline import GradeOptions

DEFAULTS = Limits()  # `grade`'s defaults: --timeout and --memory show them
BENCH_RESULTS = REPO_DIR / "bench"  # where the benchmarks' JSON results are kept


class UsageError(Exception):
    """Bad input from the command line: reported as one clear line, exit status 2."""


class ClusterFailed(Exception):
    """The Dask cluster failed or refused us: one line, exit status 1."""


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
    if args.cold:
        from autograder.run import warm

        os.environ[warm.ENV] = "0"  # read by every grading worker process
    options = GradeOptions(
        submissions=[Path(s) for s in args.submissions],
        out=Path(args.out),
        jobs=args.jobs,
        pdf=not args.no_pdf,
        limits=Limits.from_timeout(args.timeout, memory_mb=args.memory),
        unsafe=args.unsafe_no_sandbox,
        force=args.force,
        roster=Path(args.roster) if args.roster else None,
    )
    if args.cluster is not None and args.unsafe_no_sandbox:
        raise UsageError("--cluster grades only in sandboxes: drop --unsafe-no-sandbox")
    try:
        if args.cluster is None:
            grade(options)
        else:
            _grade_on_cluster(args, options)
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


def _cluster_options(args: argparse.Namespace) -> ClusterOptions:
    from autograder.cluster.client import ClusterOptions
    from autograder.run.isolation import Level

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    tls = [getattr(args, n) for n in ("tls_ca_file", "tls_cert", "tls_key")]
    if any(tls) and not all(tls):
        raise UsageError("TLS needs all three of --tls-ca-file, --tls-cert and --tls-key")
    ca, cert, key = (Path(p) if p else None for p in tls)
    if args.cluster != "slurm":
        from autograder.cluster.client import ClusterError, check_address, scheduler_address

        try:
            check_address(scheduler_address(args.cluster), all(tls))
        except ClusterError as exc:
            raise UsageError(str(exc)) from None
    return ClusterOptions(
        address=args.cluster,
        workers=args.workers,
        min_isolation=Level(args.min_isolation),
        tls_ca=ca,
        tls_cert=cert,
        tls_key=key,
        wait=args.cluster_wait,
        slurm_queue=args.slurm_queue,
        slurm_walltime=args.slurm_walltime,
        slurm_memory_mb=args.memory + 1024,  # the sandbox's cap plus the worker itself
    )


def _quiet_dask() -> None:
    # Dask logs each lost connection at length; the command says what matters in one line.
    import logging

    for name in ("distributed", "tornado", "dask_jobqueue"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _grade_on_cluster(args: argparse.Namespace, options: GradeOptions) -> None:
    from dataclasses import replace

    from autograder.cluster.client import ClusterError, connect
    from autograder.pipeline import grade

    _quiet_dask()
    try:
        with connect(_cluster_options(args)) as cluster:
            grade(replace(options, cluster=cluster))
    except ClusterError as exc:
        raise ClusterFailed(str(exc)) from None


def _worker(args: argparse.Namespace) -> int:
    """`dask worker` with the hw2 preload, one task per process, this checkout's code."""
    from autograder.cluster.client import ClusterError, check_address, scheduler_address
    from autograder.cluster.tasks import UNSAFE_ENV

    if args.nworkers < 1:
        raise UsageError("--nworkers must be at least 1")
    tls = [args.tls_ca_file, args.tls_cert, args.tls_key]
    if any(tls) and not all(tls):
        raise UsageError("TLS needs all three of --tls-ca-file, --tls-cert and --tls-key")
    try:
        check_address(scheduler_address(args.address), all(tls))
    except ClusterError as exc:
        raise UsageError(str(exc)) from None
    cmd = [sys.executable, "-m", "distributed.cli.dask_worker"]
    is_file = args.address.endswith(".json") or Path(args.address).is_file()
    cmd += ["--scheduler-file", args.address] if is_file else [args.address]
    cmd += ["--nthreads", "1", "--nworkers", str(args.nworkers), "--no-dashboard",
            "--preload", "autograder.cluster.preload"]  # fmt: skip
    if all(tls):
        cmd += ["--tls-ca-file", args.tls_ca_file, "--tls-cert", args.tls_cert,
                "--tls-key", args.tls_key]  # fmt: skip
    else:
        cmd += ["--host", "127.0.0.1"]  # a loopback scheduler: listen on loopback too
    if args.name:
        cmd += ["--name", args.name]
    env = dict(os.environ)
    # The worker must grade with this checkout's code (its versions are checked).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_DIR), env.get("PYTHONPATH")) if p)
    if args.unsafe_no_sandbox:
        env[UNSAFE_ENV] = "1"
    sys.stdout.flush()
    os.execve(sys.executable, cmd, env)
    return 0  # not reached


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


def _pdf(args: argparse.Namespace) -> int:
    from autograder.report.pdf import export_pdf, render_example_page

    if args.example_page:
        if args.notebook:
            raise UsageError("give a NOTEBOOK or --example-page, not both")
        outcome = render_example_page(Path(args.example_page))
        target = Path(args.example_page)
    elif args.notebook:
        notebook = Path(args.notebook)
        outcome = export_pdf(
            notebook, Path(args.dest) if args.dest else notebook.with_suffix(".pdf")
        )
        target = outcome.path
    else:
        raise UsageError("give a NOTEBOOK (and DEST.pdf), or --example-page PNG")
    if not outcome.produced:
        from autograder.inert import visible

        print(visible(f"error: no PDF: {outcome.reason}"), file=sys.stderr)
        return 1
    extra = f" ({outcome.degraded})" if outcome.degraded else ""
    print(f"wrote {target}{extra} in {outcome.seconds:.1f} s")
    return 0


def _failed(p: subprocess.CompletedProcess[str]) -> int:
    """A tool's exit status; its output is shown when it failed."""
    if p.returncode:
        print(p.stdout + p.stderr, file=sys.stderr)
    return p.returncode


def _nbgrader_course(args: argparse.Namespace) -> int:
    from autograder.integrations.nbgrader_course import (
        import_grades,
        nbgrader,
        place_answers,
        write_course,
    )
    from autograder.rubric import load_rubric

    if args.place_answers:
        if args.generate or args.import_grades:
            raise UsageError("--place-answers is a step of its own (before `nbgrader autograde`)")
        placed = place_answers(Path(args.dest))
        if not placed:
            print("error: no submitted notebooks in DEST/submitted", file=sys.stderr)
        for student, what in sorted(placed.items()):
            print(f"{student!r}: {what}")  # ids are folder names: never raw to a terminal
        return 0 if placed and all(w == "placed" for w in placed.values()) else 1
    if args.import_grades:
        if args.generate:
            raise UsageError("--import-grades and --generate are separate steps")
        try:
            done = import_grades(Path(args.dest), Path(args.import_grades))
        except FileNotFoundError as exc:
            raise UsageError(str(exc)) from None
        if not done:
            print("error: the gradebook has no submissions of this assignment", file=sys.stderr)
        for student, what in sorted(done.items()):
            print(f"{student!r}: {what}")  # ids are folder names: never raw to a terminal
        return 0 if done and all(w == "imported" for w in done.values()) else 1
    dest = write_course(Path(args.dest))
    assignment = load_rubric().assignment
    print(f"wrote {dest / 'nbgrader_config.py'} and {dest / 'source' / assignment}/")
    if args.generate:
        if code := _failed(nbgrader(dest, "generate_assignment", assignment, "--force")):
            return code
        print(f"generated {dest / 'release' / assignment / (assignment + '.ipynb')}")
    return 0


def _otter(args: argparse.Namespace) -> int:
    from autograder.integrations.otter_assign import otter, write_master

    master = write_master(Path(args.dest), run_tests=args.run_tests)
    print(f"wrote {master}")
    if args.assign:
        if code := _failed(otter("assign", str(master), "dist", cwd=master.parent)):
            return code
        print(f"otter assign wrote {master.parent / 'dist'}/ (student/ and autograder/)")
    return 0


def _gradescope(args: argparse.Namespace) -> int:
    from autograder.integrations.gradescope import build_zip, run_autograder

    if args.run:
        if args.out_dir:
            raise UsageError("--run grades $AUTOGRADER_ROOT/submission: give no OUT_DIR")
        data = run_autograder(Path(os.environ.get("AUTOGRADER_ROOT", "/autograder")))
        print(f"score: {data['score']}")
        return 0
    if not args.out_dir:
        raise UsageError("OUT_DIR is required (or --run)")
    print(f"wrote {build_zip(Path(args.out_dir))}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    # The benchmarks build their classes with the repository's examples/ and tests/ helpers;
    # the console script (an editable install) finds them in its checkout from any folder.
    if all((REPO_DIR / m).is_dir() for m in ("examples", "tests")):
        if str(REPO_DIR) not in sys.path:
            sys.path.insert(0, str(REPO_DIR))
    if not all(importlib.util.find_spec(m) for m in ("examples", "tests")):
        raise UsageError(
            "the benchmarks need the repository's examples/ and tests/: run "
            "`python -m autograder bench …` (or `make bench`) in the repository's root"
        )
    for name in ("n", "pages", "copies", "rounds", "jobs", "tasks"):
        if getattr(args, name, 1) < 1:
            raise UsageError(f"--{name} must be at least 1")
    for name in ("otter_sample", "grade_n"):
        if getattr(args, name, 0) < 0:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 0")
    out = Path(args.out)
    if args.which == "run":
        try:
            scale = sorted({int(s) for s in args.scale.split(",") if s.strip()})
        except ValueError:
            raise UsageError("--scale takes class sizes like 10,100") from None
        if args.big:
            scale = sorted({*scale, 1000})
        from autograder.bench import run_bench

        options = run_bench.BenchOptions(
            n=args.n,
            otter_sample=args.otter_sample,
            scale_ns=scale,
            skip_nbgrader=args.skip_nbgrader,
            skip_otter=args.skip_otter,
            out=out,
            keep=args.keep,
            speed_n=args.speed_n,
        )
        return run_bench.main(options)
    if args.which == "review":
        from autograder.bench import review_bench

        return review_bench.main(n=args.n, page_count=args.pages, out=out)
    if args.which == "cluster":
        from autograder.bench import cluster_bench

        cluster_bench.main(n=args.n, tasks=args.tasks, out=out)
        return 0
    if args.which == "isolation":
        from autograder.bench import isolation_bench

        isolation_bench.main(copies=args.copies, rounds=args.rounds, jobs=args.jobs, out=out)
        return 0
    from autograder.bench import pdf_bench

    pdf_bench.main(copies=args.copies, rounds=args.rounds, grade_n=args.grade_n, out=out)
    return 0


def _tls_arguments(p: argparse._ActionsContainer) -> None:
    p.add_argument("--tls-ca-file", help="CA certificate: required off loopback, with the next two")
    p.add_argument("--tls-cert", help="this process's certificate (signed by the CA)")
    p.add_argument("--tls-key", help="its private key")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hw2",
        description="Homework 2 autograder: release, grade, review, PDFs, integrations, bench.",
        epilog="Each command's options: hw2 COMMAND --help.",
    )
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
        "--cold",
        action="store_true",
        help="start every submission in a fresh sandbox process, not forked from the slot's "
        "warm process (slower: each pays the numpy and matplotlib imports; HW2_WARM=0)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULTS.cell_timeout,
        help=f"seconds per notebook cell and per function call (default "
        f"{DEFAULTS.cell_timeout:g}); a whole submission gets {SUBMISSION_FACTOR} times "
        f"that, at least {MIN_SUBMISSION_TIMEOUT:g} s",
    )
    p.add_argument(
        "--memory",
        type=int,
        default=DEFAULTS.memory_mb,
        help=f"memory cap per submission, MB (default {DEFAULTS.memory_mb})",
    )
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
    c = p.add_argument_group("more than one machine (Dask; README: More than one machine)")
    c.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="grade on a Dask cluster: tcp://HOST:PORT or tls://HOST:PORT of a running "
        "scheduler, its scheduler file (.json), or 'slurm' to start workers as Slurm jobs",
    )
    c.add_argument("--workers", type=int, default=2, help="with --cluster slurm: worker jobs")
    c.add_argument(
        "--min-isolation",
        choices=["full", "rootless", "uid"],
        default="uid",
        help="refuse workers whose sandbox is weaker (default uid: any sandbox)",
    )
    _tls_arguments(c)
    c.add_argument(
        "--cluster-wait",
        type=float,
        default=120.0,
        help="seconds to wait for a worker that can grade (default 120)",
    )
    c.add_argument("--slurm-queue", help="with --cluster slurm: the partition")
    c.add_argument(
        "--slurm-walltime", default="01:00:00", help="with --cluster slurm: each job's time limit"
    )
    p.set_defaults(func=_grade)

    p = sub.add_parser(
        "worker",
        help="start Dask worker processes that can grade (dask worker with the hw2 preload)",
    )
    p.add_argument("address", metavar="ADDRESS", help="the scheduler's address, or its file")
    p.add_argument("--nworkers", type=int, default=1, help="worker processes (one task each)")
    p.add_argument("--name", help="the worker's name (default: its address)")
    p.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="grade without a sandbox (clients refuse it: they require at least uid)",
    )
    _tls_arguments(p)
    p.set_defaults(func=_worker)

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

    p = sub.add_parser(
        "pdf",
        help="one notebook's PDF as grading renders it, without grading (no root needed)",
        description="Export NOTEBOOK as a PDF, in the PDF sandbox (an unprivileged user "
        "namespace when not root). --example-page renders docs/graded-page.png instead.",
    )
    p.add_argument("notebook", nargs="?", metavar="NOTEBOOK", help="the .ipynb to export")
    p.add_argument("dest", nargs="?", metavar="DEST.pdf", help="default: NOTEBOOK with .pdf")
    p.add_argument(
        "--example-page",
        metavar="PNG",
        help="grade examples/submissions/typical_mistakes.ipynb and write page 1 of its "
        "graded PDF as a PNG (`make docs`)",
    )
    p.set_defaults(func=_pdf)

    p = sub.add_parser(
        "nbgrader-course",
        help="write an nbgrader course folder for this assignment",
        description="Write DEST/nbgrader_config.py and DEST/source/<assignment>/.",
    )
    p.add_argument("dest", metavar="DEST", help="the course folder to write")
    p.add_argument(
        "--generate",
        action="store_true",
        help="also run `nbgrader generate_assignment` in DEST (writes release/)",
    )
    p.add_argument(
        "--place-answers",
        action="store_true",
        help="before `nbgrader autograde`: put each written answer of DEST/submitted (in "
        "added, split or duplicated cells, or without metadata) into its graded cell, "
        "keeping each student's file as <assignment>.ipynb.submitted",
    )
    p.add_argument(
        "--import-grades",
        metavar="OUT",
        help="write the hidden graders' results in OUT (from `hw2 grade DEST/submitted "
        "--out OUT`) into DEST's gradebook; run after `nbgrader autograde`",
    )
    p.set_defaults(func=_nbgrader_course)

    p = sub.add_parser(
        "otter",
        help="write an otter-assign master notebook and its grader bundle",
        description="Write DEST/<assignment>.ipynb (otter-grader master notebook) and its "
        "grader bundle.",
    )
    p.add_argument("dest", metavar="DEST", help="folder for the master notebook")
    p.add_argument("--assign", action="store_true", help="also run `otter assign` into DEST/dist")
    p.add_argument(
        "--run-tests",
        action="store_true",
        help="set run_tests: true (otter assign then grades the solutions itself)",
    )
    p.set_defaults(func=_otter)

    p = sub.add_parser(
        "gradescope",
        help="build the Gradescope autograder zip (or, with --run, grade on Gradescope)",
    )
    p.add_argument("out_dir", nargs="?", metavar="OUT_DIR", help="where to write autograder.zip")
    p.add_argument(
        "--run",
        action="store_true",
        help="grade $AUTOGRADER_ROOT/submission (default root /autograder); run_autograder's job",
    )
    p.set_defaults(func=_gradescope)

    p = sub.add_parser(
        "bench",
        help="benchmarks: run (against nbgrader and otter), review, isolation, pdf",
        description="Benchmarks, side by side in one run (from the repository root).",
    )
    which = p.add_subparsers(dest="which", required=True, metavar="BENCH")
    b = which.add_parser(
        "run", help="grade a class with ours, nbgrader and otter, against the floor"
    )
    b.add_argument("--n", type=int, default=100, help="class size for the side-by-side rows")
    b.add_argument("--otter-sample", type=int, default=10, help="submissions run through otter")
    b.add_argument("--big", action="store_true", help="also a scaling row at N = 1000")
    b.add_argument("--skip-nbgrader", action="store_true", help="no nbgrader row")
    b.add_argument("--skip-otter", action="store_true", help="no otter row")
    b.add_argument("--scale", default="10,100", help="class sizes of the scaling rows (ours)")
    b.add_argument("--out", default=str(BENCH_RESULTS / "results.json"), help="result JSON")
    b.add_argument("--keep", action="store_true", help="keep the work folder (printed)")
    b.add_argument("--speed-n", type=int, default=20,
                   help="copies of the correct example in the speed section (0: none)")  # fmt: skip
    b = which.add_parser("review", help="time `review` on a made-up class")
    b.add_argument("--n", type=int, default=500, help="students (8 written items each)")
    b.add_argument("--pages", type=int, default=60, help="item pages to time")
    b.add_argument("--out", default=str(BENCH_RESULTS / "review_results.json"), help="result JSON")
    b = which.add_parser("isolation", help="seconds per submission at each isolation level (root)")
    b.add_argument("--copies", type=int, default=4, help="copies of the three examples")
    b.add_argument("--rounds", type=int, default=2, help="interleaved rounds")
    b.add_argument("--jobs", type=int, default=1, help="grade --jobs")
    b.add_argument("--out", default=str(BENCH_RESULTS / "isolation.json"), help="result JSON")
    b = which.add_parser("cluster", help="Dask: scheduler cost per task; --jobs 2 vs 2 workers")
    b.add_argument("--n", type=int, default=200, help="class size graded both ways")
    b.add_argument("--tasks", type=int, default=10_000, help="trivial tasks for the scheduler")
    b.add_argument("--out", default=str(BENCH_RESULTS / "cluster.json"), help="result JSON")
    b = which.add_parser("pdf", help="plain nbconvert against our PDF export and graded PDFs")
    b.add_argument("--copies", type=int, default=2, help="copies of the three examples")
    b.add_argument("--rounds", type=int, default=1, help="rounds over the notebooks")
    b.add_argument("--grade-n", type=int, default=0, help="also time a full grade of N")
    b.add_argument("--out", default=str(BENCH_RESULTS / "pdf_results.json"), help="result JSON")
    p.set_defaults(func=_bench)
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
    except ClusterFailed as exc:
        from autograder.inert import visible

        print(visible(f"error: {exc}"), file=sys.stderr)
        return 1
