"""The demo organisation: outlets in one city, example inspections with a visit record."""

from itertools import combinations

from sqlalchemy import func, select, update

from shopper import demo
from shopper.auth.models import User
from shopper.core.geo import NEAR_METRES, Point, distance_metres
from shopper.extensions import db
from shopper.inspections.models import Inspection
from shopper.notices.models import Finding, Notice
from shopper.org.models import Outlet
from tests.conftest import ROOT


def seed(app, tmp_path):
    from shopper.checklists.service import load_directory, load_editions
    from shopper.org.features import ensure_defaults

    with app.app_context():
        ensure_defaults(db.session)
        load_editions(db.session, ROOT / "checklists")
        load_directory(db.session, ROOT / "checklists")
        demo.seed(db.session, tmp_path, app.config)
        db.session.commit()


def test_the_demo_outlets_are_a_few_km_apart_in_hangzhou(app, tmp_path):
    seed(app, tmp_path)
    with app.app_context():
        outlets = db.session.scalars(select(Outlet)).all()
        points = [Point(float(o.latitude), float(o.longitude)) for o in outlets]
    assert len(points) == 12
    hangzhou = Point(30.2741, 120.1551)
    assert all(distance_metres(p, hangzhou) < 25_000 for p in points)
    # no spot is "near" two outlets at once
    assert all(distance_metres(a, b) > 2 * NEAR_METRES for a, b in combinations(points, 2))


def test_the_example_inspections_have_a_visit_record_and_an_attestation(app, tmp_path):
    seed(app, tmp_path)
    with app.app_context():
        examples = db.session.scalars(select(Inspection).order_by(Inspection.id)).all()
        statuses = ["released", "released", "released", "submitted", "draft", "released"]
        assert [i.status for i in examples] == statuses
        returned = examples[4]
        assert returned.submissions[0].return_reason and returned.score is None
        for inspection in examples:
            assert inspection.submissions[0].score is not None
            assert inspection.arrived_at < inspection.ticket_at <= inspection.called_at
            assert inspection.called_at < inspection.departed_at
            assert inspection.checkin_band == "near"


def test_last_period_was_inspected_on_the_first_edition_and_this_one_on_the_latest(
    app, tmp_path
):
    from shopper.checklists.service import latest_versions

    seed(app, tmp_path)
    with app.app_context():
        examples = db.session.scalars(select(Inspection).order_by(Inspection.id)).all()
        latest = {v.code: v.version for v in latest_versions(db.session)}
        assert latest == {"six_s": 2, "teller_seven_steps": 2, "five_courtesies": 2}
        for inspection in examples[:2]:
            assert {c.version.version for c in inspection.checklists} == {1}
        for inspection in examples[2:]:
            assert {c.version.code: c.version.version for c in inspection.checklists} == latest


def test_items_an_outlet_lacks_the_feature_for_were_answered_na_before_the_visit(app, tmp_path):
    seed(app, tmp_path)
    with app.app_context():
        small = db.session.scalar(select(Outlet).where(Outlet.code == "SB03-11"))
        assert "self_service" not in small.feature_codes
        inspection = db.session.scalar(select(Inspection).where(Inspection.outlet_id == small.id))
        preset = [a for a in inspection.answers if a.na_reason == "outlet"]
        assert preset and all(a.result == "na" for a in preset)


def test_the_demo_outlet_manager_has_a_signed_notice_to_answer(app, tmp_path):
    seed(app, tmp_path)
    with app.app_context():
        manager = db.session.scalar(select(User).where(User.username == "outlet12"))
        notices = db.session.scalars(
            select(Notice).where(Notice.outlet_id == manager.outlet_id)
        ).all()
        assert len(notices) == 1 and notices[0].number.startswith("ZG-")
        assert db.session.scalar(select(func.count()).select_from(Finding)) >= 2


def test_seeding_again_places_outlets_that_have_no_location(app, tmp_path):
    seed(app, tmp_path)
    with app.app_context():
        db.session.execute(update(Outlet).values(latitude=None, longitude=None))
        db.session.commit()
    seed(app, tmp_path)
    with app.app_context():
        assert None not in db.session.scalars(select(Outlet.latitude)).all()
