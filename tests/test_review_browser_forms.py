"""`review` in a real browser: the rubric form takes every points value the rubric uses.

Shares the Chromium and server fixtures of tests/test_review_browser.py.
"""

from __future__ import annotations

import pytest

from autograder.bench.review_class import make_out
from tests.test_review_browser import Tab, browser, serve  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def test_rubric_items_worth_an_eighth_or_a_sixteenth_can_be_edited_and_added(
    browser,  # noqa: F811
    serve,  # noqa: F811
    tmp_path,
):
    out = make_out(tmp_path / "out", {s: {"q2_slow": f"answer of {s}"} for s in "ab"})
    tab = Tab(browser, serve(out))
    tab.open("/item/q2_slow/a")
    tab.rubric(1).locator(".edit").click()
    points = tab.page.locator("#rubric-form input[name=points]")
    points.fill("0.125")
    # Chromium blocks a form whose number field is off its step; check it, then submit.
    assert points.evaluate("el => el.validity.valid"), points.evaluate("el => el.validationMessage")
    tab.act(lambda: tab.page.click("#rubric-form button[type=submit]"))
    assert "+0.125" in tab.rubric(1).inner_text()
    tab.page.click("#rubric-add")
    points.fill("0.0625")
    tab.page.fill("#rubric-form input[name=text]", "a sixteenth of a point")
    assert points.evaluate("el => el.validity.valid")
    tab.act(lambda: tab.page.click("#rubric-form button[type=submit]"))
    added = tab.page.locator("#rubric .ritem").last
    assert "+0.0625" in added.inner_text() and "sixteenth" in added.inner_text()
    assert tab.external == [] and tab.dialogs == []
