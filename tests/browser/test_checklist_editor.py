"""Issue 14's round trip in the browser: head office takes the teller checklist to its next
version (two items reweighted, one added, one reworded), sees exactly those changes side by
side, starts the next period on it, and an inspection made earlier keeps its own wording."""

import pytest
from sqlalchemy import select

from shopper.checklists.models import ChecklistVersion
from shopper.extensions import db
from shopper.inspections.models import Inspection
from shopper.periods.models import Period
from tests.browser.conftest import screenshot
from tests.browser.test_phone import sign_in
from tests.factories import submitted_directly

pytestmark = pytest.mark.browser
DESK = {"width": 1280, "height": 800}
TELLER = "teller_seven_steps"


def saved(page):
    page.locator("#ed-save", has_text="All changes saved").wait_for(timeout=20000)


def item_box(page, n):
    return page.locator("#editor li.ed-item").nth(n)


def test_head_office_takes_a_checklist_to_its_next_version_and_a_period_onto_it(
    browser, live_server, app, world
):
    earlier = submitted_directly(
        app, world.users["inspector"], world.assignment_ids["inspector"][0], lambda i: "pass"
    )
    with app.app_context():
        old = db.session.get(Inspection, earlier)
        old_score = old.score
        teller = next(c.version for c in old.checklists if c.version.code == TELLER)
        first = teller.checklist().items[0]
        old_text, old_version = first.text.en, teller.version

    context = browser.new_context(viewport=DESK, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server}/login")
    sign_in(page, "admin")
    page.goto(f"{live_server}/office/checklists/")
    page.get_by_role("button", name=f"New draft from version {old_version}").nth(1).click()
    page.locator("#editor[data-ready]").wait_for()

    # reweight two items, reword one, add one
    item_box(page, 0).get_by_label("Points").fill("3")
    item_box(page, 1).get_by_label("Points").fill("2.5")
    item_box(page, 0).locator("textarea[lang=en]").first.fill("The teller stands up to greet")
    page.locator("#editor section.ed-section").first.get_by_role(
        "button", name="+ Add an item"
    ).click()
    added = page.locator("#editor section.ed-section").first.locator("li.ed-item").last
    new_code = added.get_by_label("Item code").input_value()
    added.locator("textarea[lang=zh-CN]").nth(0).fill("柜员主动示意客户就座")
    added.locator("textarea[lang=zh-CN]").nth(1).fill("通过：示意就座；不通过：未示意。")
    added.locator("textarea[lang=en]").nth(0).fill("The teller invites the customer to sit")
    saved(page)
    screenshot(page, "editor-1280")

    # a closed tab loses nothing: the draft reopens as it was left
    page.reload()
    page.locator("#editor[data-ready]").wait_for()
    assert item_box(page, 0).get_by_label("Points").input_value() == "3"
    assert page.locator("#ed-problems").inner_text() == ""

    page.get_by_role("button", name="Publish").click()
    page.wait_for_url("**/diff?**")
    summary = page.locator(".diff-summary").inner_text()
    screenshot(page, "diff-1280")
    assert "4 changes" in summary, summary
    assert "1 item added" in summary and "points changed on 2 items" in summary
    assert "1 rewording" in summary
    body = page.locator("main").inner_text()
    assert new_code in body and "stands up to greet" in body

    # the next period on the new version
    page.goto(f"{live_server}/office/periods")
    page.locator("input[name=code]").fill("2027Q1")
    page.locator("input[name=starts_on]").fill("2027-01-01")
    page.locator("input[name=ends_on]").fill("2027-03-31")
    page.get_by_role("button", name="Create period").click()
    page.wait_for_load_state()
    with app.app_context():
        period = db.session.scalar(select(Period).where(Period.code == "2027Q1"))
        chosen = {pc.version.code: pc.version.version for pc in period.checklists}
        newest = db.session.scalar(
            select(ChecklistVersion.version)
            .where(ChecklistVersion.code == TELLER)
            .order_by(ChecklistVersion.version.desc())
        )
    assert chosen[TELLER] == newest == old_version + 1

    # the earlier inspection still shows its own wording and score
    page.goto(f"{live_server}/inspections/{earlier}")
    record = page.locator("main").inner_text()
    assert old_text in record and "stands up to greet" not in record
    with app.app_context():
        assert db.session.get(Inspection, earlier).score == old_score
    context.close()
