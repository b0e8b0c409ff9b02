"""Every fact the README and docs/ quote is read from where it lives.

An instructor sets up Gradescope, a course or a command line from these pages: a point value
that disagrees with the rubric sets up the wrong total, an option `hw2` does not have is an
error, a file that is not there sends them looking. So each quote is checked against its
source: points against autograder/rubric.toml, options against `hw2 COMMAND --help`, `make`
targets against the Makefile, file and module lists against the repository, Debian packages
against scripts/setup.sh, defaults against `Limits()`. The README stays a page a newcomer reads
to the end, and every page of docs/ is linked from it.
"""

from __future__ import annotations

import argparse
import re
import textwrap
import unicodedata
from functools import cache
from pathlib import Path

import pytest

from autograder import cli
from autograder.grade.student import MAX_RESTARTS
from autograder.rubric import load_rubric
from autograder.run.sandbox import Limits
from tests.conftest import REPO, TYPICAL_MISTAKES_AUTO

RUBRIC = load_rubric()
DOCS = REPO / "docs"
PAGES = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
NUM = r"(\d+(?:\.\d+)?)"


def text(page: str) -> str:
    """A page (README.md or docs/NAME.md) with its lines joined, as phrases span lines."""
    return " ".join((REPO / page).read_text(encoding="utf-8").split())


