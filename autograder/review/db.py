"""The manual-grading store: OUT/review.sqlite, the single source of truth for written grades.

It holds the written answers (read once from the notebooks), the rubric items of
each written item, which items are applied to which answer, the comments, and a
version per answer. Every change is one SQLite transaction (WAL, synchronous=FULL),
committed before the server answers, so a SIGKILL loses nothing acknowledged.

A written item's score is its override (a number typed into manual.csv by hand),
else the sum of the points of its applied rubric items clamped to 0 … max:

    score = min(max(Σ applied points, 0), item points)

OUT/manual.csv is exported after every change (with report.manual's writer). Before
any change, and at start, the file is compared with the last export: a cell whose
value differs both from the last export and from the store was edited by hand, and
is imported as an override (a blank withdraws the grade; the rubric items and the
comment are kept). A hand-edited file that report.manual refuses (bad value, unknown
column) stops the change with the line named, and is never overwritten.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.files import make_private
from autograder.grade.outcome import SubmissionResult
from autograder.inert import counted, from_csv_cell
from autograder.report.manual import ManualGradesError, read_manual, write_manual_template
from autograder.rubric import Item, Rubric

if TYPE_CHECKING:
    from autograder.review.render import Answer

DB_NAME = "review.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS students(
    student TEXT PRIMARY KEY, auto REAL NOT NULL, status TEXT NOT NULL,
    source TEXT NOT NULL, signature TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers(
    id INTEGER PRIMARY KEY, student TEXT NOT NULL, item TEXT NOT NULL,
    source TEXT NOT NULL, problem TEXT NOT NULL, natural_group TEXT NOT NULL,
    grp TEXT NOT NULL, figure BLOB, UNIQUE(student, item));
CREATE INDEX IF NOT EXISTS answers_group ON answers(item, grp);
CREATE TABLE IF NOT EXISTS attachments(
    answer_id INTEGER NOT NULL, position INTEGER NOT NULL, name TEXT NOT NULL,
    mime TEXT NOT NULL, size INTEGER NOT NULL, data BLOB, PRIMARY KEY(answer_id, position));
CREATE TABLE IF NOT EXISTS rubric(
    id INTEGER PRIMARY KEY, item TEXT NOT NULL, position INTEGER NOT NULL,
    points REAL NOT NULL, text TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1,
    deleted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS grades(
    student TEXT NOT NULL, item TEXT NOT NULL, graded INTEGER NOT NULL DEFAULT 0,
    comment TEXT NOT NULL DEFAULT '', override REAL, version INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL DEFAULT 0, PRIMARY KEY(student, item));
CREATE INDEX IF NOT EXISTS grades_item ON grades(item, student, graded);
CREATE TABLE IF NOT EXISTS applied(
    student TEXT NOT NULL, item TEXT NOT NULL, rubric_id INTEGER NOT NULL,
    PRIMARY KEY(student, item, rubric_id));
CREATE TABLE IF NOT EXISTS log(id INTEGER PRIMARY KEY, at REAL NOT NULL, what TEXT NOT NULL);
"""
MAX_COMMENT = 5000
MAX_RUBRIC_TEXT = 500
NO_ANSWER = "no answer"


class Stale(Exception):
    """A change based on an out-of-date view: someone else saved first."""


class Refused(Exception):
    """A change that cannot be made (bad value, unknown item, a hand-edited CSV that is invalid)."""


@dataclass
class Grade:
    """The manual grade of one answer, as the page shows it."""

    student: str
    item: str
    graded: bool = False
    comment: str = ""
    override: float | None = None
    version: int = 0
    applied: list[int] = field(default_factory=list)
    score: float | None = None


def clamp(x: float, top: float) -> float:
    return round(min(max(x, 0.0), top), 6)


