"""Head office plans the next period and opens it in a real browser (1280 px); the
inspector's phone then lists the new assignments."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from shopper.auth.models import Role
from shopper.extensions import db
from shopper.models import Assignment, Period
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD, make_user

DESK = {"width": 1280, "height": 800}


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_head_office_proposes_a_plan_and_opens_the_period_then_the_phone_shows_it(
    browser, phone, live_server, app, world
):
    with app.app_context():
        make_user(db.session, "ho_checker", Role.BANK_CHECKER)  # head office's: O3 too
        db.session.add(
            Period(
                code="2027Q1",
                starts_on=date(2027, 1, 1),
                ends_on=date(2027, 3, 31),
                state="planned",
            )
        )
        db.session.commit()

    desk = browser.new_context(viewport=DESK, locale="en-US").new_page()
    sign_in(desk, live_server, "admin")
    desk.goto(f"{live_server}/office/periods")
    desk.locator("tr", has_text="2026Q4").get_by_role("link", name="Close").click()
    desk.get_by_role("button", name="Close 2026Q4").click()
    desk.wait_for_url("**/office/periods")
    assert "2026Q4 is closed" in desk.locator(".flash").inner_text()

    desk.locator("tr", has_text="2027Q1").get_by_role("link", name="Plan").click()
    desk.wait_for_url("**/plan")
    assert desk.locator(".rule.broken").count() > 0  # nothing planned yet
    desk.get_by_label("Replace the assignments not yet started").check()
    desk.get_by_role("button", name="Propose a plan").click()
    desk.wait_for_url("**/plan?**")
    assert "Every rule is met" in desk.locator(".flash").inner_text()
    assert desk.locator(".rule.met").count() == 8
    assert desk.locator("table.plan-table tbody tr").count() > 3
    screenshot(desk, "plan-desk")
    # sorting by inspector is a link that keeps working without JavaScript
    desk.locator("table.plan-table thead").get_by_role("link", name="Inspector").click()
    desk.wait_for_url("**sort=inspector**")
    names = desk.locator("table.plan-table tbody td:nth-child(3)").all_inner_texts()
    assert names == sorted(names)

    desk.get_by_role("button", name="Open 2027Q1").click()
    desk.wait_for_url("**/office/periods")
    assert "2027Q1 is open" in desk.locator(".flash").inner_text()
    desk.context.close()

    with app.app_context():
        mine = db.session.scalars(
            select(Assignment)
            .join(Period)
            .where(Period.code == "2027Q1", Assignment.inspector_id == world.users["inspector"])
        ).all()
        outlets = [a.outlet.name for a in mine]
    assert outlets
    sign_in(phone, live_server, "inspector")
    phone.goto(f"{live_server}/inspect/")
    assert "2027Q1" in phone.locator("h1").inner_text()
    cards = phone.locator("li.card")
    assert cards.count() == len(outlets)
    for name in outlets:
        assert cards.filter(has_text=name).get_by_text("Mystery visit").count() == 1
    screenshot(phone, "plan-phone")
