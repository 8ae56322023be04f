"""An inspection waiting for release when its period closed, released afterwards: it counts
for the outlet's results and the closed period's rankings list it beside the frozen ranking
(the frozen ranking itself stays as it was)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from shopper.auth.models import User
from shopper.core.scoring import bands_from_config
from shopper.db import utcnow
from shopper.extensions import db
from shopper.inspections import service as inspections
from shopper.models import Assignment, Outlet, Period
from shopper.results import service as results
from shopper.results.models import OutletResult
from tests.factories import submitted_directly
from tests.results.test_stored import fails, release, settings


def video_check_submitted(app, world, outlet_code: str) -> int:
    """A video check of the outlet by the East sub-branch's bank checker, submitted."""
    with app.app_context():
        s = db.session
        outlet = s.scalar(select(Outlet).where(Outlet.code == outlet_code))
        checker = s.get(User, world.users["bank_checker"])
        assignment = Assignment(
            period_id=world.period_id, outlet_id=outlet.id, inspector_id=checker.id, kind="video"
        )
        s.add(assignment)
        s.flush()
        inspection = inspections.start(
            s, checker, assignment.id, None, app.config["CHECKLIST_ORDER"]
        )
        for pin in inspections.pinned(inspection):
            for item in pin.checklist.items:
                answer = next((a for a in inspection.answers if a.item_code == item.code), None)
                if answer is not None and answer.result == "na":
                    continue  # set N/A at the start (not seen on video)
                inspections.save_answer(
                    s,
                    checker,
                    inspection,
                    version_id=pin.version.id,
                    item_code=item.code,
                    result="pass",
                    note=None,
                    client_uuid=str(uuid.uuid4()),
                )
        inspections.submit(
            s, checker, inspection, bands_from_config(app.config["SCORE_BANDS"]), attested=True
        )
        s.commit()
        return inspection.id


def close(app, world) -> None:
    with app.app_context():
        s = db.session
        period = s.get(Period, world.period_id)
        results.freeze(s, period, settings(app))
        period.state = "closed"
        period.closed_at = utcnow()
        s.commit()


def test_a_video_check_released_after_closing_is_listed_though_the_score_is_unchanged(
    app, world, login
):
    """Video checks weigh 0 by default: the outlet's score does not move, yet the check now
    counts for it (its figures changed) and the closed period's page must say so."""
    o1 = submitted_directly(
        app, world.users["inspector"], world.assignment_ids["inspector"][0], fails("C5")
    )
    release(app, o1)
    late = video_check_submitted(app, world, "O1")
    close(app, world)
    release(app, late)
    with app.app_context():
        s = db.session
        period = s.get(Period, world.period_id)
        ranked = results.rankings(s, period, settings(app))
        assert [o.code for o in ranked.outlets] == ["O1"]  # the frozen ranking as it was
        (listed,) = ranked.released_after_close
        assert (listed.inspection_id, listed.code, listed.kind) == (late, "O1", "video")
        row = s.get(OutletResult, (world.period_id, listed.outlet_id))
        assert row.video_count == 1  # it counts for the outlet's results
        assert listed.frozen_score == listed.score == row.score
        assert ranked.revised_after_close == []
    html = login("admin").get(f"/office/results/{world.period_id}/").get_data(as_text=True)
    assert "Released after the period closed" in html


def test_an_outlet_first_ranked_by_a_late_release_is_listed_as_released_not_revised(app, world):
    o1 = submitted_directly(
        app, world.users["inspector"], world.assignment_ids["inspector"][0], fails("C5")
    )
    release(app, o1)
    o3 = submitted_directly(
        app, world.users["inspector2"], world.assignment_ids["inspector2"][0], fails("S6")
    )
    close(app, world)
    release(app, o3)
    with app.app_context():
        s = db.session
        ranked = results.rankings(s, s.get(Period, world.period_id), settings(app))
        (listed,) = ranked.released_after_close
        assert (listed.inspection_id, listed.code, listed.kind) == (o3, "O3", "mystery")
        assert listed.frozen_score is None and listed.score is not None
        assert ranked.revised_after_close == []  # no dispute revised it
