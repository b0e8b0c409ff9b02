"""`review`, without a browser: rendering and sanitising, the store, manual.csv, the guard,
and the export into grades.csv / results.json. tests/test_review_browser.py drives the pages."""

from __future__ import annotations

import csv
import json
import os
import sqlite3

import pytest

from autograder.bench.review_class import PNG, make_out, png_attachment
from autograder.cells import grade_id
from autograder.inert import from_csv_cell
from autograder.review.db import NO_ANSWER, Refused, Stale, Store, read_feedback
from autograder.review.render import Answer, model_answers, normalise, render_markdown
from autograder.rubric import load_rubric
from tests.reviewing import ReviewServer, answer_section, review_export_bounded

RUBRIC = load_rubric()


# -- rendering -------------------------------------------------------------------------------
def test_markdown_renders_math_tables_and_attachments():
    html = render_markdown(
        "Then $a<b$ and\n\n$$\\frac{\\partial L}{\\partial W_1}$$\n\n| x | y |\n|---|---|\n"
        "| 1 | 2 |\n\n![photo](attachment:p.png)",
        {"p.png": "/att/3/0"},
    )
    assert '<span class="math inline">a&lt;b</span>' in html
    assert '<div class="math block">' in html and "\\frac{\\partial L}" in html
    assert "<table>" in html and "<td>2</td>" in html
    assert '<img src="/att/3/0" alt="photo">' in html


@pytest.mark.parametrize(
    "hostile, banned",
    [
        ("<script>window.pwned=1</script>", ["<script", "pwned"]),
        ('<img src=x onerror="window.pwned=1">', ["onerror", "src="]),
        ('<a href="javascript:window.pwned=1">x</a>', ["javascript"]),
        ("[x](javascript:alert(1))", ["href", "<a"]),
        ('<iframe src="http://evil.invalid/"></iframe>', ["iframe", "evil"]),
        ('<object data="http://evil.invalid/x"></object>', ["object", "evil"]),
        ('<svg onload="window.pwned=1"><script>window.pwned=1</script></svg>', ["svg", "pwned"]),
        ("<style>@import url(http://evil.invalid/a.css)</style>", ["style", "evil"]),
        ('<p style="background:url(http://evil.invalid/b.png)">x</p>', ["style", "evil"]),
        ('<link rel="stylesheet" href="http://evil.invalid/c.css">', ["link", "evil"]),
        ("![x](http://evil.invalid/d.png)", ["evil", "src="]),
        ('<img src="data:image/svg+xml;base64,PHN2Zz4=">', ["data:", "src="]),
        ('<meta http-equiv="refresh" content="0;url=http://evil.invalid">', ["meta", "evil"]),
        ('<base href="http://evil.invalid/">', ["base", "evil"]),
        ('<form action="/api/grade" method="post"><button>go</button></form>', ["form", "api"]),
        ('<span class="math inline x" id="state">a</span>', ['"x"', "id="]),
    ],
)
def test_sanitiser_removes_every_active_or_remote_part(hostile, banned):
    html = render_markdown(f"Answer: {hostile} end").lower()
    for word in banned:
        assert word not in html, (word, html)
    assert "answer:" in html and "end" in html  # the text around it survives


def test_enormous_answer_is_cut_with_a_note():
    html = render_markdown("$x$ " * 200_000)
    assert "answer cut for display" in html and len(html) < 2_000_000


def test_whitespace_and_latex_spacing_do_not_split_a_group():
    a = Answer("$\\nabla L(w) = (a w_1,\\, b w_2)$\n\nso  $w^* = (0,0)$")
    b = Answer("$\\nabla L(w)=(a w_1, b w_2)$ so $w^*=(0, 0)$ ")
    c = Answer("$\\nabla L(w)=(a w_1, b w_2)$ so $w^*=(1, 0)$")
    assert normalise(a.source) == normalise(b.source)
    assert a.group_key() == b.group_key() != c.group_key()
    assert Answer("  YOUR ANSWER HERE \n").group_key() == Answer("").group_key() == "unanswered"


def test_same_text_with_different_photos_is_not_one_group():
    from autograder.review.render import Attachment

    one = Answer("see photo", [Attachment("p.png", "image/png", PNG, len(PNG))])
    two = Answer("see photo", [Attachment("p.png", "image/png", PNG + b"x", len(PNG) + 1)])
    assert one.group_key() != two.group_key()
    assert not Answer("", [Attachment("p.png", "image/png", PNG, len(PNG))]).unanswered


def _read_one(tmp_path, source: str, attachments: dict | None = None, item: str = "q1_graph"):
    from autograder.bench.review_class import notebook
    from autograder.review.render import read_answers

    nb = notebook({item: (source, attachments) if attachments else source})
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    return read_answers(path, [item])[item]


