"""Issue 12: the inspector's phone on a bad connection. Each finding reproduced first."""

import pytest
from sqlalchemy import select

from shopper.extensions import db
from shopper.inspections.models import Answer
from tests.browser.conftest import saved
from tests.browser.test_phone import start_on_phone

pytestmark = pytest.mark.browser

ERRORS = []


def watch(page):
    page.on("pageerror", lambda e: ERRORS.append(str(e)))
    page.on(
        "console",
        lambda m: (
            ERRORS.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )


def answers(app):
    with app.app_context():
        return {a.item_code: (a.result, a.note) for a in db.session.scalars(select(Answer)).all()}


def item(phone, n):
    return phone.locator("article.item").nth(n)


def go_online(phone):
    phone.context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")


def test_a_note_given_offline_shows_after_the_reconnect_and_a_later_tap_keeps_it(
    phone, live_server, app
):
    """Finding 1: the synced items showed empty until a reload; a tap then wiped the note."""
    watch(phone)
    start_on_phone(phone, live_server, "Outlet Two")
    phone.context.set_offline(True)
    item(phone, 0).locator("label.choice.fail").click()
    item(phone, 0).locator("textarea").fill("Leaflets out of date")
    item(phone, 1).locator("label.choice.pass").click()
    item(phone, 2).locator("label.choice.pass").click()
    phone.locator("#save-state.offline").wait_for()
    assert phone.locator("#pending-text").inner_text() != ""
    assert phone.locator("#progress").get_attribute("value") == "3"  # pending answers count

    go_online(phone)
    saved(phone)
    first = item(phone, 0)
    assert first.locator("input[value=fail]").is_checked()
    assert first.locator("textarea").input_value() == "Leaflets out of date"
    assert item(phone, 1).locator("input[value=pass]").is_checked()
    code = first.get_attribute("id")
    assert answers(app)[code] == ("fail", "Leaflets out of date")

    # tapping 不达标 again sends the result only: the saved note stays
    first.locator("label.choice.pass").click()
    first.locator("label.choice.fail").click()
    saved(phone)
    assert answers(app)[code] == ("fail", "Leaflets out of date")
    assert first.locator("textarea").input_value() == "Leaflets out of date"
    assert not ERRORS, ERRORS
