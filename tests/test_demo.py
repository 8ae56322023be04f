"""The demo organisation: outlets in one city, example inspections with a visit record."""

from itertools import combinations

from sqlalchemy import select, update

from shopper import demo
from shopper.core.geo import NEAR_METRES, Point, distance_metres
from shopper.extensions import db
from shopper.inspections.models import Inspection
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
        examples = db.session.scalars(select(Inspection)).all()
        assert len(examples) == 3
        for inspection in examples:
            assert inspection.submitted and inspection.attested_at is not None
            assert inspection.arrived_at < inspection.ticket_at <= inspection.called_at
            assert inspection.called_at < inspection.departed_at
            assert inspection.checkin_band == "near"


def test_seeding_again_places_outlets_that_have_no_location(app, tmp_path):
    seed(app, tmp_path)
    with app.app_context():
        db.session.execute(update(Outlet).values(latitude=None, longitude=None))
        db.session.commit()
    seed(app, tmp_path)
    with app.app_context():
        assert None not in db.session.scalars(select(Outlet.latitude)).all()
