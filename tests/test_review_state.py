"""The review store's files on disk: private whatever the umask, and fresh after a regrade."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import stat

from autograder.bench.review_class import make_out
from autograder.review.db import DB_NAME, Store
from autograder.rubric import load_rubric

RUBRIC = load_rubric()


def _modes(out) -> dict[str, int]:
    return {
        p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir() if p.name.startswith(DB_NAME)
    }


def test_the_database_and_its_wal_and_shm_are_0640_whatever_the_umask(tmp_path):
    out = make_out(tmp_path / "out", {"ann": {"q2_gradient": "mine"}})
    old = os.umask(0o022)
    try:
        store = Store(out, RUBRIC)
        store.load(log=lambda m: None)
        modes = _modes(out)
        store.close()
        # A database left by an older version, world-readable: made private on the next start.
        os.chmod(out / DB_NAME, 0o644)
        again = Store(out, RUBRIC)
        again.load(log=lambda m: None)
        modes_again = _modes(out)
        again.close()
    finally:
        os.umask(old)
    assert set(modes) == {DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"}, modes
    assert set(modes.values()) == {0o640}, {k: oct(v) for k, v in modes.items()}
    assert set(modes_again.values()) == {0o640}, {k: oct(v) for k, v in modes_again.items()}
    with sqlite3.connect(out / DB_NAME) as db:  # still a sound database
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_running_server_notices_a_late_regrade(tmp_path):
    """`grade` rewrites OUT/.state while `review` runs: the next request shows the new
    answer, the changed grade is marked not graded, and manual.csv (hence grades.csv after
    the export) no longer carries its old points."""
    from starlette.testclient import TestClient

    from autograder.bench.review_class import notebook
    from autograder.grade.cache import ResultCache
    from autograder.review.db import load_results
    from autograder.review.export import export
    from autograder.review.server import create_app

    out = make_out(tmp_path / "out", {"ann": {"q2_gradient": "old answer"}, "bob": {}})
    store = Store(out, RUBRIC)
    store.load(log=lambda m: None)
    rid = store.rubric_items("q2_gradient")[0]["id"]
    store.set_grade("q2_gradient", {"ann": 0}, [rid], "")
    client = TestClient(create_app(store, "s3cret", {"testserver"}), follow_redirects=False)
    client.get("/?token=s3cret")
    assert "old answer" in client.get("/item/q2_gradient/ann").text
    stale = client.get("/api/state/q2_gradient/ann").json()
    assert stale["graded"]
    # The late regrade, as `grade` does it: a new notebook, then its result put in the cache.
    key, result = load_results(out)["ann"]
    (out / "submissions" / "ann.ipynb").write_text(
        json.dumps(notebook({"q2_gradient": "a new answer"})), encoding="utf-8"
    )
    ResultCache(out).put("ann", key + "-regraded", result)
    assert "a new answer" in client.get("/item/q2_gradient/ann").text
    fresh = client.get("/api/state/q2_gradient/ann").json()
    assert not fresh["graded"] and fresh["applied"] == [rid]
    rows = {r["student"]: r for r in csv.DictReader(open(out / "manual.csv"))}
    assert rows["ann"]["q2_gradient"] == ""
    # A save from the page loaded before the regrade is refused, not applied to the new answer.
    r = client.post(
        "/api/grade",
        json={"item": "q2_gradient", "versions": stale["versions"], "applied": [rid]},
        headers={"origin": "http://testserver"},
    )
    assert r.status_code == 409
    store.close()
    export(out, rubric=RUBRIC)
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert rows["ann"]["q2_gradient"] == ""