@pytest.mark.parametrize(
    "mime, one, two",
    [
        ("image/svg+xml", "<svg><circle r='1'/></svg>", "<svg><circle r='2'/></svg>"),
        ("image/heic", "AAAA", "AAAB"),
        ("application/pdf", "JVBERi0xLjQ=", "JVBERi0xLjU="),
        # 9 MB decoded, over the 8 MB shown: equal size, one byte apart
        ("image/png", "A" * (12 << 20), "A" * ((12 << 20) - 4) + "AAAB"),
    ],
    ids=["svg", "heic", "pdf", "huge-png"],
)
def test_group_key_covers_every_byte_of_every_attachment(tmp_path, mime, one, two):
    """Issue 23, finding 3: non-raster attachments hashed as "0", huge images by size."""
    src = "see ![my sketch](attachment:s)"
    a = _read_one(tmp_path, src, {"s": {mime: one}})
    b = _read_one(tmp_path, src, {"s": {mime: two}})
    again = _read_one(tmp_path, src, {"s": {mime: one}})
    assert a.group_key() != b.group_key() and a.group_key() == again.group_key()


def test_group_key_covers_the_whole_text_in_linear_time():
    """Two long answers that differ only at the end are not one group; a hostile run of
    unclosed \\hspace{ costs linear time (the key once read only the first 80,000 characters)."""
    long = "$x$ " * 50_000
    assert Answer(long + "yes").group_key() != Answer(long + "no").group_key()
    hostile = "\\hspace{" * 300_000
    assert Answer(hostile + "a").group_key() != Answer(hostile + "b").group_key()


def test_a_pasted_image_is_an_attachment_not_answer_text(tmp_path):
    """Colab pastes ![image.png](data:image/png;base64,…) into the markdown itself."""
    pasted = f"![image.png](data:image/png;base64,{png_attachment()['image/png']})"
    ans = _read_one(tmp_path, f"My graph:\n\n{pasted}\n\nThe end. {'x' * 100}")
    assert "base64" not in ans.source and "](attachment:pasted-1.png)" in ans.source
    assert [(a.name, a.mime, a.data) for a in ans.attachments] == [
        ("pasted-1.png", "image/png", PNG)
    ]
    other = _read_one(tmp_path, pasted.replace("iVBOR", "iVBOr", 1))
    assert other.group_key() != _read_one(tmp_path, pasted).group_key()
    assert not _read_one(tmp_path, pasted).unanswered


def test_answers_are_found_by_grade_id_with_the_drawn_graph(tmp_path):
    from autograder.bench.review_class import notebook
    from autograder.review.render import read_answers

    nb = notebook({"q1_graph": ("see ![g](attachment:g.png)", {"g.png": png_attachment()})})
    graph = next(c for c in nb["cells"] if grade_id(c) == "fig_graph")
    graph["outputs"] = [{"output_type": "display_data", "metadata": {},
                         "data": png_attachment()}]  # fmt: skip
    for cell in nb["cells"]:  # a tool that drops metadata: the cells around still find it
        if grade_id(cell) == "q2_slow":
            cell["metadata"] = {}
            cell["source"] = "slow when a/b is large"
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    found = read_answers(path, ["q1_graph", "q2_slow", "q1_forward"])
    assert found["q1_graph"].figure == PNG and found["q1_graph"].attachments[0].data == PNG
    assert found["q2_slow"].source == "slow when a/b is large"
    assert found["q1_forward"].unanswered
    path.write_text("{not json")
    assert "not readable" in read_answers(path, ["q1_graph"])["q1_graph"].problem


def test_rubric_items_are_seeded_from_the_instructor_notebook():
    models = model_answers()
    assert set(models) >= {i.id for i in RUBRIC.manual}
    backward = models["q1_backward"].rubric_items
    assert (0.25, "$\\partial L/\\partial \\hat y = 2(\\hat y - y)$.") in backward
    assert backward[-1] == (-0.25, "Shapes missing throughout")
    assert "Model answer" in models["q1_backward"].answer_md
    assert "Rubric" not in models["q1_backward"].answer_md


# -- the store -------------------------------------------------------------------------------
SAME = "$\\nabla L(w) = (a w_1, b w_2)$, $w^* = (0, 0)$"


@pytest.fixture
def out(tmp_path):
    return make_out(
        tmp_path / "out",
        {
            "ann": {"q2_gradient": SAME, "q1_backward": "mine"},
            "bob": {"q2_gradient": SAME.replace(" = ", "=")},
            "cy": {"q2_gradient": "$\\nabla L = (a, b)$"},
            "dee": {"q1_graph": ("photo", {"p.png": png_attachment()})},
        },
    )


