"""The inspector's core flow: start, autosave, review, submit, read-only."""

from decimal import Decimal

from sqlalchemy import select

from shopper.extensions import db
from shopper.inspections import service
from shopper.inspections.models import Answer, Inspection
from tests.factories import answer, answer_all, counts, items, start, submit


def test_inspector_sees_only_their_assignments_for_the_current_period(login, world):
    page = login("inspector").get("/inspect/").get_data(as_text=True)
    assert "Outlet One" in page and "Outlet Two" in page
    assert "Outlet Three" not in page  # inspector2's
    assert "2026Q4" in page


def test_starting_twice_returns_the_same_inspection(login, world):
    c = login("inspector")
    assert start(c, world.assignment_ids["inspector"][0]) == start(
        c, world.assignment_ids["inspector"][0]
    )


def test_an_inspection_pins_the_latest_checklist_versions(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    pinned = items(app, iid)
    assert len(pinned) >= 40
    assert {code.split("-")[0] for _, code, _ in pinned} == {"S6", "T7", "C5"}
    assert pinned[0][1].startswith("S6")  # the order an inspector meets them


def test_an_answer_is_saved_as_given_and_can_be_changed(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = items(app, iid)[0]
    first = answer(c, iid, version, code, "fail", "dusty counter")
    assert first.status_code == 200
    assert first.json["answered"] == 1 and first.json["applied"] is True
    answer(c, iid, version, code, "pass")
    with app.app_context():
        saved = db.session.scalars(select(Answer).where(Answer.inspection_id == iid)).all()
        assert [(a.item_code, a.result, a.note) for a in saved] == [(code, "pass", "")]


def test_a_retried_write_is_applied_once(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = items(app, iid)[0]
    answer(c, iid, version, code, "fail", "first", uuid="11111111-1111-4111-8111-111111111111")
    answer(c, iid, version, code, "pass", "", uuid="22222222-2222-4222-8222-222222222222")
    # the first request arrives again, late: it must not undo the newer answer
    late = answer(
        c, iid, version, code, "fail", "first", uuid="11111111-1111-4111-8111-111111111111"
    )
    assert late.status_code == 200 and late.json["applied"] is False
    with app.app_context():
        assert db.session.scalar(select(Answer.result).where(Answer.inspection_id == iid)) == "pass"


def test_reopening_continues_where_the_inspector_stopped(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = items(app, iid)[1]
    answer(c, iid, version, code, "fail", "no leaflets on the rack")
    again = login("inspector")  # a new browser, same inspector
    page = again.get(f"/inspect/{iid}").get_data(as_text=True)
    assert "no leaflets on the rack" in page
    assert 'value="fail" checked' in page
    assert f'<progress id="progress" value="1" max="{len(items(app, iid))}"' in page


def test_review_lists_unanswered_and_failed_items(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    all_items = items(app, iid)
    version, code, item = next(i for i in all_items if not i[2].photo_required_on_fail)
    answer(c, iid, version, code, "fail", "")
    page = c.get(f"/inspect/{iid}/review").get_data(as_text=True)
    assert f"{len(all_items)} items need attention" in page
    assert "A failed item needs a note" in page
    assert "Not answered" in page


def test_submission_is_refused_with_the_list_of_what_is_missing(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    all_items = items(app, iid)
    for version, code, _item in all_items[1:]:
        answer(c, iid, version, code, "pass")
    response = submit(c, iid)
    assert response.status_code == 409
    assert all_items[0][1] in response.get_data(as_text=True)
    as_json = submit(c, iid, json=True)
    assert as_json.status_code == 409 and "cannot be submitted" in as_json.json["error"]
    with app.app_context():
        assert db.session.get(Inspection, iid).status == "draft"


def test_a_failed_item_without_a_note_blocks_submission(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, iid)
    version, code, _ = next(i for i in items(app, iid) if not i[2].photo_required_on_fail)
    answer(c, iid, version, code, "fail", "   ")
    assert submit(c, iid).status_code == 409


def test_submitting_scores_freezes_and_shows_the_score(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, iid)
    response = submit(c, iid)
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/inspections/{iid}"
    )
    page = c.get(f"/inspections/{iid}").get_data(as_text=True)
    assert "100.0" in page
    with app.app_context():
        inspection = db.session.get(Inspection, iid)
        assert (inspection.status, inspection.score, inspection.band) == (
            "submitted",
            Decimal("100.0"),
            "excellent",
        )
        sections = sum(len(p.checklist.sections) for p in service.pinned(inspection))
        assert len(inspection.section_scores) == sections == 24
    # read-only: the fill page now leads to the record
    assert c.get(f"/inspect/{iid}").headers["Location"].endswith(f"/inspections/{iid}")


def test_a_failed_red_line_fails_a_high_score(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(
        c,
        app,
        iid,
        lambda item: "fail" if item.red_line and not item.photo_required_on_fail else "pass",
    )
    assert submit(c, iid).status_code == 302
    with app.app_context():
        inspection = db.session.get(Inspection, iid)
        assert inspection.red_line_failed and inspection.score > 90
        assert inspection.band == "severe_fail"  # the default red-line band: the lowest


def test_na_items_leave_the_score(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, iid, lambda item: "na" if item.na_allowed else "pass")
    submit(c, iid)
    with app.app_context():
        inspection = db.session.get(Inspection, iid)
        assert inspection.score == 100 and inspection.points_applicable < 100


def test_a_second_submit_changes_nothing(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, iid)
    submit(c, iid)
    before = counts(app)
    assert submit(c, iid, json=True).status_code == 409  # the phone's queue hears 409
    again = submit(c, iid)  # a browser lands on the submitted record
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/{iid}")
    assert counts(app) == before


def test_video_inspections_say_so(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0], mode="video")
    assert "By video" in c.get(f"/inspect/{iid}").get_data(as_text=True)
