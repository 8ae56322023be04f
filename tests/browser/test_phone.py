"""An inspector on a phone: log in, answer a whole inspection, attach a photo, submit, see the score."""

import time

import pytest

from tests.browser.conftest import ready, saved, screenshot
from tests.conftest import PASSWORD
from tests.factories import gps_exif, jpeg

pytestmark = pytest.mark.browser


def test_inspector_completes_an_inspection_on_a_phone(phone, live_server, tmp_path, capsys):
    requests = []
    phone.on("request", lambda r: requests.append(r.url))
    began = time.perf_counter()

    phone.goto(f"{live_server}/login")
    screenshot(phone, "01-login")
    sign_in(phone, "inspector")
    phone.wait_for_url("**/inspect/")
    screenshot(phone, "02-assignments")

    phone.locator("li.card", has_text="Outlet One").get_by_role(
        "button", name="Start inspection"
    ).click()
    phone.wait_for_url("**/inspect/*")
    screenshot(phone, "03-checklist")
    items = phone.locator("article.item")
    total = items.count()
    assert total >= 40

    # the first item that needs a photo when failed: fail it with a note and a photo
    photo_item = phone.locator("article.item", has=phone.locator(".badge", has_text="Photo")).first
    photo_item.locator("label.choice.fail").click()
    photo_item.locator("textarea").fill("Leaflets lying on the counter")
    photo = tmp_path / "evidence.jpg"
    photo.write_bytes(jpeg(800, 600, exif=gps_exif()))
    photo_item.locator("input.photo-input").last.set_input_files(str(photo))
    photo_item.locator("figure.thumb:not(.uploading) img").wait_for()
    photo_item.locator(".photo-buttons").scroll_into_view_if_needed()
    screenshot(phone, "04-photo")

    for index in range(total):
        item = items.nth(index)
        if item.locator("input[value=fail]:checked").count():
            continue
        item.locator("label.choice.pass").click()
    saved(phone)
    assert phone.locator("#progress").get_attribute("value") == str(total)

    # nothing is lost: a reload shows every answer from the server
    phone.reload()
    ready(phone)
    assert phone.locator("input[type=radio]:checked").count() == total
    assert phone.locator("textarea").first.input_value() is not None

    phone.get_by_role("link", name="Review and submit").first.click()
    screenshot(phone, "05-review")
    assert phone.locator("#missing").count() == 0
    phone.get_by_label("What I recorded is what I observed.").check()
    phone.locator("summary", has_text="Submit inspection").click()
    phone.get_by_role("button", name="Yes, submit").click()
    phone.wait_for_url("**/inspections/*")
    score = phone.locator("#score").inner_text()
    screenshot(phone, "06-submitted")
    elapsed = time.perf_counter() - began

    assert float(score) < 100  # one item failed
    assert phone.locator("figure.thumb img").count() == 1
    with capsys.disabled():
        print(
            f"\n[browser] full inspection of {total} items: {elapsed:.1f} s, {len(requests)} requests"
        )


def start_on_phone(phone, live_server, outlet: str) -> None:
    phone.goto(f"{live_server}/login")
    sign_in(phone, "inspector")
    phone.locator("li.card", has_text=outlet).get_by_role("button", name="Start inspection").click()
    phone.wait_for_url("**/inspect/*")


def sign_in(phone, username: str) -> None:
    phone.get_by_label("Username").fill(username)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Sign in").click()


def test_answers_survive_a_lost_connection(phone, live_server):
    start_on_phone(phone, live_server, "Outlet Two")

    phone.context.set_offline(True)
    phone.locator("article.item").nth(0).locator("label.choice.pass").click()
    phone.locator("#save-state.offline").wait_for()
    phone.context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    saved(phone)
    phone.reload()
    ready(phone)
    assert phone.locator("article.item").nth(0).locator("input[value=pass]").is_checked()


def test_head_office_and_outlet_screens_in_chinese(browser, live_server, login, world, app):
    from tests.factories import answer_all, start, submit

    inspector = login("inspector")
    iid = start(inspector, world.assignment_ids["inspector"][0])
    answer_all(
        inspector,
        app,
        iid,
        lambda item: (
            "fail" if item.code.endswith("-02") and not item.photo_required_on_fail else "pass"
        ),
    )
    assert submit(inspector, iid).status_code == 302

    for username, start_url, name in [
        ("admin", "/office/inspections", "07-office-zh"),
        ("outlet_manager", "/branch/inspections", "08-branch-zh"),
    ]:
        context = browser.new_context(
            viewport={"width": 360, "height": 640}, locale="zh-CN", is_mobile=True
        )
        page = context.new_page()
        page.goto(f"{live_server}/login")
        assert page.locator("h1").inner_text() == "登录"
        page.locator("input[name=username]").fill(username)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("button[type=submit]").click()
        page.wait_for_url(f"**{start_url}")
        screenshot(page, name)
        page.locator("a.card-link").first.click()
        page.wait_for_url("**/inspections/*")
        assert "不达标" in page.content()
        screenshot(page, name + "-record")
        if username == "admin":  # head office's check: release, and the notice is issued
            page.get_by_role("button", name="发布", exact=True).click()
            page.wait_for_url("**/inspections/*")
            assert "ZG-2026Q4-00001" in page.locator(".flash.info").inner_text()
            screenshot(page, name + "-released")
        else:  # the outlet finds its notice and can download the signed PDF
            page.get_by_role("link", name="整改通知").click()
            page.locator("a.card-link").first.click()
            page.wait_for_url("**/notices/*")
            with page.expect_download() as download:
                page.get_by_role("link", name="下载签章 PDF").click()
            assert download.value.suggested_filename == "ZG-2026Q4-00001.pdf"
            screenshot(page, name + "-notice")
        context.close()


def test_answers_given_after_the_session_ended_are_sent_after_signing_in_again(
    phone, live_server, app
):
    from shopper.auth.models import LoginSession
    from shopper.extensions import db

    start_on_phone(phone, live_server, "Outlet Two")
    fill_url = phone.url

    with app.app_context():  # the session ends elsewhere (signed out on another device, expired)
        db.session.query(LoginSession).delete()
        db.session.commit()
    phone.locator("article.item").nth(0).locator("label.choice.fail").click()
    phone.locator("article.item").nth(0).locator("textarea").fill("kept on the phone")
    phone.locator("article.item").nth(1).locator("label.choice.pass").click()
    signin = phone.locator("#save-state a")
    signin.wait_for()

    signin.click()
    sign_in(phone, "inspector")
    phone.wait_for_url(fill_url)
    saved(phone)
    phone.reload()
    ready(phone)
    first = phone.locator("article.item").nth(0)
    assert first.locator("input[value=fail]").is_checked()
    assert first.locator("textarea").input_value() == "kept on the phone"
    assert phone.locator("article.item").nth(1).locator("input[value=pass]").is_checked()
