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
    from shopper.checklists.service import load_directory

    with app.app_context():
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
        assert [i.status for i in examples] == ["released", "submitted", "draft", "released"]
        returned = examples[2]
        assert returned.submissions[0].return_reason and returned.score is None
        for inspection in examples:
            assert inspection.submissions[0].score is not None
            assert inspection.arrived_at < inspection.ticket_at <= inspection.called_at
            assert inspection.called_at < inspection.departed_at
            assert inspection.checkin_band == "near"


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
