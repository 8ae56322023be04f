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


def test_last_period_was_inspected_on_the_first_edition_and_this_one_on_the_latest(app, tmp_path):
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


def test_head_office_closes_the_period_proposes_the_next_plan_and_inspectors_see_it(app, tmp_path):
    """The issue's demo: close 2026Q4, propose 2027Q1 (every outlet under 85 re-inspected,
    every rule met), open it; the inspectors' phones show their new assignments."""
    import re

    from shopper.models import Assignment, Period
    from shopper.periods import plan
    from tests.conftest import Client

    seed(app, tmp_path)
    passwords = {
        user: password for _role, user, password in demo._read_logins(tmp_path / demo.LOGINS_FILE)
    }
    assert {"inspector3", "checker0", "checker1", "checker2", "checker3"} <= passwords.keys()
    with app.app_context():
        periods = {p.code: p for p in db.session.scalars(select(Period))}
        current = next(p for p in periods.values() if p.state == "open")
        upcoming = next(p for p in periods.values() if p.state == "planned")
        current_id, upcoming_id, upcoming_code = current.id, upcoming.id, upcoming.code
        videos = db.session.scalar(
            select(func.count()).where(
                Assignment.period_id == current_id, Assignment.kind == "video"
            )
        )
        assert videos == 2 * 12
        under = {
            outlet_id
            for outlet_id, score in plan.last_scores(db.session, current).items()
            if score < 85
        }
        assert under  # the demo has an outlet to re-inspect

    def signed_in(username):
        client = Client(app)
        assert client.login(username, passwords[username]).status_code == 302
        return client

    admin = signed_in("admin")
    assert admin.post(f"/office/periods/{current_id}/close", {"confirm": "y"}).status_code == 302
    proposed = admin.post(f"/office/periods/{upcoming_id}/plan/propose", {"confirm": "y"})
    assert proposed.status_code == 302
    page = admin.get(proposed.headers["Location"]).get_data(as_text=True)
    assert "Every rule is met" in page and 'class="rule broken"' not in page
    with app.app_context():
        rows = db.session.scalars(
            select(Assignment).where(Assignment.period_id == upcoming_id)
        ).all()
        reinspected = {a.outlet_id for a in rows if a.kind == "mystery" and a.reinspection}
        assert under <= reinspected
        assert all(r.met for r in plan.check_for(db.session, db.session.get(Period, upcoming_id)))
        mine = {a.inspector.username for a in rows}
    assert admin.post(f"/office/periods/{upcoming_id}/open").status_code == 302
    for username in ("inspector1", "inspector2", "inspector3", "checker0", "checker1"):
        assert username in mine
        phone = signed_in(username).get("/inspect/").get_data(as_text=True)
        assert upcoming_code in phone
        assert len(re.findall(r'class="card"', phone)) == sum(
            1 for a in rows if a.inspector.username == username
        )
