"""Stored results: kept right on release and on revision (equal to a recomputation from the
answers), rankings read from them, frozen when a period closes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from shopper.auth.models import User
from shopper.db import utcnow
from shopper.extensions import db
from shopper.inspections import service as inspections
from shopper.inspections.models import Inspection
from shopper.models import Assignment, Outlet, Period
from shopper.notices import service as notices
from shopper.notices.models import Finding, FindingStatus
from shopper.results import service as results
from shopper.results.models import ItemResult, OutletResult
from tests.factories import submitted_directly


def settings(app, **kw) -> results.Settings:
    config = dict(app.config)
    config.update(kw)
    return results.Settings.from_config(config)


def fails(*codes):
    """A result_for that fails the items whose code starts with one of `codes`."""
    return lambda item: (
        "fail" if item.code.startswith(codes) and not item.photo_required_on_fail else "pass"
    )


def release(app, inspection_id: int) -> None:
    with app.app_context():
        s = db.session
        inspection = s.get(Inspection, inspection_id)
        inspections.release(s, s.get(User, inspection.inspector_id), inspection)
        s.commit()


def stored_items(session, period_id):
    rows = session.execute(
        select(
            ItemResult.period_id,
            ItemResult.sub_branch_id,
            ItemResult.kind,
            ItemResult.checklist_code,
            ItemResult.item_code,
            ItemResult.applied,
            ItemResult.failed,
        ).where(ItemResult.period_id == period_id)
    )
    return sorted(tuple(r) for r in rows)


def recomputed_items(session, period_id):
    return sorted(
        tuple(int(v) if isinstance(v, Decimal) else v for v in r)
        for r in session.execute(results.item_counts_query(period_id))
    )


@pytest.fixture
def released_world(app, world):
    """O1 and O2 (sub-branch SB1) and O3 (SB2) inspected in the current period and released."""
    ids = {}
    plan = {
        "O1": ("inspector", world.assignment_ids["inspector"][0], fails("C5-ARRIVE", "C5-THANK")),
        "O2": ("inspector", world.assignment_ids["inspector"][1], fails("S6", "C5")),
        "O3": ("inspector2", world.assignment_ids["inspector2"][0], lambda i: "pass"),
    }
    for code, (who, assignment, result_for) in plan.items():
        ids[code] = submitted_directly(app, world.users[who], assignment, result_for)
        release(app, ids[code])
    return ids


def test_release_stores_the_outlet_and_item_results(app, world, released_world):
    with app.app_context():
        s = db.session
        rows = {r.outlet_id: r for r in s.scalars(select(OutletResult))}
        assert set(rows) == set(world.outlet_ids)
        o1 = s.get(Inspection, released_world["O1"])
        assert rows[o1.outlet_id].mystery_sum == o1.score
        assert rows[o1.outlet_id].mystery_count == 1
        assert stored_items(s, world.period_id) == recomputed_items(s, world.period_id)
        assert stored_items(s, world.period_id)  # something was stored


def test_a_submitted_inspection_is_not_counted_until_released(app, world):
    iid = submitted_directly(
        app, world.users["inspector"], world.assignment_ids["inspector"][0], fails("S6", "C5")
    )
    with app.app_context():
        s = db.session
        results.record(s, s.get(Inspection, iid))  # harmless: nothing released
        assert s.scalars(select(OutletResult)).all() == []
        assert stored_items(s, world.period_id) == []
    release(app, iid)
    with app.app_context():
        assert len(db.session.scalars(select(OutletResult)).all()) == 1


def test_record_is_idempotent(app, world, released_world):
    with app.app_context():
        s = db.session
        before = stored_items(s, world.period_id)
        inspection = s.get(Inspection, released_world["O2"])
        results.record(s, inspection)
        results.record(s, inspection)
        assert stored_items(s, world.period_id) == before
        assert len(s.scalars(select(OutletResult)).all()) == 3


def test_rebuild_equals_what_release_stored(app, world, released_world):
    with app.app_context():
        s = db.session
        before = stored_items(s, world.period_id)
        sums = sorted((r.outlet_id, r.mystery_sum) for r in s.scalars(select(OutletResult)))
        s.execute(ItemResult.__table__.delete())
        s.execute(OutletResult.__table__.delete())
        assert results.rebuild(s) == 3
        assert stored_items(s, world.period_id) == before
        s.expire_all()
        assert sorted((r.outlet_id, r.mystery_sum) for r in s.scalars(select(OutletResult))) == sums


def withdraw_and_revise(app, inspection_id: int) -> tuple[Decimal, Decimal]:
    """An upheld dispute on the inspection's first failed item: its finding withdrawn and the
    score revised through the notices service; returns (score before, after)."""
    with app.app_context():
        s = db.session
        inspection = s.get(Inspection, inspection_id)
        before = inspection.score
        answer = next(a for a in inspection.answers if a.result == "fail")
        finding = Finding(
            inspection_id=inspection.id,
            outlet_id=inspection.outlet_id,
            checklist_version_id=answer.checklist_version_id,
            item_code=answer.item_code,
            status=FindingStatus.WITHDRAWN,
            deadline=date(2030, 1, 1),
            dispute_deadline=date(2030, 1, 1),
        )
        s.add(finding)
        s.flush()
        admin = s.scalar(select(User).where(User.username == "admin"))
        notices.revise_score(
            s, admin, inspection, finding, "upheld", notices.Settings.from_config(app.config)
        )
        s.commit()
        return before, s.get(Inspection, inspection_id).score


def test_a_revision_updates_the_stored_results(app, world, released_world):
    with app.app_context():
        before_items = stored_items(db.session, world.period_id)
    before, after = withdraw_and_revise(app, released_world["O2"])
    assert after > before
    with app.app_context():
        s = db.session
        o2 = s.get(Inspection, released_world["O2"])
        row = s.get(OutletResult, (world.period_id, o2.outlet_id))
        assert row.mystery_sum == after
        now = stored_items(s, world.period_id)
        assert now == recomputed_items(s, world.period_id)
        assert sum(r[-1] for r in now) == sum(r[-1] for r in before_items) - 1
        ranked = results.rankings(s, s.get(Period, world.period_id), settings(app))
        assert next(o for o in ranked.outlets if o.code == "O2").score == after


def test_rankings_order_and_sub_branches(app, world, released_world):
    with app.app_context():
        s = db.session
        ranked = results.rankings(s, s.get(Period, world.period_id), settings(app))
        assert [o.code for o in ranked.outlets] == ["O3", "O1", "O2"]
        assert [o.rank for o in ranked.outlets] == [1, 2, 3]
        assert ranked.outlets[0].score == Decimal("100.0")
        by_code = {sb.code: sb for sb in ranked.sub_branches}
        o1, o2 = (next(o for o in ranked.outlets if o.code == c) for c in ("O1", "O2"))
        mean = ((o1.score + o2.score) / 2).quantize(Decimal("0.01"))
        assert by_code["SB1"].score == mean
        assert by_code["SB2"].rank == 1 and by_code["SB1"].rank == 2
        # two sub-branches: the one below the first is the bottom; the first never is
        assert {sb.code for sb in ranked.bottom} == {"SB1"}
        excellent = [o.code for o in ranked.outlets if o.band == "excellent"]
        assert "O3" in excellent and [o.code for o in ranked.recognitions] == excellent
        assert [o.code for o in ranked.deductions["severe_fail"]] == ["O2"]


def test_reinspection_shows_the_previous_score_and_change(app, world, released_world):
    with app.app_context():
        s = db.session
        old = s.get(Period, world.old_period_id)
        o1 = s.scalar(select(Outlet).where(Outlet.code == "O1"))
        s.add(
            OutletResult(
                period_id=old.id,
                outlet_id=o1.id,
                sub_branch_id=o1.sub_branch_id,
                mystery_sum=Decimal("70.0"),
                mystery_count=1,
                mystery_red_line=False,
                video_sum=Decimal(0),
                video_count=0,
                video_red_line=False,
                reinspection=False,
                score=Decimal("70.0"),
                band="severe_fail",
                band_order=3,
                red_line=False,
            )
        )
        assignment = s.get(Assignment, world.assignment_ids["inspector"][0])
        assignment.reinspection = True
        s.flush()
        results.record(s, s.get(Inspection, released_world["O1"]))
        ranked = results.rankings(s, s.get(Period, world.period_id), settings(app))
        (re,) = ranked.reinspections
        assert re.code == "O1" and re.previous == Decimal("70.0")
        assert re.change == re.score - Decimal("70.0")
        assert ranked.previous_code == "2026Q3"


def test_a_closed_period_reads_its_frozen_ranking_and_shows_later_revisions(
    app, world, released_world
):
    with app.app_context():
        s = db.session
        period = s.get(Period, world.period_id)
        frozen_scores = {
            o.code: o.score for o in results.rankings(s, period, settings(app)).outlets
        }
        results.freeze(s, period, settings(app))
        period.state = "closed"
        period.closed_at = utcnow()
        s.commit()
    before, after = withdraw_and_revise(app, released_world["O2"])
    with app.app_context():
        s = db.session
        ranked = results.rankings(s, s.get(Period, world.period_id), settings(app))
        assert ranked.frozen
        assert {o.code: o.score for o in ranked.outlets} == frozen_scores
        (revised,) = ranked.revised_after_close
        assert revised.code == "O2"
        assert (revised.frozen_score, revised.score) == (before, after)


def test_weak_indicators_across_two_checklist_versions(app, world):
    """The same item code in v1 and v2 of a checklist adds up in one row."""
    from tests.results.helpers import two_versions

    first, second = two_versions(app, world)
    with app.app_context():
        s = db.session
        rows = {
            (w.checklist, w.item): w
            for w in results.weak_indicators(s, s.get(Period, world.period_id), locale="en")
        }
        code = first["shared"]
        row = rows[(first["checklist"], code)]
        assert row.applied == 2
        assert row.failed == 1
        assert row.rate == Decimal("50.0")
        # the wording is the latest version's
        assert row.text == second["text"]


def test_video_weight_setting_is_checked():
    with pytest.raises(ValueError):
        results.Settings.from_config({"SCORE_BANDS": [("a", 0, False)], "VIDEO_WEIGHT": "2"})


def test_stored_ranks_equal_the_core_ranking_and_ties_share(app, world):
    """O1 and O3 both clean 100s share rank 1; O2 is third (competition ranks, in SQL)."""
    from shopper.core import ranking

    plan = [
        ("inspector", world.assignment_ids["inspector"][0], lambda i: "pass"),
        ("inspector", world.assignment_ids["inspector"][1], fails("C5")),
        ("inspector2", world.assignment_ids["inspector2"][0], lambda i: "pass"),
    ]
    for who, assignment, result_for in plan:
        release(app, submitted_directly(app, world.users[who], assignment, result_for))
    with app.app_context():
        s = db.session
        st = settings(app)
        ranked = results.rankings(s, s.get(Period, world.period_id), st)
        assert [(o.code, o.rank) for o in ranked.outlets] == [("O1", 1), ("O3", 1), ("O2", 3)]
        core = ranking.rank(
            (
                ranking.outlet_score(f, st.bands, st.video_weight)
                for f in results.figures(s, world.period_id)
            ),
            st.bands,
        )
        assert sorted((o.outlet_id, o.rank, o.score, o.band) for o in ranked.outlets) == sorted(
            (r.key, r.rank, r.score, r.band) for r in core
        )
        page = results.rankings_page(
            s, s.get(Period, world.period_id), st, per_page=1, page=2, sort="score"
        )
        assert page.outlet_total == 3 and len(page.outlets) == 1