@pytest.fixture
def store(out):
    s = Store(out, RUBRIC)
    s.load(log=lambda m: None)
    yield s
    s.close()


def _items(store, item):
    return {r["text"]: r for r in store.rubric_items(item)}


def test_grading_applies_rubric_items_and_clamps_to_the_item(store, out):
    items = _items(store, "q2_gradient")
    ids = [r["id"] for r in items.values()]
    assert [r["points"] for r in items.values()] == [0.25, 0.25]
    store.set_grade("q2_gradient", {"cy": 0}, ids[:1], "half")
    assert store.grade("cy", "q2_gradient").score == 0.25
    extra = store.save_rubric_item("q2_gradient", None, 0.5, "bonus: a clear picture", None)
    store.set_grade("q2_gradient", {"cy": 1}, [*ids, extra], "")
    assert store.grade("cy", "q2_gradient").score == 0.5  # 1.0 clamped to the item's 0.5
    minus = store.save_rubric_item("q2_gradient", None, -0.5, "wrong sign", None)
    store.set_grade("q2_gradient", {"cy": 2}, [minus], "")
    assert store.grade("cy", "q2_gradient").score == 0  # never below 0
    rows = {r["student"]: r for r in csv.DictReader(open(out / "manual.csv"))}
    assert rows["cy"]["q2_gradient"] == "0" and rows["ann"]["q2_gradient"] == ""


def test_editing_a_rubric_item_rescores_everyone_it_is_applied_to(store, out):
    rid = next(iter(_items(store, "q2_gradient").values()))["id"]
    for s in ("ann", "cy"):
        store.set_grade("q2_gradient", {s: 0}, [rid], "")
    store.set_grade("q2_gradient", {"bob": 0}, [], "nothing right")
    store.save_rubric_item("q2_gradient", rid, 0.125, "the gradient, half right", 1)
    assert store.scores()["ann"]["q2_gradient"] == 0.125
    assert store.scores()["cy"]["q2_gradient"] == 0.125
    assert store.scores()["bob"]["q2_gradient"] == 0
    rows = {r["student"]: r for r in csv.DictReader(open(out / "manual.csv"))}
    assert rows["ann"]["q2_gradient"] == rows["cy"]["q2_gradient"] == "0.125"
    with pytest.raises(Stale):  # a second TA's edit from the old view
        store.save_rubric_item("q2_gradient", rid, 0.25, "the gradient", 1)
    store.delete_rubric_item("q2_gradient", rid, 2)
    assert store.scores()["ann"]["q2_gradient"] == 0


def test_group_grading_split_and_no_answer(store):
    grp = store.answer("ann", "q2_gradient")["grp"]
    assert store.group_members("q2_gradient", grp) == ["ann", "bob"]
    store.split("q2_gradient", "bob")
    grp_bob = store.answer("bob", "q2_gradient")["grp"]
    assert store.group_members("q2_gradient", grp) == ["ann"] and grp_bob != grp
    unanswered = store.group_versions("q1_backward", "unanswered")
    assert sorted(unanswered) == ["bob", "cy", "dee"]
    store.set_grade("q1_backward", unanswered, [], NO_ANSWER)
    for s in unanswered:
        g = store.grade(s, "q1_backward")
        assert (g.score, g.comment) == (0, NO_ANSWER)
    assert store.grade("ann", "q1_backward").score is None


def test_give_all_unanswered_0_never_zeroes_an_answer_in_an_added_cell(out, client):
    """cy left the stub and answered in a new cell below it (issue 20)."""
    path = out / "submissions" / "cy.ipynb"
    nb = json.loads(path.read_text())
    k = next(k for k, c in enumerate(nb["cells"]) if grade_id(c) == "q1_backward")
    nb["cells"].insert(k + 1, {"cell_type": "markdown", "metadata": {}, "source": "my answer"})
    path.write_text(json.dumps(nb))
    store = Store(out, RUBRIC)
    store.load(log=lambda m: None)
    assert store.group_members("q1_backward", "unanswered") == ["bob", "dee"]
    assert "my answer" in store.answer("cy", "q1_backward")["source"]
    client.get("/?token=s3cret")
    # a page showing the stale group of three (as before the fix): cy is skipped, and said so
    body = {"item": "q1_backward", "versions": {"bob": 0, "cy": 0, "dee": 0}}
    r = client.post("/api/no-answer", json=body, headers={"origin": "http://testserver"})
    assert r.status_code == 200, r.text
    assert (r.json()["given"], r.json()["skipped"]) == (2, 1)
    assert "skipped 1 with content" in r.json()["message"]
    assert store.grade("cy", "q1_backward").score is None
    assert store.grade("bob", "q1_backward").comment == NO_ANSWER
    store.close()


