"""axe-core on every inspector screen at 360×640, in English and in Chinese: no critical or
serious violation of WCAG 2.2 AA (and 2.0/2.1 A/AA) or of axe's best practices.

axe-core comes from npm (`npm ci` at the project root, as .ci/run does). The app's
Content-Security-Policy rightly refuses injected scripts, so the scanning context bypasses CSP;
nothing else about the pages is changed. SHOPPER_AXE_REPORTS=DIR keeps every violation found
(moderate and minor too) and what axe could not decide ("incomplete": to check by hand) as
DIR/<screen>-<locale>.json; SHOPPER_SCREENSHOTS=DIR keeps the screens.
"""

from __future__ import annotations

import json
import os
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import PHONE, screenshot
from tests.browser.test_phone import sign_in
from tests.conftest import ROOT
from tests.factories import answer, answer_all, items, start, submit

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
RULES = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
FAILING_IMPACTS = ("critical", "serious")
LOCALES = {"en": "en-US", "zh_CN": "zh-CN"}  # the app's locale: the browser's
HTML_LANG = {"en": "en", "zh_CN": "zh-CN"}
SCREENS = ["login", "assignments", "fill", "review", "record"]


def axe_source() -> str:
    """axe-core as npm installed it; the test fails (not skips) without it: CI installs it."""
    if not AXE.exists():
        pytest.fail(
            f"{AXE.relative_to(ROOT)} is missing: run `npm ci` in the project root "
            "(it installs axe-core from package-lock.json; .ci/run does this)."
        )
    return AXE.read_text()


@pytest.fixture
def screens(app, world, login) -> dict[str, str]:
    """The path of each screen, with the data that makes every part of it show: on the
    assignments page one outlet not started, one in progress and one submitted; a fill and
    review page with items passed, failed with a note and not answered; a submitted record."""
    from shopper.extensions import db
    from shopper.models import Assignment, Outlet

    with app.app_context():  # a third outlet of the current period, not started
        outlet = Outlet(code="O4", name="Outlet Four", sub_branch_id=world.sub_branch_ids[1])
        db.session.add(outlet)
        db.session.flush()
        db.session.add(
            Assignment(
                period_id=world.period_id,
                outlet_id=outlet.id,
                inspector_id=world.users["inspector"],
            )
        )
        db.session.commit()

    client = login("inspector")
    in_progress = start(client, world.assignment_ids["inspector"][0])
    first = items(app, in_progress)[:12]
    to_fail = next(code for _, code, item in first if not item.photo_required_on_fail)
    for version, code, _item in first:
        failed = code == to_fail
        response = answer(
            client,
            in_progress,
            version,
            code,
            "fail" if failed else "pass",
            "Leaflets on the counter" if failed else "",
        )
        assert response.status_code == 200, response.get_data(as_text=True)

    submitted = start(client, world.assignment_ids["inspector"][1])
    answer_all(
        client,
        app,
        submitted,
        lambda item: (
            "fail" if item.code.endswith("-02") and not item.photo_required_on_fail else "pass"
        ),
    )
    response = submit(client, submitted)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return {
        "login": "/login",
        "assignments": "/inspect/",
        "fill": f"/inspect/{in_progress}",
        "review": f"/inspect/{in_progress}/review",
        "record": f"/inspections/{submitted}",
    }


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("screen", SCREENS)
def test_no_serious_accessibility_violation(browser, live_server, screens, screen, locale):
    source = axe_source()
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale=LOCALES[locale],
        bypass_csp=True,  # only so that axe can be injected
    )
    try:
        page = context.new_page()
        if screen != "login":
            page.goto(f"{live_server}/language/en?next=/login")
            sign_in(page, "inspector")
            page.wait_for_url("**/inspect/")
        response = page.goto(f"{live_server}/language/{locale}?next={screens[screen]}")
        assert response is not None and response.status == 200, (
            screen,
            response and response.status,
        )
        with suppress(PlaywrightTimeout):  # let the page's own scripts finish drawing
            page.wait_for_load_state("networkidle", timeout=5000)
        assert urlsplit(page.url).path == screens[screen], page.url
        assert page.locator("html").get_attribute("lang") == HTML_LANG[locale]
        screenshot(page, f"axe-{screen}-{locale}")
        page.add_script_tag(content=source)
        result = page.evaluate("options => axe.run(document, options)", RULES)
    finally:
        context.close()

    folder = os.environ.get("SHOPPER_AXE_REPORTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        kept = {key: result[key] for key in ("violations", "incomplete")}
        (Path(folder) / f"{screen}-{locale}.json").write_text(
            json.dumps(kept, ensure_ascii=False, indent=1)
        )
    serious = [v for v in result["violations"] if v["impact"] in FAILING_IMPACTS]
    assert not serious, f"axe on {screen} ({locale}, {screens[screen]}):\n" + report(serious)


def report(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['impact']} {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            target = json.dumps(node["target"], ensure_ascii=False)
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {target}: {summary[:300]}")
        if len(v["nodes"]) > 8:
            lines.append(f"    … and {len(v['nodes']) - 8} more elements")
    return "\n".join(lines)
