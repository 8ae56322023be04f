"""Head office's periods: create, choose and change versions, the current one, and which
versions are in use."""

from datetime import date

import pytest
from markupsafe import escape
from sqlalchemy import select

from shopper.checklists import service as checklists
from shopper.checklists.models import ChecklistVersion
from shopper.core import checklist as core
from shopper.db import utcnow
from shopper.extensions import db
from shopper.inspections.models import Inspection
from shopper.models import Assignment, Period, PeriodChecklist
from shopper.periods import service
from tests.factories import start

ORDER = ["six_s", "teller_seven_steps", "five_courtesies"]


def publish_next(app, code: str) -> int:
    """Publish a new version of checklist `code` (its first item reworded); its id."""
    with app.app_context():
        latest = checklists.versions_of(db.session, code)[0]
        data = core.to_data(latest.checklist())
        item = data["sections"][0]["items"][0]
        item["text"]["en"] = f"{item['text']['en']} (reworded)"
        published = checklists.publish(db.session, core.parse(data, "test"), "test")
        db.session.commit()
        return published.version.id


def latest_ids(app) -> dict[str, int]:
    with app.app_context():
        return {v.code: v.id for v in checklists.latest_versions(db.session, ORDER)}


def chosen(app, code: str) -> list[tuple[str, int, int]]:
    """(checklist code, version number, position) a period uses, in order."""
    with app.app_context():
        period = db.session.scalars(select(Period).where(Period.code == code)).one()
        return [(pc.version.code, pc.version.version, pc.position) for pc in period.checklists]


def form(code="2027Q1", starts="2027-01-01", ends="2027-03-31", versions=None, app=None):
    data = {"code": code, "starts_on": starts, "ends_on": ends}
    for checklist, version_id in (versions or latest_ids(app)).items():
        data[f"version-{checklist}"] = version_id
    return data


def period_rows(app) -> tuple:
    with app.app_context():
        s = db.session
        return (
            tuple(s.execute(select(Period.code, Period.is_current).order_by(Period.code))),
            tuple(
                s.execute(
                    select(
                        PeriodChecklist.period_id, PeriodChecklist.checklist_version_id
                    ).order_by(PeriodChecklist.period_id, PeriodChecklist.position)
                )
            ),
        )


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_list_shows_periods_newest_first_with_their_versions_and_inspections_started(
    login, world, app
):
    start(login("inspector"), world.assignment_ids["inspector"][0])
    page = text(login("admin").get("/office/periods"))
    assert page.index("2026Q4") < page.index("2026Q3")
    assert "2026-10-01 – 2026-12-31" in page
    assert '<td class="num">1</td>' in page and '<td class="num">0</td>' in page
    assert "Fixed: its inspections have started." in page
    assert "6S" in page and "v1" in page


def test_a_new_period_uses_the_latest_published_versions_by_default(login, world, app):
    newer = publish_next(app, "six_s")
    admin = login("admin")
    page = text(admin.get("/office/periods"))
    assert f'<option value="{newer}" selected>v2' in page
    response = admin.post("/office/periods", form(app=app))
    assert response.status_code == 302
    assert chosen(app, "2027Q1") == [
        ("six_s", 2, 1),
        ("teller_seven_steps", 1, 2),
        ("five_courtesies", 1, 3),
    ]
    with app.app_context():
        period = db.session.scalars(select(Period).where(Period.code == "2027Q1")).one()
        assert not period.is_current and period.starts_on == date(2027, 1, 1)
    assert "Period 2027Q1 created." in text(admin.get("/office/periods"))


def test_a_new_period_may_keep_an_older_version(login, world, app):
    older = latest_ids(app)["six_s"]
    publish_next(app, "six_s")
    versions = latest_ids(app) | {"six_s": older}
    assert login("admin").post("/office/periods", form(versions=versions)).status_code == 302
    assert chosen(app, "2027Q1")[0] == ("six_s", 1, 1)