def test_an_answer_that_cannot_be_placed_says_so_on_its_page(out, client):
    path = out / "submissions" / "cy.ipynb"
    nb = json.loads(path.read_text())
    k = next(k for k, c in enumerate(nb["cells"]) if grade_id(c) == "q1_forward")
    nb["cells"][k - 1]["source"] = "my own words instead of the question"
    nb["cells"][k + 1]["source"] = "and here too"
    for c in nb["cells"]:
        c["metadata"] = {}
    path.write_text(json.dumps(nb))
    store = Store(out, RUBRIC)
    store.load(log=lambda m: None)
    assert "cy" not in store.group_members("q1_forward", "unanswered")
    client.get("/?token=s3cret")
    page = client.get("/item/q1_forward/cy").text
    assert '<p class="warn">answer not found: the cells around it were changed' in page
    store.close()


def test_a_save_from_a_stale_view_is_refused_and_changes_nothing(store):
    rid = next(iter(_items(store, "q2_gradient").values()))["id"]
    store.set_grade("q2_gradient", {"ann": 0, "bob": 0}, [rid], "first TA")
    with pytest.raises(Stale):
        store.set_grade("q2_gradient", {"ann": 1, "bob": 0}, [], "second TA, stale on bob")
    for s in ("ann", "bob"):
        g = store.grade(s, "q2_gradient")
        assert (g.applied, g.comment, g.version) == ([rid], "first TA", 1)


def test_committed_grades_survive_a_new_connection(store, out):
    rid = next(iter(_items(store, "q2_gradient").values()))["id"]
    store.set_grade("q2_gradient", {"cy": 0}, [rid], "kept")
    db = sqlite3.connect(out / "review.sqlite")  # another process's view of the file
    assert db.execute("SELECT comment FROM grades WHERE student='cy' AND item='q2_gradient'")
    assert db.execute("SELECT comment FROM grades WHERE student='cy' AND "
                      "item='q2_gradient'").fetchone() == ("kept",)  # fmt: skip


# -- manual.csv edited by hand ---------------------------------------------------------------
def _edit_csv(path, student, item, value):
    rows = list(csv.DictReader(open(path)))
    for r in rows:
        if r["student"] == student:
            r[item] = value
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def test_a_hand_edit_of_manual_csv_is_imported_not_overwritten(store, out):
    rid = next(iter(_items(store, "q2_gradient").values()))["id"]
    store.set_grade("q2_gradient", {"ann": 0}, [rid], "")
    _edit_csv(out / "manual.csv", "ann", "q2_gradient", "0.5")
    _edit_csv(out / "manual.csv", "cy", "q1_graph", "0.25")
    # The next change in the page first imports the hand edits, then exports.
    store.set_grade("q2_gradient", {"bob": 0}, [rid], "")
    scores = store.scores()
    assert scores["ann"]["q2_gradient"] == 0.5 and scores["cy"]["q1_graph"] == 0.25
    assert store.grade("ann", "q2_gradient").override == 0.5
    rows = {r["student"]: r for r in csv.DictReader(open(out / "manual.csv"))}
    assert rows["ann"]["q2_gradient"] == "0.5" and rows["cy"]["q1_graph"] == "0.25"
    assert rows["bob"]["q2_gradient"] == "0.25"
    # A stale page for ann (version before the import) cannot overwrite the hand edit.
    with pytest.raises(Stale):
        store.set_grade("q2_gradient", {"ann": 1}, [], "")


def test_a_bad_hand_edit_is_refused_with_its_line_and_the_file_kept(store, out):
    _edit_csv(out / "manual.csv", "bob", "q2_gradient", "7")
    before = (out / "manual.csv").read_text()
    with pytest.raises(Refused, match=r"line 3, q2_gradient: '7'"):
        store.set_grade("q2_gradient", {"ann": 0}, [], "")
    assert (out / "manual.csv").read_text() == before
    assert store.grade("ann", "q2_gradient").graded is False


def test_grades_typed_into_manual_csv_before_review_are_imported(out):
    s = Store(out, RUBRIC)
    s.load(log=lambda m: None)  # writes manual.csv
    s.close()
    (out / "review.sqlite").unlink()
    for suffix in ("-wal", "-shm"):
        (out / f"review.sqlite{suffix}").unlink(missing_ok=True)
    _edit_csv(out / "manual.csv", "dee", "q1_graph", "0.25")
    s = Store(out, RUBRIC)
    s.load(log=lambda m: None)
    assert s.scores()["dee"] == {"q1_graph": 0.25}
    s.close()


