"""The visit record and the check-in that proves the visit; photo flags for head office."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from flask import render_template_string
from sqlalchemy import select, update

from shopper.db import Base
from shopper.extensions import db
from shopper.inspections import visit as visits
from shopper.inspections.models import ClientWrite, Inspection
from shopper.org.models import Outlet
from shopper.photos.models import Photo
from tests.factories import answer_all, counts, items, jpeg, release, start, submit, upload

ZONE = ZoneInfo("Asia/Shanghai")
VISIT_COLUMNS = (*visits.FIELDS, "checkin_band", "checkin_at")
FULL = {
    "arrived_at": "09:30",
    "departed_at": "10:05",
    "ticket_at": "09:32",
    "called_at": "09:44",
    "customers_waiting": "4",
    "windows_open": "3",
    "windows_total": "5",
    "business": "Cash withdrawal of 2000 yuan",
    "teller_window": "3",
    "teller_badge": "A0231",
}
WEST_LAKE = (Decimal("30.257000"), Decimal("120.162000"))


def began_yesterday(app, iid: int) -> datetime:
    """Start the inspection yesterday at 08:00 local, so every HH:MM of the visit is past."""
    day = datetime.now(ZONE).date() - timedelta(days=1)
    began = datetime(day.year, day.month, day.day, 8, 0, tzinfo=ZONE)
    with app.app_context():
        db.session.execute(update(Inspection).where(Inspection.id == iid).values(started_at=began))
        db.session.commit()
    return began


def place_outlet(app, outlet_id: int, where=WEST_LAKE) -> None:
    with app.app_context():
        outlet = db.session.get(Outlet, outlet_id)
        outlet.latitude, outlet.longitude = where if where else (None, None)
        db.session.commit()


def visit_row(app, iid: int) -> dict:
    with app.app_context():
        inspection = db.session.get(Inspection, iid)
        return {name: getattr(inspection, name) for name in VISIT_COLUMNS}


def save(c, iid, fields, **kw):
    data = {"uuid": kw.pop("uuid", None) or str(uuid.uuid4()), **fields}
    return c.post(f"/inspect/{iid}/visit", data, json=kw.pop("json", True), **kw)


def checkin(c, iid, latitude, longitude, accuracy="15", **kw):
    data = {
        "uuid": kw.pop("uuid", None) or str(uuid.uuid4()),
        "latitude": latitude,
        "longitude": longitude,
        "accuracy": accuracy,
    }
    return c.post(f"/inspect/{iid}/checkin", data, json=kw.pop("json", True), **kw)


@pytest.fixture
def draft(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    began = began_yesterday(app, iid)
    return c, iid, began


def test_the_visit_record_is_saved_as_local_times_on_the_visits_day(draft, app):
    c, iid, began = draft
    response = save(c, iid, FULL)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["applied"] is True
    shown = response.json["visit"]
    assert {k: shown[k] for k in FULL} == FULL
    assert shown["waiting_minutes"] == 12 and shown["visit_minutes"] == 35
    assert shown["day"] == began.date().isoformat()
    row = visit_row(app, iid)
    assert row["arrived_at"] == began.replace(hour=9, minute=30).astimezone(UTC)
    assert row["customers_waiting"] == 4 and row["windows_total"] == 5
    assert row["teller_badge"] == "A0231"


def test_a_retried_visit_write_is_applied_once(draft, app):
    c, iid, _ = draft
    first = "11111111-1111-4111-8111-111111111111"
    assert save(c, iid, FULL, uuid=first).json["applied"] is True
    save(c, iid, {**FULL, "customers_waiting": "9"})
    late = save(c, iid, FULL, uuid=first)  # the first request arrives again, late
    assert late.status_code == 200 and late.json["applied"] is False
    assert visit_row(app, iid)["customers_waiting"] == 9


def test_a_uuid_reused_for_other_visit_values_is_refused(draft, app):
    c, iid, _ = draft
    same = "22222222-2222-4222-8222-222222222222"
    save(c, iid, FULL, uuid=same)
    refused(app, iid, lambda: save(c, iid, {**FULL, "windows_open": "1"}, uuid=same), 409,
            "identifier")  # fmt: skip


def test_an_empty_field_clears_it_and_a_field_not_sent_is_kept(draft, app):
    c, iid, _ = draft
    save(c, iid, FULL)
    response = save(c, iid, {"business": "", "teller_badge": "B7"})
    assert response.status_code == 200
    row = visit_row(app, iid)
    assert row["business"] is None and row["teller_badge"] == "B7"
    assert row["teller_window"] == "3" and row["customers_waiting"] == 4


def test_the_whole_form_with_every_field_empty_clears_the_record(draft, app):
    c, iid, _ = draft
    save(c, iid, FULL)
    assert save(c, iid, dict.fromkeys(FULL, "")).json["visit"]["recorded"] is False
    assert all(value is None for value in visit_row(app, iid).values())


def refused(app, iid, do, status, message):
    before = counts(app), visit_row(app, iid)
    response = do()
    assert response.status_code == status, response.get_data(as_text=True)
    assert message in response.json["error"]
    assert (counts(app), visit_row(app, iid)) == before
    return response


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"arrived_at": "9.30"}, "such as 09:30"),
        ({"arrived_at": "24:00"}, "such as 09:30"),
        ({"called_at": "09:61"}, "such as 09:30"),
        ({"arrived_at": "10:00", "departed_at": "10:00"}, "departure time must be after"),
        ({"arrived_at": "10:00", "departed_at": "09:00"}, "departure time must be after"),
        ({"ticket_at": "09:40", "called_at": "09:35"}, "called before it was taken"),
        ({"arrived_at": "09:30", "ticket_at": "09:20"}, "between arrival and departure"),
        ({"departed_at": "10:00", "called_at": "10:10"}, "between arrival and departure"),
        ({"customers_waiting": "-1"}, "between 0 and 999"),
        ({"customers_waiting": "1000"}, "between 0 and 999"),
        ({"customers_waiting": "3.5"}, "whole numbers"),
        ({"windows_total": "two"}, "whole numbers"),
        ({"windows_total": "100"}, "between 0 and 99"),
        ({"windows_open": "6", "windows_total": "5"}, "More windows are open"),
        ({"business": "x" * 201}, "at most 200 characters"),
        ({"teller_window": "x" * 21}, "at most 20 characters"),
        ({"teller_badge": "x" * 21}, "at most 20 characters"),
    ],
)
def test_a_visit_the_rules_refuse_changes_nothing(draft, app, fields, message):
    c, iid, _ = draft
    refused(app, iid, lambda: save(c, iid, fields), 400, message)


def test_a_rule_is_checked_against_what_was_recorded_before(draft, app):
    c, iid, _ = draft
    save(c, iid, {"arrived_at": "10:00"})
    refused(app, iid, lambda: save(c, iid, {"departed_at": "09:50"}), 400, "must be after")


def test_a_visit_time_later_than_now_is_refused(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    later = (datetime.now(ZONE) + timedelta(hours=1)).strftime("%H:%M")
    if later < datetime.now(ZONE).strftime("%H:%M"):
        pytest.skip("an hour from now is tomorrow")
    refused(app, iid, lambda: save(c, iid, {"arrived_at": later}), 400, "later than now")


def test_the_visit_of_a_submitted_inspection_cannot_change(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, iid)
    assert submit(c, iid).status_code == 302
    refused(app, iid, lambda: save(c, iid, {"customers_waiting": "3"}), 409, "no longer")
    refused(app, iid, lambda: checkin(c, iid, "30.257", "120.162"), 409, "no longer")


def test_another_inspectors_visit_is_not_found(draft, login, app):
    _, iid, _ = draft
    other = login("inspector2")
    refused(app, iid, lambda: save(other, iid, FULL), 404, "does not exist")
    refused(app, iid, lambda: checkin(other, iid, "30.257", "120.162"), 404, "does not exist")


def test_without_javascript_saving_leads_back_to_the_form(draft, app):
    c, iid, _ = draft
    response = save(c, iid, FULL, json=False)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/inspect/{iid}#visit")
    assert visit_row(app, iid)["teller_window"] == "3"


def render_form(app, iid: int) -> str:
    from shopper.inspections import pages

    with app.test_request_context(headers={"Accept-Language": "en"}):
        inspection = db.session.get(Inspection, iid)
        return render_template_string(
            '{% from "inspect/_visit.html" import visit_form %}{{ visit_form(i, v) }}',
            i=pages.header(inspection),
            v=visits.visit_data(inspection),
        )


def test_the_visit_form_carries_everything_the_offline_queue_sends(draft, app):
    c, iid, _ = draft
    save(c, iid, FULL)
    html = render_form(app, iid)
    assert f'action="/inspect/{iid}/visit" data-queue="visit"' in html
    assert 'name="uuid" value="' in html
    for name, value in FULL.items():
        assert f'name="{name}" value="{value}"' in html
    assert html.count('type="time"') == 4 and html.count('inputmode="numeric"') == 3
    assert f'class="checkin" data-url="/inspect/{iid}/checkin"' in html
    assert "Waited 12 min" in html


def test_a_video_inspection_has_no_check_in_button(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0], mode="video")
    assert 'class="checkin"' not in render_form(app, iid)


# ---- check-in ----


def test_a_check_in_near_the_outlet_is_near(draft, app, world):
    c, iid, _ = draft
    place_outlet(app, world.outlet_ids[0])
    response = checkin(c, iid, "30.2585", "120.1630")  # ~190 m away
    assert response.status_code == 200 and response.json == {"band": "near"}
    row = visit_row(app, iid)
    assert row["checkin_band"] == "near" and row["checkin_at"] is not None


def test_a_check_in_far_from_the_outlet_is_far_until_a_near_one(draft, app, world):
    c, iid, _ = draft
    place_outlet(app, world.outlet_ids[0])
    assert checkin(c, iid, "30.2100", "120.2300").json == {"band": "far"}  # Binjiang
    assert checkin(c, iid, "30.2571", "120.1621").json == {"band": "near"}
    # a near check-in proved the visit: a later reading from afar does not undo it
    assert checkin(c, iid, "30.2100", "120.2300").json == {"band": "near"}
    assert visit_row(app, iid)["checkin_band"] == "near"


def test_a_check_in_where_the_outlet_has_no_location_is_unknown(draft, app):
    c, iid, _ = draft
    assert checkin(c, iid, "30.2571", "120.1621", accuracy="").json == {"band": "unknown"}
    assert visit_row(app, iid)["checkin_band"] == "unknown"


def test_a_retried_check_in_is_applied_once(draft, app, world):
    c, iid, _ = draft
    place_outlet(app, world.outlet_ids[0])
    same = "33333333-3333-4333-8333-333333333333"
    assert checkin(c, iid, "30.2100", "120.2300", uuid=same).json == {"band": "far"}
    stamped = visit_row(app, iid)["checkin_at"]
    assert checkin(c, iid, "30.2100", "120.2300", uuid=same).json == {"band": "far"}
    assert visit_row(app, iid)["checkin_at"] == stamped
    with app.app_context():
        kinds = db.session.scalars(select(ClientWrite.kind)).all()
        assert kinds.count("checkin") == 1


def test_a_video_inspection_cannot_check_in(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0], mode="video")
    refused(app, iid, lambda: checkin(c, iid, "30.257", "120.162"), 409, "video inspection")


@pytest.mark.parametrize(
    ("latitude", "longitude", "accuracy"),
    [("", "", ""), ("91", "120", ""), ("30", "181", ""), ("nan", "120", ""),
     ("30.2", "east", ""), ("30.2", "120.1", "-5"), ("30.2", "120.1", "inf")],
)  # fmt: skip
def test_a_position_that_is_not_one_is_refused(draft, app, latitude, longitude, accuracy):
    c, iid, _ = draft
    refused(
        app,
        iid,
        lambda: checkin(c, iid, latitude, longitude, accuracy),
        400,
        "location could not be read",
    )


def test_no_coordinates_are_stored_anywhere(draft, app, world):
    """Every column of every row of every table: only the band and the time remain."""
    c, iid, _ = draft
    place_outlet(app, world.outlet_ids[0])
    assert checkin(c, iid, "30.258917", "120.163483", accuracy="17.25").json["band"] == "near"
    traces = ("30.258917", "120.163483", "30.25891", "120.16348", "17.25")
    with app.app_context():
        for table in Base.metadata.sorted_tables:
            for row in db.session.execute(table.select()):
                for column, value in row._mapping.items():
                    text = str(value)
                    assert not any(trace in text for trace in traces), (table.name, column)
                    if isinstance(value, float | Decimal):
                        assert abs(float(value) - 30.258917) > 1e-4, (table.name, column)
                        assert abs(float(value) - 120.163483) > 1e-4, (table.name, column)


# ---- the record page ----


def submitted_with_visit(c, app, iid, photos=()) -> None:
    save(c, iid, FULL)
    answer_all(c, app, iid)
    for data in photos:
        version, code, _ = items(app, iid)[0]
        assert upload(c, iid, version, code, data).status_code == 201
    assert submit(c, iid).status_code == 302
    release(app, iid)


@pytest.mark.parametrize("role", ["admin", "inspector", "outlet_manager", "sub_branch_manager"])
def test_everyone_who_can_see_the_record_sees_the_visit(draft, app, login, role):
    c, iid, _ = draft
    submitted_with_visit(c, app, iid)
    page = login(role).get(f"/inspections/{iid}").get_data(as_text=True)
    assert "Visit record" in page
    assert "09:30–10:05" in page and "(35 min)" in page
    assert "taken 09:32, called 09:44" in page and "Waited 12 min" in page
    assert "3 of 5" in page and "Cash withdrawal of 2000 yuan" in page
    assert "Observed at window 3, staff badge A0231" in page  # over the teller items
    assert ("Proof of the visit" in page) is (role == "admin")


def test_a_record_without_a_visit_says_so(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, iid)
    submit(c, iid)
    assert "No visit record was made." in login("admin").get(f"/inspections/{iid}").get_data(
        as_text=True
    )


def test_head_office_sees_the_check_in_band_and_outlets_do_not(draft, app, login, world):
    c, iid, _ = draft
    place_outlet(app, world.outlet_ids[0])
    checkin(c, iid, "30.2585", "120.1630")
    submitted_with_visit(c, app, iid)
    office = login("admin").get(f"/inspections/{iid}").get_data(as_text=True)
    assert "Within 300 m of the outlet" in office
    outlet = login("outlet_manager").get(f"/inspections/{iid}").get_data(as_text=True)
    assert "300 m" not in outlet and "Check-in" not in outlet


def set_photo(app, photo_id: int, **values) -> None:
    with app.app_context():
        db.session.execute(update(Photo).where(Photo.id == photo_id).values(**values))
        db.session.commit()


def test_head_office_sees_photos_taken_outside_the_visit_or_from_the_gallery(draft, app, login):
    c, iid, began = draft
    submitted_with_visit(c, app, iid, photos=[jpeg(), jpeg(color=(1, 2, 3)), jpeg(color=(9, 9, 9))])
    arrived = began.replace(hour=9, minute=30)
    with app.app_context():
        ids = db.session.scalars(select(Photo.id).order_by(Photo.id)).all()
    set_photo(app, ids[0], captured_at=arrived + timedelta(minutes=10), source="camera")
    set_photo(app, ids[1], captured_at=arrived - timedelta(hours=3), source="camera")
    set_photo(app, ids[2], captured_at=arrived + timedelta(minutes=20), source="gallery")
    office = login("admin").get(f"/inspections/{iid}").get_data(as_text=True)
    assert office.count("Taken outside the visit") == 1
    assert office.count("From the gallery") == 1
    assert "2 photos flagged below" in office
    for role in ("outlet_manager", "inspector"):
        page = login(role).get(f"/inspections/{iid}").get_data(as_text=True)
        assert "Taken outside the visit" not in page and "From the gallery" not in page


def test_the_visit_window_has_a_15_minute_margin(draft, app):
    c, iid, began = draft
    save(c, iid, FULL)  # 09:30–10:05
    arrived, departed = began.replace(hour=9, minute=30), began.replace(hour=10, minute=5)
    version, code, _ = items(app, iid)[0]
    for _ in range(4):
        upload(c, iid, version, code, jpeg())
    with app.app_context():
        ids = db.session.scalars(select(Photo.id).order_by(Photo.id)).all()
    times = [
        arrived - timedelta(minutes=14),
        arrived - timedelta(minutes=16),
        departed + timedelta(minutes=14),
        departed + timedelta(minutes=16),
    ]
    for photo_id, moment in zip(ids, times, strict=True):
        set_photo(app, photo_id, captured_at=moment)
    with app.app_context():
        flags = visits.photo_flags(db.session, db.session.get(Inspection, iid))
    assert flags == {ids[1]: ["outside_visit"], ids[3]: ["outside_visit"]}


def test_without_visit_times_the_window_is_the_inspections_start_to_its_submission(draft, app):
    c, iid, began = draft
    version, code, _ = items(app, iid)[0]
    upload(c, iid, version, code, jpeg())
    upload(c, iid, version, code, jpeg(color=(3, 3, 3)))
    upload(c, iid, version, code, jpeg(color=(4, 4, 4)))
    with app.app_context():
        ids = db.session.scalars(select(Photo.id).order_by(Photo.id)).all()
    set_photo(app, ids[0], captured_at=began + timedelta(minutes=5))
    set_photo(app, ids[1], captured_at=began - timedelta(minutes=30))
    set_photo(app, ids[2], captured_at=None)  # unknown: nothing to compare
    with app.app_context():
        inspection = db.session.get(Inspection, iid)
        flags = visits.photo_flags(db.session, inspection, now=began + timedelta(hours=1))
    assert flags == {ids[1]: ["outside_visit"]}


def test_a_visit_write_without_a_uuid_is_refused(draft, app):
    c, iid, _ = draft
    refused(app, iid, lambda: c.post(f"/inspect/{iid}/visit", FULL, json=True), 400, "uuid")


def test_the_service_refuses_a_time_later_than_now_on_any_clock(draft, app, world):
    from shopper.auth.models import User
    from shopper.refusals import Refused

    _, iid, began = draft
    with app.app_context():
        inspection = db.session.get(Inspection, iid)
        inspector = db.session.get(User, world.users["inspector"])
        with pytest.raises(Refused) as refused_:
            visits.save_visit(
                db.session, inspector, inspection, {"departed_at": "09:06"}, str(uuid.uuid4()),
                now=began.replace(hour=9),
            )  # fmt: skip
        assert refused_.value.code == "visit_time_future"
        # the phone's clock may run a few minutes ahead of the server's
        assert visits.save_visit(
            db.session, inspector, inspection, {"departed_at": "09:04"}, str(uuid.uuid4()),
            now=began.replace(hour=9),
        )  # fmt: skip
        db.session.rollback()
