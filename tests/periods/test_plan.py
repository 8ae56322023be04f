"""A period's plan on the database: what the rules are fed, check and propose, opening with a
broken rule, closing, thresholds, and bank checkers on the phone's screens."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from shopper.audit.models import AuditRecord
from shopper.auth.models import Role, User
from shopper.core.planning import Rule
from shopper.extensions import db
from shopper.inspections.models import Inspection
from shopper.models import Assignment, Outlet, Period
from shopper.periods import plan
from tests.conftest import make_user
from tests.factories import start
from tests.periods.test_periods import form

CONFIG = {
    "COVERAGE_SHARE": "0.60",
    "VIDEO_CHECKS_PER_OUTLET": 2,
    "REINSPECTION_BELOW": "85",
    "WORKLOAD_TOLERANCE": 1,
}


def text(response) -> str:
    return response.get_data(as_text=True)


def new_period(session, code="2027Q1", starts=date(2027, 1, 1), ends=date(2027, 3, 31), **kw):
    period = Period(code=code, starts_on=starts, ends_on=ends, state="planned", **kw)
    session.add(period)
    session.flush()
    return period


def released(session, assignment_id: int, score: str) -> Inspection:
    """A released inspection of the assignment with that score, made directly."""
    a = session.get(Assignment, assignment_id)
    inspection = Inspection(
        assignment_id=a.id,
        period_id=a.period_id,
        outlet_id=a.outlet_id,
        inspector_id=a.inspector_id,
        mode="on_site",
        status="released",
        score=Decimal(score),
    )
    session.add(inspection)
    session.flush()
    return inspection


def head_office_checker(session) -> User:
    user = make_user(session, "ho_checker", Role.BANK_CHECKER)
    session.flush()
    return user


def by_code(session) -> dict[str, int]:
    return {code: id for code, id in session.execute(select(Outlet.code, Outlet.id))}


# --- what the rules are given --------------------------------------------------------------


def test_periods_left_come_from_a_quarters_code_else_from_the_dates():
    def period(code, starts, ends):
        return Period(code=code, starts_on=starts, ends_on=ends)

    assert plan.periods_left(period("2027Q1", date(2027, 1, 1), date(2027, 3, 31))) == 4
    assert plan.periods_left(period("2026Q4", date(2026, 10, 1), date(2026, 12, 31))) == 1
    assert plan.periods_left(period("2027-01", date(2027, 1, 1), date(2027, 1, 31))) == 12
    assert plan.periods_left(period("2027H2", date(2027, 7, 1), date(2027, 12, 31))) == 1
    assert plan.periods_left(period("Spring", date(2027, 4, 1), date(2027, 6, 30))) == 3
    assert plan.year_of(period("2026Q4", date(2027, 1, 5), date(2027, 2, 1))) == 2026


def test_a_periods_own_thresholds_override_the_configured_ones():
    period = Period(code="X", starts_on=date(2027, 1, 1), ends_on=date(2027, 3, 31))
    assert plan.thresholds(period, CONFIG) == plan.Thresholds(Decimal("0.60"), 2, Decimal(85), 1)
    period.coverage_share, period.video_checks_per_outlet = Decimal("0.8"), 3
    period.reinspection_below = Decimal("80")
    rules = plan.rules(period, CONFIG | {"WORKLOAD_TOLERANCE": 2})
    assert (rules.coverage_share, rules.video_checks_per_outlet) == (Decimal("0.8"), 3)
    assert (rules.reinspection_below, rules.workload_tolerance) == (Decimal(80), 2)


def test_the_history_comes_from_the_previous_period_and_this_years_visits(session, world):
    codes = by_code(session)
    # 2026Q4 (the previous period of 2027Q2's plan below is 2027Q1): released scores
    q4 = session.get(Period, world.period_id)
    first, second, third = (
        world.assignment_ids["inspector"][0],
        *world.assignment_ids["inspector"][1:2],
        world.assignment_ids["inspector2"][0],
    )
    low = released(session, first, "80.0")
    released(session, third, "92.5")
    draft = session.get(Assignment, second)
    session.add(
        Inspection(
            assignment_id=draft.id,
            period_id=q4.id,
            outlet_id=draft.outlet_id,
            inspector_id=draft.inspector_id,
            mode="on_site",
            status="draft",
        )
    )
    q1 = new_period(session)
    given = plan.inputs(session, q1, CONFIG)
    assert given.previous.code == "2026Q4"
    assert given.history.of(codes["O1"]).last_score == Decimal("80.0")
    assert given.history.of(codes["O3"]).last_score == Decimal("92.5")
    assert given.history.of(codes["O2"]).last_score is None  # never released
    assert given.history.of(codes["O1"]).last_agency_inspector_id == world.users["inspector"]
    assert given.history.of(codes["O3"]).last_agency_inspector_id == world.users["inspector2"]
    # 2027Q1 is the year's first period: nothing visited this year yet
    assert all(not given.history.of(o.id).visited_this_year for o in given.outlets)
    assert given.rules.periods_left == 4
    # a revised score (Inspection.score holds the latest) is what counts
    low.score = Decimal("86.0")
    session.flush()
    assert plan.inputs(session, q1, CONFIG).history.of(codes["O1"]).last_score == Decimal(86)

    # 2027Q2: 2027Q1 is open and planned O2 for the agency: visited this year
    q1.state = "open"
    session.add(Assignment(period=q1, outlet_id=codes["O2"], inspector_id=world.users["inspector"]))
    q2 = new_period(session, "2027Q2", date(2027, 4, 1), date(2027, 6, 30))
    history = plan.inputs(session, q2, CONFIG).history
    assert history.of(codes["O2"]).visited_this_year == {"2027Q1"}
    assert not history.of(codes["O1"]).visited_this_year
    # closed, it counts what was inspected: nothing was
    q1.state = "closed"
    session.flush()
    assert not plan.inputs(session, q2, CONFIG).history.of(codes["O2"]).visited_this_year


def test_the_inspectors_are_the_active_agency_ones_and_bank_checkers_with_their_scope(
    session, world
):
    ho = head_office_checker(session)
    session.get(User, world.users["inspector2"]).active = False
    session.flush()
    found = {i.id: (i.kind, i.scope) for i in plan.inspectors(session)}
    assert found == {
        world.users["inspector"]: ("agency", None),
        world.users["bank_checker"]: ("bank", world.sub_branch_ids[0]),
        ho.id: ("bank", None),
    }


# --- check and propose ---------------------------------------------------------------------


def test_check_reports_the_worlds_plan_broken_with_what_is_involved(session, world):
    results = {
        r.rule: r for r in plan.check_for(session, session.get(Period, world.period_id), CONFIG)
    }
    assert results[Rule.SUB_BRANCHES].met and results[Rule.COVERAGE].met
    video = results[Rule.VIDEO_CHECKS]
    assert not video.met and set(video.outlet_ids) == set(world.outlet_ids)
    assert results[Rule.YEARLY_COVERAGE].met  # Q4: all three are in the plan
    assert results[Rule.WORKLOAD].met  # 2 visits against 1; the checker is alone in SB1


def test_a_proposal_replaces_the_unstarted_assignments_and_meets_every_rule(session, world):
    codes = by_code(session)
    head_office_checker(session)
    make_user(
        session,
        "inspector3",
        Role.INSPECTOR,
        agency_id=session.get(User, world.users["inspector"]).agency_id,
    )
    released(session, world.assignment_ids["inspector"][0], "80.0")  # O1 under 85
    q1 = new_period(session)
    stale = Assignment(period=q1, outlet_id=codes["O2"], inspector_id=world.users["inspector2"])
    session.add(stale)
    session.flush()
    proposal = plan.propose_for(session, q1, seed=3, config=CONFIG)
    assert proposal.broken == [] and proposal.kept == 0 and proposal.removed == 1
    rows = session.scalars(select(Assignment).where(Assignment.period_id == q1.id)).all()
    assert len(rows) == proposal.added
    o1 = [a for a in rows if a.outlet_id == codes["O1"] and a.kind == "mystery"]
    assert len(o1) == 1 and o1[0].reinspection  # re-inspected, by someone new
    assert o1[0].inspector_id != world.users["inspector"]
    assert sum(a.kind == "video" for a in rows) == 2 * 3
    assert all(r.met for r in plan.check_for(session, q1, CONFIG))
    # the same seed makes the same plan
    first = sorted((a.outlet_id, a.inspector_id, a.kind, a.seq) for a in rows)
    plan.propose_for(session, q1, seed=3, config=CONFIG)
    again = session.execute(
        select(
            Assignment.outlet_id, Assignment.inspector_id, Assignment.kind, Assignment.seq
        ).where(Assignment.period_id == q1.id)
    )
    assert sorted(tuple(row) for row in again) == first


def test_a_proposal_keeps_started_assignments_and_counts_them(world, login, app):
    with app.app_context():
        head_office_checker(db.session)
        db.session.commit()
    started = world.assignment_ids["inspector2"][0]
    start(login("inspector2"), started)  # O3
    with app.app_context():
        session = db.session
        period = session.get(Period, world.period_id)
        proposal = plan.propose_for(session, period, seed=0, config=CONFIG)
        assert proposal.kept == 1 and proposal.removed == 2
        rows = session.scalars(select(Assignment).where(Assignment.period_id == period.id)).all()
        mystery = [a for a in rows if a.kind == "mystery"]
        assert sum(a.outlet_id == world.outlet_ids[2] for a in mystery) == 1  # not twice
        assert started in {a.id for a in rows}
        assert proposal.broken == []


def test_a_closed_period_has_no_new_plan(session, world):
    period = session.get(Period, world.old_period_id)
    with pytest.raises(plan.Refused) as refused:
        plan.propose_for(session, period, config=CONFIG)
    assert refused.value.code == "period_closed_plan"


# --- the screen ----------------------------------------------------------------------------


def test_the_plan_screen_shows_each_rule_the_workload_and_the_coverage(login, world, app):
    page = text(login("admin").get(f"/office/periods/{world.period_id}/plan"))
    assert "Plan of 2026Q4" in page
    assert page.count('class="rule met"') + page.count('class="rule broken"') == 8
    assert 'id="rule-video_checks"' in page and "0 of 6 video checks" in page
    assert "<svg" in page and "Coverage as a table" in page
    assert "Workload" in page and "Bank_Checker" in page
    assert page.count("/plan/assignments/") == 3  # each unstarted one can be removed


def test_propose_needs_its_confirmation_then_replaces_the_plan(login, world, app):
    admin = login("admin")
    with app.app_context():
        head_office_checker(db.session)
        q1 = new_period(db.session)
        db.session.commit()
        q1_id = q1.id
    refused = admin.post(f"/office/periods/{q1_id}/plan/propose", {"seed": "1"})
    assert refused.status_code == 400 and "Tick the confirmation" in text(refused)
    done = admin.post(f"/office/periods/{q1_id}/plan/propose", {"seed": "1", "confirm": "y"})
    assert done.status_code == 302
    page = text(admin.get(done.headers["Location"]))
    assert "Plan proposed" in page
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Assignment).where(Assignment.period_id == q1_id)
        )
        record = db.session.scalars(
            select(AuditRecord).where(AuditRecord.action == "period.plan_proposed")
        ).one()
    assert count == json.loads(record.changes)["added"] > 0


def test_assignments_are_added_and_removed_by_hand_with_sentences_for_mistakes(login, world, app):
    admin = login("admin")
    url = f"/office/periods/{world.period_id}/plan/assignments"
    checker = world.users["bank_checker"]
    cases = [
        ({"outlet": "NOPE", "inspector": checker, "kind": "video"}, "No outlet has that code"),
        ({"outlet": "O3", "inspector": checker, "kind": "video"}, "checks another sub-branch"),
        ({"outlet": "O1", "inspector": checker, "kind": "mystery"}, "made by an agency"),
        (
            {"outlet": "O1", "inspector": world.users["inspector"], "kind": "video"},
            "made by a bank checker",
        ),
        (
            {"outlet": "O1", "inspector": checker, "kind": "video", "reinspection": "y"},
            "not a video check",
        ),
        ({"outlet": "O1", "inspector": checker, "kind": "x"}, "mystery visit or a video check"),
        ({"outlet": "O1", "inspector": 999999, "kind": "video"}, "active inspectors"),
    ]
    for data, sentence in cases:
        response = admin.post(url, data)
        assert response.status_code == 400, data
        assert str(escape(sentence)) in text(response)
    for _ in range(2):  # two checks of one outlet by one checker: seq 1 and 2
        assert (
            admin.post(url, {"outlet": "O1", "inspector": checker, "kind": "video"}).status_code
            == 302
        )
    with app.app_context():
        mine = db.session.scalars(
            select(Assignment).where(Assignment.inspector_id == checker)
        ).all()
        assert sorted(a.seq for a in mine) == [1, 2]
        removed = mine[0].id
    delete = admin.post(f"/office/periods/{world.period_id}/plan/assignments/{removed}/delete")
    assert delete.status_code == 302
    with app.app_context():
        assert db.session.get(Assignment, removed) is None
    # a started one stays
    start(login("inspector"), world.assignment_ids["inspector"][0])
    kept = admin.post(
        f"/office/periods/{world.period_id}/plan/assignments/{world.assignment_ids['inspector'][0]}/delete"
    )
    assert kept.status_code == 409 and "stays in the plan" in text(kept)
    # one of another period is not found there
    other = admin.post(
        f"/office/periods/{world.period_id}/plan/assignments/{world.assignment_ids['inspector'][2]}/delete"
    )
    assert other.status_code == 404


# --- open and close ------------------------------------------------------------------------


def _audit(app, action: str) -> list[dict]:
    with app.app_context():
        return [
            json.loads(r.changes)
            for r in db.session.scalars(select(AuditRecord).where(AuditRecord.action == action))
        ]


def test_opening_needs_the_other_period_closed_and_a_reason_for_broken_rules(login, world, app):
    admin = login("admin")
    with app.app_context():
        q1_id = new_period(db.session).id
        db.session.commit()
    busy = admin.post(f"/office/periods/{q1_id}/open")
    assert busy.status_code == 409 and "Close 2026Q4 first" in text(busy)
    page = text(admin.get(f"/office/periods/{world.period_id}/close"))
    assert "Close 2026Q4" in page
    assert admin.post(f"/office/periods/{world.period_id}/close").status_code == 302  # nothing left
    refused = admin.post(f"/office/periods/{q1_id}/open")  # no plan: rules broken
    assert refused.status_code == 409 and "override reason" in text(refused)
    with app.app_context():
        assert db.session.get(Period, q1_id).state == "planned"
    opened = admin.post(
        f"/office/periods/{q1_id}/open", {"reason": "Video checks start in February."}
    )
    assert opened.status_code == 302
    with app.app_context():
        q1 = db.session.get(Period, q1_id)
        assert (q1.state, q1.is_current) == ("open", True)
        assert q1.override_reason == "Video checks start in February."
        assert q1.opened_by_id == world.users["admin"] and q1.opened_at is not None
        assert db.session.scalar(select(func.count()).where(Period.is_current.is_(True))) == 1
    record = _audit(app, "period.opened")[-1]
    assert record["override_reason"] == "Video checks start in February."
    assert "video_checks" in record["broken"]
    assert "Opened with broken rules" in text(admin.get("/office/periods"))
    again = admin.post(f"/office/periods/{q1_id}/open", {"reason": "x"})
    assert again.status_code == 409 and "opened already" in text(again)


def test_a_plan_that_meets_every_rule_opens_without_a_reason(world, login, app):
    with app.app_context():
        session = db.session
        head_office_checker(session)
        q1 = new_period(session)
        session.get(Period, world.period_id).state = "closed"
        session.get(Period, world.period_id).is_current = False
        plan.propose_for(session, q1, config=CONFIG)
        session.commit()
        q1_id = q1.id
    assert login("admin").post(f"/office/periods/{q1_id}/open").status_code == 302
    assert _audit(app, "period.opened")[-1]["override_reason"] is None


def test_closing_lists_what_is_left_needs_a_confirmation_and_freezes(login, world, app):
    from shopper.results.models import FrozenResult

    inspector, admin = login("inspector"), login("admin")
    draft = start(inspector, world.assignment_ids["inspector"][0])
    page = text(admin.get(f"/office/periods/{world.period_id}/close"))
    assert "Drafts: 1" in page and f"#{draft}" in page
    refused = admin.post(f"/office/periods/{world.period_id}/close")
    assert refused.status_code == 409 and "Confirm to close it anyway" in text(refused)
    assert (
        admin.post(f"/office/periods/{world.period_id}/close", {"confirm": "y"}).status_code == 302
    )
    with app.app_context():
        period = db.session.get(Period, world.period_id)
        assert (period.state, period.is_current) == ("closed", False)
        assert period.closed_by_id == world.users["admin"]
        assert db.session.get(FrozenResult, world.period_id) is not None
    assert _audit(app, "period.closed")[-1] == {"code": "2026Q4", "drafts": 1, "waiting": 0}
    # nothing starts, nothing is submitted any more
    late = inspector.post(f"/inspect/assignments/{world.assignment_ids['inspector'][1]}/start")
    assert late.status_code == 409 and "This period is closed" in text(late)
    submit = inspector.post(f"/inspect/{draft}/submit", {"confirm": "yes", "attest": "y"})
    assert submit.status_code == 409 and "can no longer be submitted" in text(submit)
    assert (
        admin.post(f"/office/periods/{world.period_id}/close", {"confirm": "y"}).status_code == 409
    )


def test_a_planned_periods_assignment_cannot_be_started(world, login, app):
    with app.app_context():
        q1 = new_period(db.session)
        a = Assignment(
            period=q1, outlet_id=world.outlet_ids[0], inspector_id=world.users["inspector"]
        )
        db.session.add(a)
        db.session.commit()
        assignment_id = a.id
    response = login("inspector").post(f"/inspect/assignments/{assignment_id}/start")
    assert response.status_code == 409 and "has not opened yet" in text(response)


# --- thresholds on the create form ---------------------------------------------------------


def _create(admin, app, **extra):
    return admin.post("/office/periods", form(app=app) | extra)


def test_a_new_period_may_have_its_own_thresholds(login, world, app):
    admin = login("admin")
    page = text(admin.get("/office/periods"))
    assert 'name="coverage_percent" placeholder="60"' in page
    response = _create(admin, app, coverage_percent="75", video_checks="3", reinspection_below="80")
    assert response.status_code == 302
    with app.app_context():
        period = db.session.scalars(select(Period).where(Period.code == "2027Q1")).one()
        assert period.state == "planned"
        assert (period.coverage_share, period.video_checks_per_outlet) == (Decimal("0.75"), 3)
        assert period.reinspection_below == Decimal(80)
    assert "coverage 75%" in text(admin.get("/office/periods"))


@pytest.mark.parametrize(
    "bad",
    [
        {"coverage_percent": "0"},
        {"coverage_percent": "101"},
        {"coverage_percent": "sixty"},
        {"coverage_percent": "NaN"},
        {"video_checks": "2.5"},
        {"video_checks": "21"},
        {"reinspection_below": "-1"},
        {"reinspection_below": "85.55"},
    ],
)
def test_a_bad_threshold_is_refused_with_a_sentence(login, world, app, bad):
    response = _create(login("admin"), app, **bad)
    assert response.status_code == 400 and "Thresholds:" in text(response)
    with app.app_context():
        assert db.session.scalar(select(Period).where(Period.code == "2027Q1")) is None


# --- bank checkers on the phone ------------------------------------------------------------


def test_a_bank_checker_sees_only_their_video_checks_and_does_them_by_video(world, login, app):
    with app.app_context():
        checker, other = world.users["bank_checker"], head_office_checker(db.session).id
        mine, theirs = (
            Assignment(period_id=world.period_id, outlet_id=o, inspector_id=i, kind="video")
            for o, i in ((world.outlet_ids[0], checker), (world.outlet_ids[1], other))
        )
        db.session.add_all([mine, theirs])
        db.session.commit()
        mine_id, theirs_id = mine.id, theirs.id
    phone = login("bank_checker")
    page = text(phone.get("/inspect/"))
    assert "Outlet One" in page and "Outlet Two" not in page
    assert "Video check" in page and "Start video check" in page
    assert phone.post(f"/inspect/assignments/{theirs_id}/start").status_code == 404
    refused = phone.post(f"/inspect/assignments/{mine_id}/start", {"mode": "on_site"})
    assert refused.status_code == 400 and "done by video" in text(refused)
    inspection_id = start(phone, mine_id, mode="")
    with app.app_context():
        assert db.session.get(Inspection, inspection_id).mode == "video"
    assert phone.get(f"/inspect/{inspection_id}").status_code == 200
    assert phone.get(f"/inspections/{inspection_id}").status_code == 200
    assert login("inspector").get(f"/inspections/{inspection_id}").status_code == 404


def test_the_inspectors_list_marks_a_reinspection_with_last_periods_score(world, login, app):
    with app.app_context():
        released(db.session, world.assignment_ids["inspector"][2], "78.5")  # 2026Q3's O1
        db.session.get(Assignment, world.assignment_ids["inspector"][0]).reinspection = True
        db.session.commit()
    page = text(login("inspector").get("/inspect/"))
    assert "Re-inspection" in page and "last period 78.5" in page
    assert page.count("Mystery visit") == 2