# -- export ----------------------------------------------------------------------------------
def test_export_merges_points_rubric_texts_and_comments(store, out):
    from autograder.review.export import export

    items = list(_items(store, "q2_gradient").values())
    store.set_grade("q2_gradient", {"ann": 0, "bob": 0}, [items[0]["id"]], "check $w^*$")
    store.close()
    assert read_feedback(out, RUBRIC, {"ann": {"q2_gradient": 0.25}})["ann"]["q2_gradient"] == {
        "rubric": ["the gradient. (+0.25)"],
        "comment": "check $w^*$",
    }
    assert read_feedback(out, RUBRIC, {"ann": {"q2_gradient": 0.5}})["ann"] == {}  # CSV differs
    from autograder.report.lms import lms_csv

    (out / "lms.csv").write_text(lms_csv([], RUBRIC, {"ann": {"lms_id": "7", "name": "Ann"}}))
    store = Store(out, RUBRIC)
    for it in RUBRIC.manual:
        if it.question == "Q2" and it.id != "q2_gradient":
            ids = [r["id"] for r in store.rubric_items(it.id)]
            store.set_grade(it.id, {"ann": 0}, ids, "")
    store.close()
    export(out, jobs=1)
    lms = {r["student"]: r for r in csv.DictReader(open(out / "lms.csv"))}
    assert (lms["ann"]["lms_id"], lms["ann"]["Q1"], lms["ann"]["Q2"]) == ("7", "", "2.75")
    assert "not in the roster" in lms["bob"]["note"]
    grades = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert grades["ann"]["q2_gradient"] == "0.25" and grades["ann"]["manual_total"] == "2.75"
    assert grades["cy"]["q2_gradient"] == "" and grades["cy"]["manual_total"] == ""
    assert float(grades["ann"]["total"]) == float(grades["ann"]["auto_total"]) + 2.75
    res = json.loads((out / "results" / "ann.json").read_text())
    test = next(t for t in res["tests"] if "q2_gradient" in t["tags"])
    assert test["score"] == 0.25
    assert test["output"].splitlines() == [
        "Graded by hand: 0.25",
        "- the gradient. (+0.25)",
        "Comment: check w*",  # Gradescope shows plain text: the math in Unicode
    ]


# -- the guard (token, host, origin, headers) ------------------------------------------------
@pytest.fixture
def client(store):
    from starlette.testclient import TestClient

    from autograder.review.server import create_app

    return TestClient(create_app(store, "s3cret", {"testserver"}), follow_redirects=False)


def test_every_request_without_the_token_is_refused(client):
    for path in ("/", "/item/q2_gradient/ann", "/static/review.js", "/att/1/0", "/pdf/ann.pdf"):
        assert client.get(path).status_code == 403
    assert client.get("/?token=wrong").status_code == 403
    assert client.get("/?token=%C3%A9").status_code == 403  # non-ASCII: refused, not a crash
    r = client.get("/item/q2_gradient/ann?token=s3cret")
    assert r.status_code == 303 and r.headers["location"] == "/item/q2_gradient/ann"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = client.get("/item/q2_gradient/ann")
    assert page.status_code == 200 and "s3cret" not in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe" not in csp


def test_foreign_host_and_cross_origin_changes_are_refused(client):
    client.get("/?token=s3cret")
    assert client.get("/", headers={"host": "evil.example"}).status_code == 403
    body = {"item": "q2_gradient", "versions": {"cy": 0}, "applied": [], "comment": ""}
    hostile = client.post("/api/grade", json=body, headers={"origin": "http://evil.example"})
    assert hostile.status_code == 403
    form = client.post("/api/grade", data={"x": "1"}, headers={"origin": "http://testserver"})
    assert form.status_code == 403
    ok = client.post("/api/grade", json=body, headers={"origin": "http://testserver"})
    assert ok.status_code == 200
    again = client.post("/api/grade", json=body, headers={"origin": "http://testserver"})
    assert again.status_code == 409 and again.json()["stale"]