def test_an_inspection_pins_its_periods_choice_and_a_later_version_changes_nothing(
    login, world, app
):
    older = latest_ids(app)["six_s"]
    publish_next(app, "six_s")
    admin = login("admin")
    admin.post("/office/periods", form(versions=latest_ids(app) | {"six_s": older}))
    with app.app_context():
        period = db.session.scalars(select(Period).where(Period.code == "2027Q1")).one()
        period_id = period.id
        assignment = Assignment(
            period_id=period.id,
            outlet_id=world.outlet_ids[0],
            inspector_id=world.users["inspector"],
        )
        db.session.add(assignment)
        db.session.commit()
        assignment_id = assignment.id
    assert (
        admin.post(f"/office/periods/{world.period_id}/close", {"confirm": "y"}).status_code == 302
    )
    opened = admin.post(f"/office/periods/{period_id}/open", {"reason": "a test of versions"})
    assert opened.status_code == 302
    inspection_id = start(login("inspector"), assignment_id)
    publish_next(app, "six_s")  # v3
    with app.app_context():
        inspection = db.session.get(Inspection, inspection_id)
        assert [(p.version.code, p.version.version) for p in inspection.checklists] == [
            ("six_s", 1),
            ("teller_seven_steps", 1),
            ("five_courtesies", 1),
        ]


@pytest.mark.parametrize(
    ("change", "status", "sentence"),
    [
        ({"code": ""}, 400, "A period's code is 1 to 20 letters, digits or hyphens"),
        ({"code": "2027 Q1"}, 400, "A period's code is 1 to 20 letters, digits or hyphens"),
        ({"code": "2027Q1/x"}, 400, "A period's code is 1 to 20 letters, digits or hyphens"),
        ({"code": "X" * 21}, 400, "A period's code is 1 to 20 letters, digits or hyphens"),
        ({"code": "2026Q4"}, 409, "There is already a period 2026Q4."),
        ({"starts_on": ""}, 400, "Give the period's first and last day."),
        ({"ends_on": ""}, 400, "Give the period's first and last day."),
        ({"starts_on": "1 January"}, 400, "Write dates as year-month-day"),
        ({"ends_on": "2027-02-30"}, 400, "Write dates as year-month-day"),
        ({"ends_on": "2026-12-31"}, 400, "The period's last day cannot be before its first day."),
        ({"version-six_s": ""}, 400, "Choose one of the versions on offer for each checklist."),
        ({"version-six_s": "x"}, 400, "Choose one of the versions on offer for each checklist."),
        ({"version-six_s": "99999"}, 400, "Choose one of the versions on offer"),
        ({"version-six_s": "9" * 12}, 400, "Choose one of the versions on offer"),
        ("other-checklist", 400, "Choose one of the versions on offer for each checklist."),
        ("withdrawn", 400, "Choose one of the versions on offer for each checklist."),
    ],
)
def test_a_period_that_breaks_a_rule_is_refused_with_a_sentence(
    login, world, app, change, status, sentence
):
    admin = login("admin")
    data = form(app=app)
    if change == "other-checklist":
        data["version-six_s"] = data["version-five_courtesies"]
    elif change == "withdrawn":
        older = latest_ids(app)["six_s"]
        publish_next(app, "six_s")
        with app.app_context():
            checklists.withdraw(db.session, None, db.session.get(ChecklistVersion, older))
            db.session.commit()
        data = form(app=app) | {"version-six_s": older}
    else:
        data |= change
    before = period_rows(app)
    response = admin.post("/office/periods", data)
    assert response.status_code == status
    assert str(escape(sentence)) in text(response)
    assert period_rows(app) == before


def test_a_period_form_without_its_csrf_token_is_refused(login, world, app):
    before = period_rows(app)
    response = login("admin").post("/office/periods", form(app=app), csrf=False)
    assert response.status_code == 400
    assert period_rows(app) == before


