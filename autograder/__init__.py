"""Homework 2 autograder: release → run (sandboxed) → grade (trusted) → report.

Subpackages follow the data flow, one workflow verb each:

    release/  source notebook → student notebook (nbconvert preprocessors)
    run/      a submission → its outputs, inside the sandbox
    grade/    outputs → scores and feedback, in the trusted process
    report/   scores → grades.csv, results/<student>.json, PDFs
    graders/  the hidden pytest graders (instructor-only)

Top-level modules hold what every step shares, below all of them: files.py (atomic
writes), cells.py (nbgrader cell metadata), reference.py (the reference solution),
rubric.py, inert.py, submissions.py; the paths of the instructor's and students' files
are here. tests/unit/test_layers.py keeps imports going down the data flow.

`cli.py` is a thin command-line layer over plain functions in those packages.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
# The instructor's files (never released), and the student notebook released from them.
REFERENCE_PY = REPO_DIR / "solutions" / "hw2.py"
INSTRUCTOR_NB = REPO_DIR / "solutions" / "hw2_instructor.ipynb"
STUDENT_NB = REPO_DIR / "assignment" / "hw2.ipynb"