def test_a_forged_or_foreign_cookie_and_a_change_without_origin_are_refused(store):
    from starlette.testclient import TestClient

    from autograder.review.server import create_app

    app = create_app(store, "s3cret", {"testserver"}, cookie="hw2_review_8001")
    client = TestClient(app, follow_redirects=False)
    client.cookies.set("hw2_review_8001", "s3cre7")  # a guessed token
    assert client.get("/").status_code == 403
    client.cookies.clear()
    client.cookies.set("hw2_review_8002", "s3cret")  # another server's cookie name
    assert client.get("/").status_code == 403
    client.cookies.clear()
    r = client.get("/?token=s3cret")
    assert r.status_code == 303 and r.headers["set-cookie"].startswith("hw2_review_8001=s3cret;")
    assert client.get("/").status_code == 200
    body = {"item": "q2_gradient", "versions": {"cy": 0}, "applied": [], "comment": ""}
    for origin in ({}, {"origin": "null"}, {"origin": "http://testserver.evil.example"}):
        assert client.post("/api/grade", json=body, headers=origin).status_code == 403, origin
    assert store.grade("cy", "q2_gradient").version == 0  # nothing changed


def test_the_allow_list_admits_no_active_remote_or_clobbering_markup():
    """The nh3 allow-list itself, so widening it is a visible change: no tag that runs,
    loads or submits anything; no event handler, style, srcset, id or name (an ``id`` or
    ``name`` could shadow window.katex or the page's own elements)."""
    from autograder.review import render

    banned = {"script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
              "svg", "math", "form", "input", "button", "select", "textarea", "base", "meta",
              "link", "audio", "video", "source", "track", "picture", "template", "slot",
              "portal", "noscript", "area", "map"}  # fmt: skip
    assert not banned & render._ALLOWED_TAGS
    attrs = set().union(*render._ALLOWED_ATTRIBUTES.values())
    assert not {a for a in attrs if a.startswith("on")}
    assert not {"style", "srcset", "id", "name", "formaction", "action", "xlink:href"} & attrs
    assert render._LINK_SCHEMES == ("http:", "https:", "mailto:")
    html = render_markdown('<img name="katex" id="score" src="attachment:a.png">', {"a.png": "/x"})
    assert "name=" not in html and "id=" not in html and 'src="/x"' in html


def test_attachments_are_served_as_inert_images(client, store):
    client.get("/?token=s3cret")
    aid = store.answer("dee", "q1_graph")["id"]
    r = client.get(f"/att/{aid}/0")
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert r.headers["x-content-type-options"] == "nosniff"
    page = client.get("/item/q1_graph/dee").text
    assert f'src="/att/{aid}/0"' in page