def test_versions_change_while_no_inspection_has_started(login, world, app):
    older = latest_ids(app)["six_s"]
    publish_next(app, "six_s")
    admin = login("admin")
    admin.post("/office/periods", form(app=app))
    with app.app_context():
        period_id = db.session.scalar(select(Period.id).where(Period.code == "2027Q1"))
    page = text(admin.get("/office/periods"))
    assert f"/office/periods/{period_id}/versions" in page
    response = admin.post(
        f"/office/periods/{period_id}/versions", form(versions=latest_ids(app) | {"six_s": older})
    )
    assert response.status_code == 302
    assert chosen(app, "2027Q1")[0] == ("six_s", 1, 1)
    assert "Period 2027Q1 now uses the versions chosen." in text(admin.get("/office/periods"))
    again = admin.post(
        f"/office/periods/{period_id}/versions", form(versions=latest_ids(app) | {"six_s": older})
    )
    assert again.status_code == 302
    assert "already used those versions" in text(admin.get("/office/periods"))


def test_a_period_without_its_own_choice_gets_one(login, world, app):
    admin = login("admin")
    assert chosen(app, "2026Q3") == []
    response = admin.post(f"/office/periods/{world.old_period_id}/versions", form(app=app))
    assert response.status_code == 302
    assert [c for c, _n, _p in chosen(app, "2026Q3")] == ORDER


def test_versions_cannot_change_once_an_inspection_has_started(login, world, app):
    admin = login("admin")
    admin.post(f"/office/periods/{world.period_id}/versions", form(app=app))
    start(login("inspector"), world.assignment_ids["inspector"][0])
    publish_next(app, "six_s")
    before = period_rows(app)
    response = admin.post(f"/office/periods/{world.period_id}/versions", form(app=app))
    assert response.status_code == 409
    assert "Inspections of period 2026Q4 have started" in text(response)
    assert period_rows(app) == before
    assert chosen(app, "2026Q4")[0] == ("six_s", 1, 1)
    assert f"/office/periods/{world.period_id}/versions" not in text(admin.get("/office/periods"))


def test_a_change_with_a_bad_version_or_an_unknown_period_is_refused(login, world, app):
    admin = login("admin")
    before = period_rows(app)
    bad = form(app=app) | {"version-teller_seven_steps": "0"}
    response = admin.post(f"/office/periods/{world.old_period_id}/versions", bad)
    assert response.status_code == 400
    assert "Choose one of the versions on offer" in text(response)
    assert admin.post("/office/periods/999999/versions", form(app=app)).status_code == 404
    assert admin.post("/office/periods/999999/open").status_code == 404
    assert admin.post("/office/periods/99999999999/open").status_code == 404
    assert period_rows(app) == before


def test_make_current_updates_the_loaded_periods(session, world):
    periods = {p.code: p for p in session.scalars(select(Period))}
    service.make_current(session, periods["2026Q3"])
    assert periods["2026Q3"].is_current and not periods["2026Q4"].is_current


def test_a_version_is_in_use_once_a_period_chose_it_or_an_inspection_pinned_it(login, world, app):
    ids = latest_ids(app)
    newer = publish_next(app, "six_s")
    with app.app_context():
        assert not any(service.version_in_use(db.session, i) for i in [*ids.values(), newer])
    # the current period has no choice of its own: the inspection pins the latest
    start(login("inspector"), world.assignment_ids["inspector"][0])
    with app.app_context():
        assert service.version_in_use(db.session, newer)
        assert not service.version_in_use(db.session, ids["six_s"])
    versions = latest_ids(app) | {"six_s": ids["six_s"]}
    login("admin").post("/office/periods", form(versions=versions))
    with app.app_context():
        assert service.version_in_use(db.session, ids["six_s"])
        assert not service.version_in_use(db.session, 999999)


def test_a_checklist_whose_versions_are_all_withdrawn_is_not_offered(session, world):
    for version in checklists.versions_of(session, "six_s"):
        version.withdrawn_at = utcnow()
    session.flush()
    codes = [offer.code for offer in service.offers(session, ORDER)]
    assert codes == ["teller_seven_steps", "five_courtesies"]