def name(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _total(question: str = "", kind: str = "") -> float:
    return sum(
        i.points
        for i in RUBRIC.items
        if (not question or i.question == question) and (not kind or i.kind == kind)
    )


# -- points ---------------------------------------------------------------------------------

MANUAL = _total(kind="manual")
Q3_FUNCTIONS = len([i for i in RUBRIC.items if i.question == "Q3"])
# phrase (one number captured) → (the page that holds the fact, what the rubric says it is).
PHRASES: dict[str, tuple[str, float]] = {
    rf"The homework is worth {NUM} points": ("README.md", RUBRIC.max_points),
    rf"Q1 backpropagation \({NUM}\)": ("README.md", _total("Q1")),
    rf"Q2 gradient descent \({NUM}\)": ("README.md", _total("Q2")),
    rf"Q3 the notebook's functions \({NUM}\)": ("README.md", _total("Q3")),
    rf"three questions \({NUM} points\)": ("docs/grading.md", RUBRIC.max_points),
    rf"{NUM} autograded points": ("docs/grading.md", RUBRIC.auto_points),
    rf"all {NUM} auto points": ("docs/grading.md", RUBRIC.auto_points),
    rf"{NUM} written ones": ("docs/grading.md", MANUAL),
    rf"the rest is written \({NUM} points\)": ("docs/grading.md", _total("Q1", "manual")),
    rf"Q1 and Q2 \({NUM} points\)": ("docs/grading.md", _total("Q1") + _total("Q2")),
    rf"Q3's {NUM} points": ("docs/grading.md", _total("Q3")),
    rf"split over the {NUM} functions": ("docs/grading.md", Q3_FUNCTIONS),
    **{rf"\*\*{q} \({NUM} points\)": ("docs/grading.md", _total(q)) for q in RUBRIC.questions},
    rf"Programming Assignment worth {NUM} points": ("docs/integrations.md", RUBRIC.max_points),
    rf"the autograder, worth {NUM} points": ("docs/integrations.md", RUBRIC.auto_points),
    rf"\(max {NUM}\)": ("docs/integrations.md", RUBRIC.auto_points),
    rf"written answers, worth {NUM}": ("docs/integrations.md", MANUAL),
    rf"Q3's {NUM} functions": ("docs/integrations.md", Q3_FUNCTIONS),
    rf"Q3's \d+ functions, {NUM}": ("docs/integrations.md", _total("Q3")),
}
ITEM = re.compile(rf"`(\w+)(?:\(\))?`(?:,| \(`\w+\(\)`,)? {NUM}")


@pytest.mark.parametrize("phrase", PHRASES)
def test_point_totals_are_the_rubrics(phrase):
    page, value = PHRASES[phrase]
    assert re.search(phrase, text(page)), f"{page} no longer says {phrase!r}: update this test"
    for p in PAGES:  # and no other page says otherwise
        quoted = [float(m) for m in re.findall(phrase, text(name(p)))]
        assert all(q == pytest.approx(value) for q in quoted), (name(p), phrase, quoted, value)


def test_item_points_are_the_rubrics():
    ids = {i.id for i in RUBRIC.items}
    outline = [m[1] for m in ITEM.finditer(text("docs/integrations.md")) if m[1] in ids]
    assert {i.id for i in RUBRIC.manual} <= set(outline), outline  # the Gradescope outline
    for p in PAGES:
        quoted = [(m[1], float(m[2])) for m in ITEM.finditer(text(name(p))) if m[1] in ids]
        wrong = [(i, q, RUBRIC.item(i).points) for i, q in quoted if q != RUBRIC.item(i).points]
        assert not wrong, f"{name(p)}: item points (item, quoted, rubric): {wrong}"


def test_q1_split_is_the_rubrics():
    m = re.search(r"Q1 is split (.*?)\. Q3", text("docs/grading.md"))
    assert m, "docs/grading.md no longer splits Q1's points: update this test"
    quoted = [float(n) for n in re.findall(rf"\b{NUM}\b", m[1])]
    assert quoted == [i.points for i in RUBRIC.items if i.question == "Q1"]


def test_the_typical_mistakes_score_is_the_tests():
    quoted = re.findall(
        rf"`TYPICAL_MISTAKES_AUTO` in `tests/conftest.py`: {NUM}", text("docs/assignment.md")
    )
    assert [float(q) for q in quoted] == [TYPICAL_MISTAKES_AUTO]


# -- defaults -------------------------------------------------------------------------------


def test_limits_quoted_are_the_defaults():
    """`--timeout`, `--memory` and the restarts, as docs/internals.md states them."""
    page = text("docs/internals.md")
    default = Limits()
    assert re.findall(rf"`--memory`, default {NUM} MB", page) == [str(default.memory_mb)]
    assert [float(t) for t in re.findall(rf"`--timeout`, default {NUM} s", page)] == [
        default.cell_timeout
    ]
    assert re.findall(rf"at most {NUM} times, `MAX_RESTARTS`", page) == [str(MAX_RESTARTS)]
    assert re.findall(rf"caps its processes at {NUM}", page) == [str(default.processes)]
    assert re.findall(rf"private `/tmp` of {NUM} MB", page) == [str(default.tmp_mb)]
    assert re.findall(rf"files of at most {NUM} MB each", page) == [str(default.file_mb)]


# -- command options ------------------------------------------------------------------------


@cache
def commands() -> dict[str, set[str]]:
    """`hw2 COMMAND` (and `hw2 bench WHICH`) → every option its --help shows."""
    found: dict[str, set[str]] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        found[prefix] = set(re.findall(r"--[a-z][a-z0-9-]*", parser.format_help()))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, p in action.choices.items():
                    walk(p, f"{prefix} {sub}")

    walk(cli.build_parser(), "hw2")
    return found


FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.M | re.S)  # in a list too
SPAN = re.compile(r"`([^`\n]+)`")
# Options of other tools the docs quote, each with the tool that has it.
OTHER_TOOLS = {
    "dask": {"--host", "--port", "--scheduler-file", "--protocol", "--nthreads", "--preload"},
    "make": set(),
    "pytest": {"--dist"},
    "apt-get": {"--no-install-recommends"},
    "jupyter": {"--to"},
    "otter": set(),
    "nbgrader": set(),
}
MAKE_ARGS = {"GRADE_ARGS": "hw2 grade", "REVIEW_ARGS": "hw2 review", "BENCH_ARGS": "hw2 bench run"}