@pytest.mark.slow
def test_the_next_make_grade_merges_rubric_items_and_comments(tmp_path):
    """A real `grade` run, a grade given in the review store, then `grade` again (resumed)."""
    import subprocess
    import sys

    from autograder.bench.review_class import notebook
    from tests.conftest import REPO

    nb = tmp_path / "ann.ipynb"
    nb.write_text(json.dumps(notebook({"q1_forward": "$Z = W_1 x$, $u = \\sigma(Z)$"})))
    out = tmp_path / "out"
    run = [sys.executable, "-m", "autograder", "grade", str(nb), "--out", str(out), "--no-pdf",
           "--jobs", "1"]  # fmt: skip
    first = subprocess.run(run, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    store = Store(out, RUBRIC)
    store.load(log=lambda m: None)
    half = next(r for r in store.rubric_items("q1_forward") if r["points"] == 0.25)
    store.set_grade("q1_forward", {"ann": 0}, [half["id"]], "ŷ and L are missing")
    store.close()
    second = subprocess.run(run, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    grades = next(csv.DictReader(open(out / "grades.csv")))
    assert grades["q1_forward"] == "0.25" and grades["manual_total"] == "0.25"
    res = json.loads((out / "results" / "ann.json").read_text())
    test = next(t for t in res["tests"] if "q1_forward" in t["tags"])
    assert test["output"].splitlines() == [
        "Graded by hand: 0.25",
        f"- {half['text']} (+0.25)",
        "Comment: ŷ and L are missing",
    ]


def test_review_command_line_errors(tmp_path, out, capsys):
    from autograder.cli import main

    assert main(["review", str(tmp_path / "nowhere")]) == 2
    assert "not a graded output folder" in capsys.readouterr().err
    store = Store(out, RUBRIC)
    store.load(log=lambda m: None)
    store.close()
    _edit_csv(out / "manual.csv", "ann", "q1_graph", "lots")
    assert main(["review", str(out), "--export"]) == 2
    err = capsys.readouterr().err
    assert "line 2, q1_graph: 'lots'" in err and not (out / "grades.csv").exists()


def test_rubric_texts_and_comments_are_escaped_in_the_page(client, store):
    client.get("/?token=s3cret")
    bad = '<img src=x onerror="window.pwned=1">"><script>window.pwned=1</script>'
    rid = store.save_rubric_item("q2_gradient", None, 0.25, bad, None)
    store.set_grade("q2_gradient", {"cy": 0}, [rid], bad)
    page = client.get("/item/q2_gradient/cy").text
    from html.parser import HTMLParser

    found: list[tuple[str, list]] = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Tags().feed(page)
    assert not [a for _, attrs in found for a, _ in attrs if a.startswith("on")]
    scripts = [dict(attrs) for tag, attrs in found if tag == "script"]
    assert all(s.get("src", "").startswith("/") or s.get("type") == "application/json"
               for s in scripts)  # fmt: skip
    assert not [attrs for tag, attrs in found if tag == "img" and ("src", "x") in attrs]
    assert "&lt;script&gt;" in page  # shown as text, in the comment box and data attribute


def test_a_resubmitted_answer_is_graded_again(store, out):
    from autograder.bench.review_class import notebook

    rid = store.rubric_items("q2_gradient")[0]["id"]
    store.set_grade("q2_gradient", {"ann": 0, "cy": 0}, [rid], "ok")
    store.close()
    path = out / "submissions" / "ann.ipynb"
    path.write_text(json.dumps(notebook({"q2_gradient": "a new answer"})))
    os.utime(path, ns=(1, 1))  # a different signature even within the same clock tick
    again = Store(out, RUBRIC)
    said: list[str] = []
    again.load(log=said.append)
    g = again.grade("ann", "q2_gradient")
    assert not g.graded and g.applied == [rid] and g.comment == "ok"
    assert again.grade("cy", "q2_gradient").graded  # unchanged notebook: still graded
    assert "ann q2_gradient" in said[-1]
    again.close()
    rows = {r["student"]: r for r in csv.DictReader(open(out / "manual.csv"))}
    assert rows["ann"]["q2_gradient"] == "" and rows["cy"]["q2_gradient"] == "0.25"


def test_grade_reads_review_feedback_without_the_web_libraries(store, out):
    """`grade` runs where only the grader's needs are installed (e.g. a Gradescope image)."""
    import subprocess
    import sys

    from tests.conftest import REPO

    rid = store.rubric_items("q2_gradient")[0]["id"]
    store.set_grade("q2_gradient", {"cy": 0}, [rid], "fine")
    code = (
        "import sys\n"
        "for m in ('nh3', 'markdown_it', 'mdit_py_plugins', 'starlette', 'uvicorn'):\n"
        "    sys.modules[m] = None  # importing any of them now fails\n"
        "import autograder.pipeline\n"
        "from pathlib import Path\n"
        "from autograder.review.db import read_feedback\n"
        "from autograder.rubric import load_rubric\n"
        f"out = Path({str(out)!r})\n"
        "notes = read_feedback(out, load_rubric(), {'cy': {'q2_gradient': 0.25}})\n"
        "print(notes['cy']['q2_gradient']['comment'])\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "fine", run.stderr


def test_the_socket_listens_before_the_url_is_printed(tmp_path, monkeypatch, capsys):
    """A browser opened on the printed URL at once waits in the backlog, never refused."""
    import socket

    import uvicorn

    from autograder.review import server

    out = make_out(tmp_path / "out", {"ann": {}})
    seen: dict[str, int] = {}

    def run(self, sockets):
        seen["printed"] = "token=" in capsys.readouterr().out
        seen["listening"] = sockets[0].getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)

    monkeypatch.setattr(uvicorn.Server, "run", run)
    assert server.serve(out) == 0
    assert seen == {"printed": True, "listening": 1}


# -- reading the notebooks as grading reads them ---------------------------------------------
def test_review_reads_notebooks_as_grading_does(tmp_path):
    """Rows whose file is now a link (to the instructor notebook, a classmate's, /dev/zero),
    a FIFO, or that grading refused: shown as problems, never read as answers."""
    import shutil

    from autograder import INSTRUCTOR_NB
    from autograder.grade.outcome import SubmissionResult

    out = make_out(tmp_path / "out", {s: {"q2_gradient": SAME} for s in
                                      ("ann", "eve", "fay", "gus", "hal", "ivy")})  # fmt: skip
    subs = out / "submissions"
    links = {"eve": INSTRUCTOR_NB, "fay": subs / "ann.ipynb", "gus": "/dev/zero"}
    for student, target in links.items():
        (subs / f"{student}.ipynb").unlink()
        os.symlink(target, subs / f"{student}.ipynb")
    (subs / "hal.ipynb").unlink()
    os.mkfifo(subs / "hal.ipynb")
    # ivy's notebook is a regular file now, but grading refused what was there.
    state = out / ".state" / "ivy.json"
    data = json.loads(state.read_text())
    refused = SubmissionResult("ivy", data["result"]["source"], "unreadable",
                               reason="not graded: a FIFO (named pipe)")  # fmt: skip
    state.write_text(json.dumps({"key": data["key"], "result": refused.to_json()}))
    shutil.copy(INSTRUCTOR_NB, subs / "ivy.ipynb")

    review_export_bounded(out)
    store = Store(out, RUBRIC)
    store.load(log=lambda m: None)
    reasons = {"eve": "symbolic link", "fay": "symbolic link", "gus": "symbolic link",
               "hal": "FIFO", "ivy": "FIFO"}  # fmt: skip
    for student, reason in reasons.items():
        for item in store.items:
            ans = store.answer(student, item)
            assert ans["source"] == "" and reason in ans["problem"], (student, item, dict(ans))
            # a problem of its own: never grouped with an answer, nor zeroed with the unanswered
            assert ans["natural_group"] == "not found"
    ann = store.answer("ann", "q2_gradient")
    assert store.group_members("q2_gradient", ann["grp"]) == ["ann"]  # fay is not grouped in
    store.close()
    server = ReviewServer(out)
    try:
        for student in reasons:
            status, page = server.get(f"/item/q2_gradient/{student}")
            assert status == 200, page
            answer = answer_section(page)
            assert 'class="warn">notebook not read: ' in answer and reasons[student] in answer
            assert '<div class="md" id="answer"></div>' in answer, answer
    finally:
        server.close()


@pytest.mark.slow
def test_formula_like_ids_round_trip_through_grade_review_and_export(tmp_path):
    """grade → a hand edit of manual.csv → review → export → lms.csv, for ids that
    csv_cell guards (-, +, @; = and a tab become hashed ids), a roster whose lms_ids and
    names look like formulas too, and manual.csv rows of students not in this run."""
    import subprocess
    import sys

    from autograder.bench.review_class import notebook
    from autograder.submissions import student_id
    from tests.conftest import REPO

    folder = tmp_path / "subs"
    folder.mkdir()
    stems = ["-carol", "+dan", "@erin", "=frank", "\tgina", "ann"]
    for stem in stems:
        (folder / f"{stem}.ipynb").write_text(json.dumps(notebook({"q2_gradient": SAME})))
    ids = {stem: student_id(stem) for stem in stems}
    lms = {ids[stem]: (f"-{1001 + k}" if k % 2 else f"{1001 + k}") for k, stem in enumerate(stems)}
    roster = tmp_path / "roster.csv"
    with open(roster, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "lms_id", "name"])
        for k, s in enumerate(ids.values()):
            w.writerow([s, lms[s], f"=Name {k}" if k % 2 else f"@Name {k}"])
    out = tmp_path / "out"
    grade = [sys.executable, "-m", "autograder", "grade", str(folder), "--out", str(out),
             "--no-pdf", "--jobs", "2", "--roster", str(roster)]  # fmt: skip
    p = subprocess.run(grade, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]

    # By hand: a grade for -carol (the file says '-carol), rows for two students not in this run.
    rows = list(csv.reader(open(out / "manual.csv", newline="")))
    col = rows[0].index("q2_gradient")
    for r in rows[1:]:
        if r[0] == "'-carol":
            r[col] = "0.5"
    rows += [["'-zed", *(["0.25"] * (len(rows[0]) - 1))], ["'=yan", *([""] * (len(rows[0]) - 1))]]
    with open(out / "manual.csv", "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)

    store = Store(out, RUBRIC)
    store.load(log=lambda m: None)
    assert store.grade("-carol", "q2_gradient").score == 0.5  # imported, not dropped
    store.set_grade("q2_gradient", {"+dan": store.grade("+dan", "q2_gradient").version}, [], "")
    store.close()
    review_export_bounded(out)

    manual = read_manual_csv(out / "manual.csv")
    assert manual["-carol"]["q2_gradient"] == "0.5" and manual["+dan"]["q2_gradient"] == "0"
    assert manual["-zed"]["q2_gradient"] == "0.25" and "=yan" in manual
    lms_rows = list(csv.DictReader(open(out / "lms.csv", newline="", encoding="utf-8")))
    students = [from_csv_cell(r["student"]) for r in lms_rows]
    assert sorted(students) == sorted(ids.values()), students  # each once
    for r in lms_rows:
        s = from_csv_cell(r["student"])
        assert from_csv_cell(r["lms_id"]) == lms[s] and "no submission" not in r["note"], r


def read_manual_csv(path):
    """manual.csv as student (csv_cell undone) → {column → cell}."""
    return {
        from_csv_cell(r["student"]): r
        for r in csv.DictReader(open(path, newline="", encoding="utf-8"))
    }
