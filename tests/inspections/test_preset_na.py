"""Items the outlet lacks a feature for, and items video cannot judge, are answered N/A at
the start: marked as such, not the inspector's to change, and out of the score."""

from sqlalchemy import select

from shopper.extensions import db
from shopper.org.models import Feature, Outlet
from tests.factories import answer, answer_all, counts, items, preset, start, submit


def lacking(app, outlet_id, *codes):
    with app.app_context():
        outlet = db.session.get(Outlet, outlet_id)
        outlet.features = [f for f in outlet.features if f.code not in codes]
        db.session.commit()


def test_an_outlet_without_a_feature_gets_its_items_answered_na_at_the_start(login, world, app):
    lacking(app, world.outlet_ids[0], "self_service", "lobby_manager")
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    needing = {
        code
        for _v, code, item in items(app, iid)
        if {"self_service", "lobby_manager"} & set(item.features)
    }
    assert needing and preset(app, iid) == dict.fromkeys(needing, "outlet")
    page = c.get(f"/inspect/{iid}").get_data(as_text=True)
    assert page.count("not applicable to this outlet") == len(needing)


def test_a_video_check_answers_na_what_video_cannot_judge(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0], mode="video")
    unseen = {code for _v, code, item in items(app, iid) if not item.video_observable}
    assert unseen and preset(app, iid) == dict.fromkeys(unseen, "video")
    assert "cannot be judged on video" in c.get(f"/inspect/{iid}").get_data(as_text=True)


def test_the_inspector_cannot_change_an_item_set_na_at_the_start(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0], mode="video")
    version, code, _item = next(
        (v, code, item) for v, code, item in items(app, iid) if not item.video_observable
    )
    before = counts(app)
    for result, note in (("pass", ""), ("fail", "seen"), ("na", "")):
        response = answer(c, iid, version, code, result, note)
        assert response.status_code == 409
        assert "cannot be judged on video" in response.get_json()["error"]
    assert counts(app) == before


def test_preset_items_do_not_block_submission_and_leave_the_score(login, world, app):
    lacking(app, world.outlet_ids[0], "self_service")
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, iid)
    assert submit(c, iid).status_code == 302
    from shopper.inspections.models import Inspection

    with app.app_context():
        inspection = db.session.get(Inspection, iid)
        total = sum(item.points for _v, _c, item in items(app, iid))
        left_out = sum(
            item.points for _v, code, item in items(app, iid) if code in preset(app, iid)
        )
        assert inspection.points_applicable == total - left_out
        assert inspection.score == 100


def test_a_feature_added_later_does_not_change_a_started_inspection(login, world, app):
    lacking(app, world.outlet_ids[0], "self_service")
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    before = preset(app, iid)
    with app.app_context():
        outlet = db.session.get(Outlet, world.outlet_ids[0])
        outlet.features.append(
            db.session.scalar(select(Feature).where(Feature.code == "self_service"))
        )
        db.session.commit()
    assert preset(app, iid) == before != {}