def command_lines(page: str) -> list[str]:
    """Each code span, and each line of a code block with its continuation lines joined."""
    raw = (REPO / page).read_text(encoding="utf-8")
    lines = []
    for block in FENCE.findall(raw):
        block = textwrap.dedent(block)
        for line in re.sub(r"\\\n|\n(?=[ \t])", " ", block).splitlines():
            lines.append(line.split("#", 1)[0] if " # " in line or "  #" in line else line)
    prose = FENCE.sub("", raw)
    lines += SPAN.findall(" ".join(prose.split()))
    return lines


def command_of(line: str) -> str | None:
    """The deepest `hw2 …` command a line names (`hw2 bench run`, `hw2 grade`), if any."""
    best = None
    for cmd in commands():
        if re.search(rf"(^|[\s/]){re.escape(cmd)}(\s|$)", line) and len(cmd) > len(best or ""):
            best = cmd
    return best


@pytest.mark.parametrize("page", [name(p) for p in PAGES])
def test_options_of_hw2_commands_are_in_their_help(page):
    """An option on the same command line as `hw2 X` (or in `make`'s GRADE_ARGS, …) is in
    `hw2 X --help`; any other `--option` is some hw2 command's or a named tool's."""
    every = set().union(*commands().values()) | set().union(*OTHER_TOOLS.values())
    wrong = []
    for line in command_lines(page):
        for var, cmd in MAKE_ARGS.items():
            for args in re.findall(rf'{var}="([^"]*)"', line):
                wrong += [(cmd, o) for o in re.findall(r"--[a-z][a-z0-9-]*", args)
                          if o not in commands()[cmd]]  # fmt: skip
        line = re.sub(r'[A-Z_]+_ARGS="[^"]*"', "", line)
        cmd = command_of(line)
        for o in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", line):
            if cmd and line.lstrip().startswith(("hw2", ".venv/bin/hw2", cmd)):
                ok = o in commands()[cmd]
            else:
                ok = o in every
            if not ok:
                wrong.append((cmd or line[:40], o))
    prose = " ".join((REPO / page).read_text(encoding="utf-8").split())
    wrong += [("?", o) for o in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", prose) if o not in every]
    assert not wrong, f"{page}: options no command has: {sorted(set(wrong))}"


def test_the_options_check_can_fail():
    assert "--no-such-option" not in commands()["hw2 grade"]
    assert command_of(".venv/bin/hw2 grade SUBMISSION --out OUT") == "hw2 grade"
    assert command_of("hw2 bench run --n 100") == "hw2 bench run"


@cache
def makefile() -> tuple[set[str], set[str]]:
    """The Makefile's targets and variables."""
    raw = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", raw, re.M))
    variables = set(re.findall(r"^([A-Z_]+)\s*[?:]?=", raw, re.M))
    variables |= set(re.findall(r"\$\(([A-Z_]+)\)", raw))  # read, with no default (NB, PDF)
    return targets, variables


@pytest.mark.parametrize("page", [name(p) for p in PAGES])
def test_make_targets_and_variables_exist(page):
    targets, variables = makefile()
    wrong = []
    for line in command_lines(page):
        for m in re.finditer(r"(?:^|\s)make ([a-z][\w-]*)((?: \[?[A-Z_]+=[^\s\]]*\]?)*)", line):
            if m[1] not in targets:
                wrong.append(f"make {m[1]}")
            wrong += [v for v in re.findall(r"([A-Z_]+)=", m[2]) if v not in variables]
    assert not wrong, f"{page}: not in the Makefile: {wrong}"


# -- files ----------------------------------------------------------------------------------

TOP = ("autograder/", "tests/", "scripts/", "solutions/", "examples/", "assignment/", "bench/",
       "docs/", "requirements", ".ci/")  # fmt: skip


def _exists(path: str) -> bool:
    path = path.rstrip("/")
    if "*" in path:
        return any(REPO.glob(path))
    return (REPO / path).exists()


@pytest.mark.parametrize("page", [name(p) for p in PAGES])
def test_files_named_exist(page):
    raw = (REPO / page).read_text(encoding="utf-8")
    named = {
        s.split()[0].rstrip(".,;:")
        for s in SPAN.findall(FENCE.sub("", raw))
        if s.startswith(TOP) and "<" not in s and "…" not in s
    }
    assert named or page != "README.md"
    missing = sorted(p for p in named if not _exists(p))
    assert not missing, f"{page} names files that are not in the repository: {missing}"


def _links(page: Path) -> list[tuple[str, str]]:
    raw = page.read_text(encoding="utf-8")
    return re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", raw)


def _anchors(page: Path) -> set[str]:
    """GitHub's heading slugs: lower case, punctuation gone, spaces to hyphens."""
    slugs = set()
    for h in re.findall(r"^#+ (.*)$", FENCE.sub("", page.read_text(encoding="utf-8")), re.M):
        s = unicodedata.normalize("NFKC", h).lower()
        s = re.sub(r"[^\w\- ]", "", s).replace(" ", "-")
        slugs.add(s)
    return slugs


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_links_lead_somewhere(page):
    broken = []
    for target, anchor in _links(page):
        if target.startswith(("http://", "https://")):
            continue
        dest = (page.parent / target).resolve() if target else page
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(f"{target}#{anchor}")
    assert not broken, f"{name(page)}: broken links {broken}"


def test_readme_layout_table_is_the_repository():
    """Every path in the README's layout table exists, and every folder at the top is there."""
    raw = (REPO / "README.md").read_text(encoding="utf-8").split("## Layout", 1)[1]
    table = raw.split("\n## ", 1)[0]
    paths = re.findall(r"^\| `([^`]+)`", table, re.M)
    assert paths and all(_exists(p) for p in paths), paths
    folders = {p.name for p in REPO.iterdir() if p.is_dir() and not p.name.startswith(".")}
    folders -= {"out", "__pycache__"}
    listed = {p.split("/")[0] for p in paths}
    assert folders <= listed, f"top-level folders missing from the table: {folders - listed}"


def test_module_tree_is_the_package():
    """docs/internals.md's tree of autograder/ names only what exists, and every subpackage."""
    tree = FENCE.findall((DOCS / "internals.md").read_text(encoding="utf-8"))[0]
    named, parents = set(), {}
    for line in tree.splitlines():
        m = re.match(r"^( *)(\S+)", line)
        if not m or m[2] == "autograder/" or len(m[1]) > 4:  # deeper: a comment's next line
            continue
        depth = len(m[1]) // 2
        entry = m[2]
        parents[depth] = entry
        path = (
            entry
            if depth <= 0
            else "autograder/" + "".join(parents[d] for d in range(1, depth)) + entry
        )
        if depth > 0:
            named.add(path.rstrip("/"))
    missing = sorted(p for p in named if not _exists(p))
    assert not missing, f"docs/internals.md names modules that are not there: {missing}"
    packages = {
        "autograder/" + p.parent.relative_to(REPO / "autograder").as_posix()
        for p in (REPO / "autograder").glob("*/__init__.py")
    }
    assert packages <= named, f"subpackages the tree leaves out: {packages - named}"


@cache
def apt_packages() -> set[str]:
    raw = (REPO / "scripts" / "setup.sh").read_text(encoding="utf-8")
    found: set[str] = set()
    for group in re.findall(r"APT_PACKAGES\+?=\(([^)]*)\)", raw):
        found |= set(group.split())
    found |= set(re.findall(r"APT_PACKAGES\+=\((\w+)\)", raw))
    return found


def test_setup_packages_are_the_set_ups():
    """docs/setup.md names exactly the Debian packages scripts/setup.sh installs, and the
    runtimes' Python packages as their requirements files pin them."""
    page = (DOCS / "setup.md").read_text(encoding="utf-8")
    named = {s for s in SPAN.findall(page) if re.fullmatch(r"[a-z][a-z0-9.+-]+", s)}
    debian = named & apt_packages()
    assert debian == apt_packages(), f"not in docs/setup.md: {apt_packages() - debian}"

    def pinned(req: str) -> set[str]:
        lines = (REPO / req).read_text(encoding="utf-8").splitlines()
        return {re.split(r"[=<>\[ ]", ln)[0].lower() for ln in lines if ln and ln[0].isalpha()}

    joined = " ".join(page.split())
    for req in ("requirements-sandbox.txt", "requirements-pdf.txt", "requirements-test.txt"):
        m = re.search(rf"\(([^()`]*?),? `{req}`\)|`{req}` in `\.venv` \(([^)]*)\)", joined)
        assert m, f"docs/setup.md no longer lists {req}'s packages: update this test"
        listed = {
            w.lower() for w in re.findall(r"[A-Za-z][\w-]*", (m[1] or m[2]).replace(" only", ""))
        }
        listed -= {"and"}
        assert listed <= pinned(req), (req, listed - pinned(req))
    sandbox = re.search(r"\(([^()`]*) only, `requirements-sandbox.txt`\)", joined)
    assert sandbox and {w.lower() for w in re.findall(r"\w+", sandbox[1])} - {"and"} == pinned(
        "requirements-sandbox.txt"
    )


# -- the pages ------------------------------------------------------------------------------


def test_readme_is_a_page_a_newcomer_reads():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, len(lines)
    first = "\n".join(lines[:40])
    assert "make grade" in first and "make test" in first
    assert "(#for-students)" in first and "(#grade-a-class)" in first
    students = "\n".join(lines).split("## For students", 1)[1].split("\n## ", 1)[0]
    assert len(students.strip().splitlines()) <= 18  # 15 of instructions, and the link on


def test_every_docs_page_is_linked_from_the_readme():
    linked = {t for t, _ in _links(REPO / "README.md")}
    pages = {f"docs/{p.name}" for p in DOCS.glob("*.md")}
    assert pages <= linked, f"docs pages the README does not link: {sorted(pages - linked)}"


def test_students_make_their_pdf_one_way():
    """One route for a student's PDF, the same wherever students are told (the README, the
    student guide, the notebook's introduction); `make pdf` is the instructors'."""
    from autograder import STUDENT_NB
    from tests.notebooks import read

    route, others = "File → Print → Save as PDF", ("nbconvert", "make pdf", "hw2 pdf")
    readme = text("README.md").split(" ## For students ", 1)[1].split(" ## ", 1)[0]
    intro = " ".join(read(STUDENT_NB).cells[0].source.split())
    for where, said in (
        ("README.md, For students", readme),
        ("docs/students.md", text("docs/students.md")),
        ("the notebook's introduction", intro),
    ):
        assert route in said, where
        assert not any(r in said for r in others), where
    graded = text("docs/pdf.md")
    assert "make pdf" in graded and "**Students** export" not in graded
    assert "print their PDF as [the student guide](students.md) says" in graded


# -- counts ---------------------------------------------------------------------------------


def test_counts_quoted_are_the_suites():
    """How many mutations, corpus answers and hostile cases docs/testing.md says there are."""
    from tests.corpus import SUBMISSIONS as CORPUS
    from tests.mutations import MUTATIONS

    page = text("docs/testing.md")
    hostile = [p for p in (REPO / "tests" / "hostile").glob("*.py") if p.stem != "__init__"]
    for phrase, count in {
        rf"{NUM} common mistakes": len(MUTATIONS),
        rf"{NUM} differently written correct submissions": len(CORPUS),
        rf"grades {NUM} attack and fault submissions": len(hostile),
    }.items():
        assert [int(n) for n in re.findall(phrase, page)] == [count], phrase