def load_results(out: Path) -> dict[str, tuple[str, SubmissionResult]]:
    """student → (cache key, result) from OUT/.state, as `grade` left them."""
    found = {}
    for path in sorted((out / ".state").glob("*.json")):
        try:
            data = json.loads(path.read_text())
            found[path.stem] = (str(data["key"]), SubmissionResult.from_json(data["result"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a damaged entry: `grade` regrades it, review skips it
    return found


def _resolve(source: str, out: Path) -> Path:
    p = Path(source)
    if p.is_absolute():
        return p
    for base in (Path.cwd(), out.resolve().parent):
        if os.path.lexists(base / p):  # the entry itself: a link is not followed here either
            return base / p
    return p


# Part of every notebook's signature: a change in how answers are found re-reads them all.
FINDING = "regions-1"


def _signature(path: Path, result: SubmissionResult) -> str:
    """What the answers were read from: the entry itself (lstat: a link is never followed,
    a FIFO never opened) and grading's verdict on it, so a row grading refused and later
    graded (or the reverse) is read again."""
    try:
        st = os.lstat(path)
        entry = f"{st.st_mode:o}|{st.st_size}|{st.st_mtime_ns}"
    except OSError:
        entry = "missing"
    return f"{FINDING}|{path}|{entry}|{result.refused}"


class Store:
    """One SQLite connection behind a lock: every method is one transaction."""

    def __init__(self, out: Path, rubric: Rubric) -> None:
        self.out, self.rubric = out, rubric
        self.items = {i.id: i for i in rubric.manual}
        self.path = out / DB_NAME
        self.csv_path = out / "manual.csv"
        self._lock = threading.RLock()
        self.changed_answers: list[str] = []  # graded answers whose notebook changed since
        self.loaded_stamp: int | None = None  # OUT/.state as the last load saw it
        # SQLite makes its database 0644 less the umask, and its -wal and -shm files with
        # the database's mode: so the database is made private first (an older one too).
        make_private(self.path)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        for suffix in ("-wal", "-shm"):  # opened by an older version, with a wider mode
            if (side := self.path.with_name(self.path.name + suffix)).exists():
                make_private(side)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def _log(self, db: sqlite3.Connection, what: str) -> None:
        db.execute("INSERT INTO log(at, what) VALUES (?, ?)", (time.time(), what[:2000]))

    # -- loading --------------------------------------------------------------------------
    def load(self, log: Any = print) -> None:
        """Read OUT/.state and the notebooks (only those changed since the last start),
        seed the rubric items from the instructor notebook, then reconcile manual.csv."""
        # Imported here: `grade` reads feedback through this module without the web libraries.
        from autograder.review.render import model_answers, read_answers

        self.loaded_stamp = self.state_stamp()  # before reading: a write during it shows next
        self.changed_answers = []
        results = load_results(self.out)
        if not results:
            raise Refused(f"{self.out}: no graded submissions (run `make grade` first)")
        models = model_answers()
        with self.tx() as db:
            for item in self.items:
                if db.execute("SELECT 1 FROM rubric WHERE item=?", (item,)).fetchone() is None:
                    seed = models.get(item)
                    for pos, (pts, text) in enumerate(seed.rubric_items if seed else []):
                        db.execute(
                            "INSERT INTO rubric(item, position, points, text) VALUES (?,?,?,?)",
                            (item, pos, pts, text[:MAX_RUBRIC_TEXT]),
                        )
        known = {r["student"]: r["signature"] for r in self.q("SELECT * FROM students")}
        changed = 0
        todo = list(results.items())
        for start in range(0, len(todo), 50):  # one transaction (one fsync) per 50 notebooks
            read = []
            for student, (_, result) in todo[start : start + 50]:
                path = _resolve(result.source, self.out)
                sig = _signature(path, result)
                answers = (
                    None
                    if known.get(student) == sig
                    else read_answers(path, list(self.items), result.refused)
                )
                read.append((student, result, path, sig, answers))
            with self.tx() as db:
                for student, result, path, sig, answers in read:
                    auto = result.auto_total(self.rubric)
                    if answers is None:  # same notebook: only its auto points may differ
                        db.execute("UPDATE students SET auto=?, status=? WHERE student=?",
                                   (auto, result.status, student))  # fmt: skip
                        continue
                    db.execute(
                        "INSERT OR REPLACE INTO students VALUES (?,?,?,?,?)",
                        (student, auto, result.status, str(path), sig),
                    )
                    for item, ans in answers.items():
                        self._put_answer(db, student, item, ans)
                    changed += 1
        if changed:
            log(f"read the written answers of {counted(changed, 'notebook')}")
        if self.changed_answers:
            log(f"{len(self.changed_answers)} graded answers changed in a new notebook and are "
                f"marked not graded (rubric items and comments kept): "
                + ", ".join(self.changed_answers))  # fmt: skip
        self.reconcile_csv(log)  # hand edits first, then the file reflects the store
        self.export_csv()

    def state_stamp(self) -> int:
        """Changes whenever `grade` writes OUT/.state: it renames each result into place
        (files.write_atomic), a new inode every time, so the folder's (name, inode) pairs
        change even within one tick of the file-system clock. One readdir, no stat."""
        try:
            with os.scandir(self.out / ".state") as entries:
                return hash(tuple(sorted((e.name, e.inode()) for e in entries)))
        except OSError:
            return 0

    def refresh(self, log: Any = print) -> bool:
        """Load again if `grade` wrote OUT/.state since the last load (a late regrade):
        a running server then shows the new answers, and a graded answer that changed
        is marked not graded and blank in manual.csv, as at a start. Cheap otherwise
        (one stat). Returns whether it loaded."""
        with self._lock:
            if self.state_stamp() == self.loaded_stamp:
                return False
            self.load(log)
            return True

    def _put_answer(self, db: sqlite3.Connection, student: str, item: str, ans: Answer) -> None:
        key = ans.group_key()  # "not found" for a problem: never in the unanswered group
        old = db.execute(
            "SELECT id, natural_group FROM answers WHERE student=? AND item=?", (student, item)
        ).fetchone()
        if old:
            db.execute("DELETE FROM attachments WHERE answer_id=?", (old["id"],))
            db.execute("DELETE FROM answers WHERE id=?", (old["id"],))
            # A resubmitted answer is graded again; its rubric items and comment are kept.
            changed = db.execute(
                "UPDATE grades SET graded=0, override=NULL, version=version+1 "
                "WHERE student=? AND item=? AND graded=1 AND ?",
                (student, item, old["natural_group"] != key),
            )
            if changed.rowcount:
                self._log(db, f"{student}'s answer to {item} changed: marked not graded")
                self.changed_answers.append(f"{student} {item}")
        cur = db.execute(
            "INSERT INTO answers(student, item, source, problem, natural_group, grp, figure) "
            "VALUES (?,?,?,?,?,?,?)",
            (student, item, ans.source, ans.problem, key, key, ans.figure),
        )
        for pos, a in enumerate(ans.attachments):
            db.execute(
                "INSERT INTO attachments VALUES (?,?,?,?,?,?)",
                (cur.lastrowid, pos, a.name, a.mime, a.size, a.data),
            )
        db.execute("INSERT OR IGNORE INTO grades(student, item) VALUES (?, ?)", (student, item))

    # -- reading --------------------------------------------------------------------------
    def students(self) -> list[str]:
        return [r[0] for r in self.q("SELECT student FROM students ORDER BY student")]

    def rubric_items(self, item: str) -> list[dict[str, Any]]:
        rows = self.q(
            "SELECT id, points, text, version FROM rubric WHERE item=? AND deleted=0 "
            "ORDER BY position, id",
            (item,),
        )
        return [dict(r) for r in rows]

    def q(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        """A read, under the lock: never interleaved with another thread's transaction."""
        with self._lock:
            return self.db.execute(sql, args).fetchall()

    def _scores(
        self, student: str | None = None, item: str | None = None
    ) -> dict[tuple[str, str], Grade]:
        conds = [c for c, v in (("g.student=?", student), ("g.item=?", item)) if v is not None]
        where = ("WHERE " + " AND ".join(conds)) if conds else ""
        args = tuple(v for v in (student, item) if v is not None)
        grades: dict[tuple[str, str], Grade] = {}
        for r in self.q(f"SELECT * FROM grades g {where}", args):
            grades[r["student"], r["item"]] = Grade(
                r["student"], r["item"], bool(r["graded"]), r["comment"], r["override"],
                r["version"],
            )  # fmt: skip
        sums: dict[tuple[str, str], float] = {}
        rows = self.q(
            "SELECT g.student, g.item, g.rubric_id, r.points FROM applied g "
            f"JOIN rubric r ON r.id = g.rubric_id AND r.deleted = 0 {where} "
            "ORDER BY r.position, r.id",
            args,
        )
        for r in rows:
            key = (r["student"], r["item"])
            if key in grades:
                grades[key].applied.append(r["rubric_id"])
                sums[key] = sums.get(key, 0.0) + r["points"]
        for key, g in grades.items():
            if g.graded and g.item in self.items:
                top = self.items[g.item].points
                g.score = clamp(g.override if g.override is not None else sums.get(key, 0), top)
        return grades

    def grade(self, student: str, item: str) -> Grade:
        g = self._scores(student, item).get((student, item))
        if g is None:
            raise Refused(f"no answer of {student!r} for {item!r}")
        return g

    def scores(self) -> dict[str, dict[str, float]]:
        """student → {item → points} for every graded answer (what manual.csv holds)."""
        out: dict[str, dict[str, float]] = {s: {} for s in self.students()}
        for (student, item), g in self._scores().items():
            if g.score is not None:
                out.setdefault(student, {})[item] = g.score
        return out

    def answer(self, student: str, item: str) -> sqlite3.Row:
        rows = self.q("SELECT * FROM answers WHERE student=? AND item=?", (student, item))
        row = rows[0] if rows else None
        if row is None:
            raise Refused(f"no answer of {student!r} for {item!r}")
        return row

    def attachments(self, answer_id: int) -> list[sqlite3.Row]:
        return self.q(
            "SELECT position, name, mime, size, data IS NOT NULL AS shown FROM attachments "
            "WHERE answer_id=? ORDER BY position",
            (answer_id,),
        )

    def attachment(self, answer_id: int, position: int) -> sqlite3.Row | None:
        rows = self.q(
            "SELECT mime, data FROM attachments WHERE answer_id=? AND position=?",
            (answer_id, position),
        )
        return rows[0] if rows else None

    def group_members(self, item: str, grp: str) -> list[str]:
        rows = self.q(
            "SELECT student FROM answers WHERE item=? AND grp=? ORDER BY student", (item, grp)
        )
        return [r[0] for r in rows]

    def group_versions(self, item: str, grp: str) -> dict[str, int]:
        """student → version of every answer in a group: what a group grade must match."""
        rows = self.q(
            "SELECT g.student, g.version FROM answers a JOIN grades g "
            "ON g.student = a.student AND g.item = a.item WHERE a.item=? AND a.grp=? "
            "ORDER BY g.student",
            (item, grp),
        )
        return {r[0]: r[1] for r in rows}

    def progress(self) -> dict[str, tuple[int, int]]:
        """item → (graded answers, answers)."""
        rows = self.q("SELECT item, SUM(graded), COUNT(*) FROM grades GROUP BY item")
        found = {r[0]: (int(r[1] or 0), int(r[2])) for r in rows}
        return {i: found.get(i, (0, 0)) for i in self.items}

    def overview(self) -> list[dict[str, Any]]:
        scores = self.scores()
        rows = []
        for r in self.q("SELECT student, auto, status FROM students ORDER BY student"):
            manual = scores.get(r["student"], {})
            m = round(sum(manual.values()), 6) if manual else None
            rows.append({
                "student": r["student"], "auto": r["auto"], "status": r["status"],
                "manual": m, "graded": len(manual), "total": round(r["auto"] + (m or 0), 6),
            })  # fmt: skip
        return rows

    def feedback(self) -> dict[str, dict[str, dict[str, Any]]]:
        """student → item → {score, rubric: [texts of applied items], comment}, graded only."""
        texts = {r["id"]: r for r in self.q("SELECT id, points, text FROM rubric")}
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for (student, item), g in self._scores().items():
            if g.score is None:
                continue
            applied = [f"{texts[i]['text']} ({texts[i]['points']:+g})" for i in g.applied]
            found.setdefault(student, {})[item] = {
                "score": g.score,
                "rubric": [] if g.override is not None else applied,
                "comment": g.comment,
            }
        return found

    # -- changing -------------------------------------------------------------------------
    def _check(self, item: str) -> Item:
        if item not in self.items:
            raise Refused(f"unknown written item {item!r}")
        return self.items[item]

    def set_grade(
        self,
        item: str,
        versions: dict[str, int],
        applied: list[int],
        comment: str,
        who: str = "",
    ) -> list[str]:
        """Give every answer in ``versions`` (one, or a whole group) the same rubric items and
        comment. Refused as Stale if any of them changed since the view that sent it."""
        self._check(item)
        if not versions:
            raise Refused("no answer named")
        comment = str(comment)[:MAX_COMMENT]
        self.reconcile_csv()
        with self.tx() as db:
            valid = {r["id"] for r in db.execute(
                "SELECT id FROM rubric WHERE item=? AND deleted=0", (item,))}  # fmt: skip
            bad = [i for i in applied if i not in valid]
            if bad:
                raise Stale(f"rubric item(s) {bad} no longer exist")
            for student, version in versions.items():
                row = db.execute(
                    "SELECT version FROM grades WHERE student=? AND item=?", (student, item)
                ).fetchone()
                if row is None:
                    raise Refused(f"no answer of {student!r} for {item!r}")
                if row["version"] != version:
                    raise Stale(f"{student}'s answer was changed by someone else")
            for student in versions:
                db.execute(
                    "UPDATE grades SET graded=1, comment=?, override=NULL, version=version+1, "
                    "updated=? WHERE student=? AND item=?",
                    (comment, time.time(), student, item),
                )
                db.execute("DELETE FROM applied WHERE student=? AND item=?", (student, item))
                db.executemany(
                    "INSERT INTO applied VALUES (?,?,?)", [(student, item, i) for i in applied]
                )
            self._log(db, f"{who} graded {item} of {sorted(versions)}: {applied} {comment!r}")
        self.export_csv()
        return list(versions)

    def give_unanswered_zero(
        self, item: str, versions: dict[str, int], who: str = ""
    ) -> tuple[list[str], list[str]]:
        """0 points and the comment NO_ANSWER for each answer in ``versions`` that has no
        student content anywhere in its region; (given, skipped). An answer with content,
        or one not found in its notebook, is skipped: it is never zeroed unseen."""
        self._check(item)
        rows = self.q(
            "SELECT student, natural_group FROM answers WHERE item=? AND student IN "
            "(SELECT value FROM json_each(?))",
            (item, json.dumps(sorted(versions))),
        )
        empty = {r["student"] for r in rows if r["natural_group"] == "unanswered"}
        given = {s: v for s, v in versions.items() if s in empty}
        skipped = sorted(set(versions) - set(given))
        if given:
            self.set_grade(item, given, [], NO_ANSWER, who)
        return sorted(given), skipped

    def ungrade(self, item: str, versions: dict[str, int], who: str = "") -> None:
        """Mark answers not graded again (their rubric items and comment are kept)."""
        self._check(item)
        self.reconcile_csv()
        with self.tx() as db:
            for student, version in versions.items():
                row = db.execute("SELECT version FROM grades WHERE student=? AND item=?",
                                 (student, item)).fetchone()  # fmt: skip
                if row is None or row["version"] != version:
                    raise Stale(f"{student}'s answer was changed by someone else")
            for student in versions:
                db.execute("UPDATE grades SET graded=0, override=NULL, version=version+1 "
                           "WHERE student=? AND item=?", (student, item))  # fmt: skip
            self._log(db, f"{who} ungraded {item} of {sorted(versions)}")
        self.export_csv()

    def split(self, item: str, student: str) -> None:
        """Take one answer out of its group: it is graded on its own from now on."""
        self._check(item)
        with self.tx() as db:
            db.execute(
                "UPDATE answers SET grp = natural_group || ':' || student "
                "WHERE item=? AND student=?",
                (item, student),
            )
            self._log(db, f"split {student} off in {item}")

    def save_rubric_item(
        self, item: str, rubric_id: int | None, points: float, text: str, version: int | None
    ) -> int:
        """Create or edit a rubric item. Editing its points re-scores every answer it is
        applied to (scores are computed from the applications, never stored)."""
        top = self._check(item).points
        text = " ".join(str(text).split())[:MAX_RUBRIC_TEXT]
        if not text:
            raise Refused("a rubric item needs a text")
        if not (-top <= points <= top):
            raise Refused(f"points must be between {-top:g} and {top:g}")
        self.reconcile_csv()
        with self.tx() as db:
            if rubric_id is None:
                pos = db.execute("SELECT COALESCE(MAX(position)+1, 0) FROM rubric WHERE item=?",
                                 (item,)).fetchone()[0]  # fmt: skip
                cur = db.execute(
                    "INSERT INTO rubric(item, position, points, text) VALUES (?,?,?,?)",
                    (item, pos, points, text),
                )
                rubric_id = int(cur.lastrowid or 0)
            else:
                row = db.execute("SELECT version FROM rubric WHERE id=? AND item=? AND deleted=0",
                                 (rubric_id, item)).fetchone()  # fmt: skip
                if row is None or row["version"] != version:
                    raise Stale("this rubric item was changed by someone else")
                db.execute(
                    "UPDATE rubric SET points=?, text=?, version=version+1 WHERE id=?",
                    (points, text, rubric_id),
                )
            self._log(db, f"rubric item {rubric_id} of {item}: {points:g} {text!r}")
        self.export_csv()
        return rubric_id

    def delete_rubric_item(self, item: str, rubric_id: int, version: int) -> None:
        self._check(item)
        self.reconcile_csv()
        with self.tx() as db:
            row = db.execute("SELECT version FROM rubric WHERE id=? AND item=? AND deleted=0",
                             (rubric_id, item)).fetchone()  # fmt: skip
            if row is None or row["version"] != version:
                raise Stale("this rubric item was changed by someone else")
            db.execute("UPDATE rubric SET deleted=1, version=version+1 WHERE id=?", (rubric_id,))
            self._log(db, f"deleted rubric item {rubric_id} of {item}")
        self.export_csv()

    # -- manual.csv -----------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        rows = self.q("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0][0] if rows else None

    def export_csv(self) -> None:
        """Write manual.csv from the store, then remember what was written. Rows of students
        not in the store (typed by hand, or graded in another run) are kept as they are."""
        with self._lock:
            students, grades = self.students(), self.scores()
            try:
                entered = read_manual(self.csv_path, self.rubric)
            except ManualGradesError as exc:
                raise Refused(f"manual.csv cannot be read: {exc}; nothing was changed") from None
            known = set(students)
            grades |= {s: g for s, g in entered.items() if s not in known}
            write_manual_template(self.csv_path, self.rubric, students, grades)
            text = self.csv_path.read_text(encoding="utf-8")
            with self.tx() as db:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('last_export', ?)", (text,))

    def reconcile_csv(self, log: Any = None) -> list[str]:
        """Import hand edits of manual.csv made since the last export (see the module doc).

        Returns one line per imported cell. Raises Refused, naming the line, for a file
        that report.manual refuses; the file is then left as it is."""
        with self._lock:
            last = self._meta("last_export")
            try:
                now = self.csv_path.read_text(encoding="utf-8-sig")
            except FileNotFoundError:
                now = None
            except (OSError, UnicodeDecodeError) as exc:
                raise Refused(f"{self.csv_path}: cannot be read ({exc})") from None
            if now is None:
                self.export_csv()
                return []
            if now == last:
                return []
            students = set(self.students())
            try:
                typed = read_manual(self.csv_path, self.rubric)
            except ManualGradesError as exc:
                raise Refused(
                    f"manual.csv was edited by hand and cannot be imported: {exc}. Fix that "
                    "line (or delete the file to export the grades from the review database); "
                    "nothing was changed."
                ) from None
            before = _parse_csv(last) if last is not None else {}
            current = self.scores()
            imported = []
            with self.tx() as db:
                for student, row in _parse_csv(now).items():
                    if student not in students:
                        continue
                    for item in self.items:
                        if item not in row:
                            continue
                        was = before.get(student, {}).get(item)
                        value = typed.get(student, {}).get(item)
                        if row[item] == was or value == current.get(student, {}).get(item):
                            continue
                        if value is None:
                            db.execute(
                                "UPDATE grades SET graded=0, override=NULL, version=version+1 "
                                "WHERE student=? AND item=?",
                                (student, item),
                            )
                        else:
                            db.execute(
                                "UPDATE grades SET graded=1, override=?, version=version+1, "
                                "updated=? WHERE student=? AND item=?",
                                (value, time.time(), student, item),
                            )
                        line = f"{student} {item}: {was or 'blank'} → {row[item] or 'blank'}"
                        imported.append(line)
                        self._log(db, f"imported from manual.csv: {line}")
            if imported and log:
                log(f"imported {len(imported)} hand edits of manual.csv: " + "; ".join(imported))
        self.export_csv()
        return imported


def _parse_csv(text: str) -> dict[str, dict[str, str]]:
    """student id (as written before csv_cell guarded it) → {column → cell text}."""
    rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    return {
        from_csv_cell((r.get("student") or "").strip()): {
            k: (v or "").strip() for k, v in r.items() if k
        }
        for r in rows
    }


def read_feedback(
    out: Path, rubric: Rubric, manual: dict[str, dict[str, float]]
) -> dict[str, dict[str, dict[str, Any]]]:
    """For the reports of `grade`: student → item → {rubric, comment} from OUT/review.sqlite,
    for every written grade whose points agree with manual.csv (the points `grade` merges).
    A grade typed by hand into manual.csv after the last review session has no detail."""
    if not (out / DB_NAME).exists():
        return {}
    store = Store(out, rubric)
    try:
        found = store.feedback()
    finally:
        store.close()
    return {
        student: {
            item: {"rubric": d["rubric"], "comment": d["comment"]}
            for item, d in items.items()
            if (d["rubric"] or d["comment"])
            and math.isclose(
                manual.get(student, {}).get(item, math.nan), d["score"], rel_tol=1e-5, abs_tol=1e-6
            )
        }
        for student, items in found.items()
    }
