"""Issue 12, findings 4–6: the sender, the length of the page, and text size."""

import json
import time

import pytest
from sqlalchemy import select

from shopper.extensions import db
from shopper.inspections.models import Answer
from tests.browser.conftest import PHONE, saved, screenshot
from tests.browser.test_phone import sign_in, start_on_phone

pytestmark = pytest.mark.browser


def item(page, n):
    return page.locator("article.item").nth(n)


def test_one_failing_answer_is_set_aside_and_never_holds_back_the_rest(browser, live_server, app):
    """Finding 4: each tap started its own retry timer; one answer that always got a 500
    blocked every later answer while the screen said "no connection"."""
    context = browser.new_context(viewport=PHONE, locale="en-US", service_workers="block")
    page = context.new_page()
    start_on_phone(page, live_server, "Outlet Two")
    poisoned = item(page, 0).get_attribute("id")
    posts = []

    def route(r):
        body = r.request.post_data_buffer or b""
        posts.append((time.monotonic(), body))
        if poisoned.encode() in body:
            r.fulfill(status=500, content_type="application/json", body=json.dumps({"error": "x"}))
        else:
            r.continue_()

    page.route("**/answers", route)
    began = time.monotonic()
    for n in range(11):
        item(page, n).locator("label.choice.pass").click()
    # the other ten arrive although the first keeps failing
    deadline = time.time() + 20
    while time.time() < deadline:
        with app.app_context():
            if len(db.session.scalars(select(Answer)).all()) == 10:
                break
        page.wait_for_timeout(200)  # lets Playwright run the route handler
    queue = page.evaluate("ShopperQueue.all()")
    with app.app_context():
        assert len(db.session.scalars(select(Answer)).all()) == 10, (len(posts), queue)
    # the failing one is tried with growing pauses, then set aside and shown on its item
    item(page, 0).locator(".item-status.error").wait_for(timeout=40000)
    attempts = [t - began for t, body in posts if poisoned.encode() in body]
    assert 2 <= len(attempts) <= 4
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert all(later >= earlier for earlier, later in zip(gaps, gaps[1:], strict=False))
    assert len(posts) <= 11 + 4  # no storm of retries
    assert page.locator("#save-state.refused").count() == 1
    assert item(page, 0).locator("input[value=pass]").is_checked() is False  # not pretended
    screenshot(page, "13-set-aside")

    # Retry sends it again, once the server is well
    page.unroute("**/answers")
    item(page, 0).get_by_role("button", name="Retry").click()
    saved(page)
    assert item(page, 0).locator("input[value=pass]").is_checked()
    context.close()


def test_a_note_is_sent_once(phone, live_server):
    """Finding 4: the note's debounce timer was never cleared, so it went twice."""
    start_on_phone(phone, live_server, "Outlet Two")
    notes = []
    phone.on(
        "request",
        lambda r: (
            notes.append(r.post_data_buffer)
            if r.url.endswith("/answers") and b'name="note"' in (r.post_data_buffer or b"")
            else None
        ),
    )
    target = item(phone, 0)
    target.locator("label.choice.fail").click()
    target.locator("textarea").press_sequentially("Dusty", delay=50)
    phone.wait_for_timeout(1200)
    target.locator("textarea").blur()
    saved(phone)
    assert len(notes) == 1


def test_the_page_is_short_numbered_and_easy_to_move_around(phone, live_server):
    """Finding 5: 31 screens long, no numbers, no section menu, continue opened the top."""
    start_on_phone(phone, live_server, "Outlet Two")
    screens = phone.evaluate("document.documentElement.scrollHeight") / PHONE["height"]
    elements = phone.evaluate("document.getElementsByTagName('*').length")
    print(f"\n[fill page] {screens:.1f} screens of 640 px, {elements} elements")
    screenshot(phone, "14-fill-top")
    assert elements <= 900
    chinese = phone.context.browser.new_context(viewport=PHONE, locale="zh-CN")
    zh = chinese.new_page()
    zh.context.add_cookies(phone.context.cookies())
    zh.goto(phone.url)
    zh_screens = zh.evaluate("document.documentElement.scrollHeight") / PHONE["height"]
    print(f"[fill page] in Chinese: {zh_screens:.1f} screens")
    screenshot(zh, "14-fill-top-zh")
    chinese.close()
    # 12 screens was the budget for the first edition's 53 items: it scales per item
    n = phone.locator("article.item").count()
    budget = 12 * max(n, 53) / 53
    assert zh_screens <= budget
    assert screens <= budget, (screens, budget)
    assert item(phone, 52).locator(".q .n").inner_text() == "53."
    assert phone.locator("article.item textarea").count() == 0  # notes only when needed
    screenshot(phone, "14-fill-top")

    # answer the first three, then "next unanswered" lands on the fourth
    for n in range(3):
        item(phone, n).locator("label.choice.pass").click()
    saved(phone)
    phone.get_by_role("button", name="Next unanswered").click()
    fourth = item(phone, 3).bounding_box()
    assert 0 < fourth["y"] < PHONE["height"] / 2
    bar = phone.locator(".thumbbar").bounding_box()
    assert bar["y"] + bar["height"] == pytest.approx(PHONE["height"], abs=1)  # thumb reach

    # the section menu shows per-section progress and jumps there
    phone.get_by_role("button", name="Sections").click()
    menu = phone.locator("dialog#sections")
    assert "2 of 2" in menu.locator("li").nth(0).inner_text()  # Sort: two items
    assert "1 of" in menu.locator("li").nth(1).inner_text()
    screenshot(phone, "15-sections")
    menu.locator("li a").nth(3).click()
    assert phone.locator("#section-now").inner_text() != ""

    # "continue" from the assignments page opens at the first unanswered item
    phone.goto(f"{live_server}/inspect/")
    phone.get_by_role("link", name="Continue").click()
    phone.wait_for_url("**/inspect/*")
    phone.wait_for_timeout(300)
    box = item(phone, 3).bounding_box()
    assert 0 < box["y"] < PHONE["height"] / 2


def test_larger_text_applies_and_the_header_survives_200_percent_zoom(browser, live_server):
    """Finding 6: the font size was fixed in px; at 200% the header broke apart."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32}})  # the phone's large text
    page.goto(f"{live_server}/login")
    page.locator("input[name=username]").fill("inspector")
    page.locator("input[name=password]").fill("correct horse battery")
    page.locator("button[type=submit]").click()
    page.locator("li.card", has_text="Outlet Two").locator("button[type=submit]").click()
    page.wait_for_url("**/inspect/*")
    size = page.evaluate("getComputedStyle(document.querySelector('article.item .q')).fontSize")
    assert float(size.removesuffix("px")) >= 30  # twice the usual .95rem
    screenshot(page, "16-large-text")
    context.close()

    # 200% zoom: half the CSS width; every header control stays on screen and readable
    zoomed = browser.new_context(
        viewport={"width": 180, "height": 320}, device_scale_factor=4, locale="en-US"
    )
    page = zoomed.new_page()
    page.goto(f"{live_server}/login")
    sign_in(page, "inspector")
    page.wait_for_url("**/inspect/")
    for control in page.locator(".topbar a, .topbar button").all():
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 181, control.inner_text()
        assert box["height"] < 60, control.inner_text()  # not one character per line
    screenshot(page, "17-zoom-200")
    zoomed.close()
