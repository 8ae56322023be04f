"""Filters: period, sub-branch, outlet, changed_since (inspections), kind (notices), code
(checklist versions); and what an inspection's changed_at follows."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from shopper.db import utcnow
from shopper.extensions import db
from shopper.inspections.models import Answer, Inspection, Submission
from shopper.notices.models import Finding, ScoreRevision
from tests.api.helpers import api_get, walk

INSPECTIONS = "/api/v1/inspections"


def _ids(app, secret, url=INSPECTIONS, **params) -> list[int]:
    return [item["id"] for item in walk(app, url, secret, **params)]


def _changed_at(app, secret, inspection_id) -> datetime:
    body = api_get(app, f"{INSPECTIONS}/{inspection_id}", secret).get_json()
    return datetime.fromisoformat(body["changed_at"])


def test_inspections_by_period_sub_branch_and_outlet(app, world, data, tokens):
    secret = tokens["head_office"]
    o1, o2, o3 = world.outlet_ids
    sb1, sb2 = world.sub_branch_ids
    everything = [data.released["O1"], data.released["O3"], data.submitted, data.draft]
    assert _ids(app, secret, period=world.period_id) == everything
    assert _ids(app, secret, period=world.old_period_id) == []
    assert _ids(app, secret, sub_branch=sb1) == [data.released["O1"], data.submitted, data.draft]
    assert _ids(app, secret, sub_branch=sb2) == [data.released["O3"]]
    assert _ids(app, secret, outlet=o2) == [data.submitted, data.draft]
    assert _ids(app, secret, outlet=o3, sub_branch=sb1) == []
    assert _ids(app, secret, outlet=o1, period=world.period_id, sub_branch=sb1) == [
        data.released["O1"]
    ]
    assert _ids(app, secret, period=123456) == []


def test_changed_since_keeps_what_changed_at_or_after_that_moment(app, data, tokens):
    secret = tokens["head_office"]
    o3 = _changed_at(app, secret, data.released["O3"])
    later = [data.released["O3"], data.submitted, data.draft]
    assert _ids(app, secret, changed_since=o3.isoformat()) == later
    after = (o3 + timedelta(microseconds=1)).isoformat()
    assert _ids(app, secret, changed_since=after) == [data.submitted, data.draft]
    # the same moment written in another zone, with Z, or with no offset (read as UTC)
    shanghai = o3.astimezone(ZoneInfo("Asia/Shanghai")).isoformat()
    assert _ids(app, secret, changed_since=shanghai) == later
    as_z = o3.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert _ids(app, secret, changed_since=as_z) == later
    naive = o3.replace(tzinfo=None).isoformat()
    assert _ids(app, secret, changed_since=naive) == later
    assert _ids(app, secret, changed_since="2000-01-01") == [data.released["O1"], *later]
    assert _ids(app, secret, changed_since="9999-12-31T23:59:59Z") == []


def test_a_sync_asks_again_with_the_last_changed_at_it_saw(app, data, tokens):
    secret = tokens["sb1"]
    seen = walk(app, INSPECTIONS, secret)
    last = seen[-1]["changed_at"]
    with app.app_context():
        inspection = db.session.get(Inspection, data.submitted)
        inspection.status, inspection.released_at = "released", utcnow()
        db.session.commit()
    again = _ids(app, secret, changed_since=last)
    assert again == [data.released["O1"], data.submitted]  # the last one seen, then the new


def test_changed_at_follows_a_drafts_answers_and_a_return(app, data, tokens):
    secret = tokens["head_office"]
    before = _changed_at(app, secret, data.draft)
    answered = utcnow()
    with app.app_context():
        answer = db.session.scalars(
            select(Answer).where(Answer.inspection_id == data.draft)
        ).first()
        answer.result, answer.updated_at = "fail", answered
        db.session.commit()
    assert before < _changed_at(app, secret, data.draft) == answered
    returned = utcnow()
    with app.app_context():
        db.session.add(
            Submission(
                inspection_id=data.draft,
                n=1,
                submitted_at=returned - timedelta(minutes=1),
                returned_at=returned,
                returned_by_id=None,
                return_reason="photo missing",
            )
        )
        db.session.commit()
    assert _changed_at(app, secret, data.draft) == returned


def test_changed_at_follows_release_and_a_revised_score(app, world, data, tokens):
    secret = tokens["head_office"]
    submitted = _changed_at(app, secret, data.submitted)
    released = utcnow()
    with app.app_context():
        inspection = db.session.get(Inspection, data.submitted)
        inspection.status, inspection.released_at = "released", released
        db.session.commit()
    assert submitted < _changed_at(app, secret, data.submitted) == released
    # an upheld dispute revises a released score, long after its release
    revised = utcnow()
    with app.app_context():
        db.session.add(
            ScoreRevision(
                inspection_id=data.released["O1"],
                finding_id=db.session.scalars(select(Finding.id)).first(),
                score_before=Decimal("66.7"),
                score_after=Decimal("100.0"),
                reason="upheld",
                decided_by_id=world.users["admin"],
                at=revised,
            )
        )
        db.session.commit()
    assert _changed_at(app, tokens["sb1"], data.released["O1"]) == revised


def test_notices_by_kind_outlet_sub_branch_and_period(app, world, data, tokens):
    secret = tokens["head_office"]
    url = "/api/v1/notices"
    o1, _o2, o3 = world.outlet_ids
    sb1, sb2 = world.sub_branch_ids
    n = data.notices
    assert _ids(app, secret, url, kind="outlet") == [n["O1"], n["O3"]]
    assert _ids(app, secret, url, kind="sub_branch") == [n["SB1"], n["SB2"]]
    assert _ids(app, secret, url, outlet=o3) == [n["O3"]]
    assert _ids(app, secret, url, sub_branch=sb1) == [n["O1"], n["SB1"]]
    assert _ids(app, secret, url, sub_branch=sb2, kind="outlet") == [n["O3"]]
    assert _ids(app, secret, url, period=world.period_id, outlet=o1) == [n["O1"]]
    assert _ids(app, secret, url, period=world.old_period_id) == []


def test_a_notice_carries_its_findings_status(app, data, tokens):
    body = api_get(app, f"/api/v1/notices/{data.notices['O1']}", tokens["o1"]).get_json()
    assert body["number"] == "ZG-2026Q4-00001" and body["status"] == "new"
    assert [(f["item_code"], f["status"]) for f in body["findings"]] == [("S6-SORT-01", "open")]
    report = api_get(app, f"/api/v1/notices/{data.notices['SB1']}", tokens["sb1"]).get_json()
    assert report["kind"] == "sub_branch" and report["findings"] == []


def test_outlets_by_sub_branch_and_versions_by_checklist(app, world, data, tokens):
    secret = tokens["head_office"]
    sb1, sb2 = world.sub_branch_ids
    assert [o["code"] for o in walk(app, "/api/v1/outlets", secret, sub_branch=sb2)] == ["O3"]
    assert [o["code"] for o in walk(app, "/api/v1/outlets", tokens["sb1"], sub_branch=sb1)] == [
        "O1",
        "O2",
    ]
    versions = walk(app, "/api/v1/checklist-versions", secret, code="six_s")
    assert versions and {v["code"] for v in versions} == {"six_s"}
    detail = api_get(app, f"/api/v1/checklist-versions/{versions[-1]['id']}", secret).get_json()
    assert detail["content"]["code"] == "six_s" and detail["sha256"] == versions[-1]["sha256"]
    # the SHA-256 is of the canonical form, as the document says: a client can check it
    canonical = json.dumps(
        detail["content"], ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    assert hashlib.sha256(canonical.encode()).hexdigest() == detail["sha256"]
