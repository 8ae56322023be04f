"""The API's test data: inspections in every state in both sub-branches, their notices and
findings, made as rows (fast: no PDF is rendered), and a token per scope.

World (tests/conftest.py): sub-branch SB1 has outlets O1 and O2, SB2 has O3.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from shopper.api.tokens import Scope
from shopper.checklists.models import ChecklistVersion
from shopper.db import utcnow
from shopper.extensions import db
from shopper.inspections.models import Answer, Inspection, InspectionChecklist, SectionScore
from shopper.models import Assignment, Finding, Notice, Outlet
from tests.api.helpers import make_token


@dataclass
class Data:
    released: dict[str, int] = field(default_factory=dict)  # outlet code → released inspection
    submitted: int = 0  # O2, waiting for release
    draft: int = 0  # O2, under way
    notices: dict[str, int] = field(default_factory=dict)  # outlet or sub-branch code → notice


def add_inspection(
    session, period_id, outlet, inspector_id, status, *, fail=None, at=None
) -> Inspection:
    """An inspection of `outlet` answered on the six_s checklist's first three items (the one
    named by `fail` failed), stored as the services would store it: started `at` (default
    now), answered 10 minutes later, submitted after 20 and released after 30."""
    version = session.scalars(
        select(ChecklistVersion)
        .where(ChecklistVersion.code == "six_s")
        .order_by(ChecklistVersion.version.desc())
    ).first()
    assignment = session.scalar(
        select(Assignment).filter_by(
            period_id=period_id, outlet_id=outlet.id, inspector_id=inspector_id
        )
    )
    if assignment is None:
        assignment = Assignment(period_id=period_id, outlet_id=outlet.id, inspector_id=inspector_id)
        session.add(assignment)
        session.flush()
    at = at or utcnow()
    inspection = Inspection(
        assignment_id=assignment.id,
        period_id=period_id,
        outlet_id=outlet.id,
        inspector_id=inspector_id,
        mode="on_site",
        status=status,
        started_at=at,
        checklists=[InspectionChecklist(version=version, position=1)],
    )
    session.add(inspection)
    session.flush()
    codes = [item.code for item in version.checklist().items][:3]
    for code in codes:
        session.add(
            Answer(
                inspection_id=inspection.id,
                checklist_version_id=version.id,
                item_code=code,
                result="fail" if code == fail else "pass",
                note="seen on site" if code == fail else "",
                updated_at=at + timedelta(minutes=10),
            )
        )
    if status != "draft":
        inspection.submitted_at = at + timedelta(minutes=20)
        inspection.score = Decimal("66.7") if fail else Decimal("100.0")
        inspection.band = "severe_fail" if fail else "excellent"
        inspection.red_line_failed = False
        inspection.points_earned, inspection.points_applicable = Decimal("4.0"), Decimal("6.0")
        session.add(
            SectionScore(
                inspection_id=inspection.id,
                checklist_version_id=version.id,
                section_code="sort",
                earned=Decimal("4.0"),
                applicable=Decimal("6.0"),
                score=inspection.score,
            )
        )
    if status == "released":
        inspection.released_at = at + timedelta(minutes=30)
    session.flush()
    return inspection


def add_notice(session, number, sub_branch_id, *, inspection=None, period_id=None) -> Notice:
    """A notice row (its PDF is not made) and, for an outlet notice, one finding per failed
    answer."""
    notice = Notice(
        number=number,
        kind="outlet" if inspection else "sub_branch",
        sub_branch_id=sub_branch_id,
        outlet_id=inspection.outlet_id if inspection else None,
        inspection_id=inspection.id if inspection else None,
        period_id=period_id,
        lang="zh_CN",
        deadline=date(2026, 12, 31),
        sha256=hashlib.sha256(number.encode()).hexdigest(),
        size=1,
        storage_key=f"notices/{number}.pdf",
    )
    session.add(notice)
    if inspection is not None:
        for answer in inspection.answers:
            if answer.result == "fail":
                session.add(
                    Finding(
                        inspection_id=inspection.id,
                        outlet_id=inspection.outlet_id,
                        checklist_version_id=answer.checklist_version_id,
                        item_code=answer.item_code,
                        deadline=date(2026, 12, 31),
                        dispute_deadline=date(2026, 12, 20),
                    )
                )
    session.flush()
    return notice


@pytest.fixture
def data(app, world) -> Data:
    """O1 and O3 released with a failed item and their outlet notices; O2 submitted (not
    released) and a draft of O2; a sub-branch notice to each sub-branch. All a day ago, an
    hour apart in that order (see add_inspection for each one's times)."""
    out = Data()
    base = utcnow() - timedelta(days=1)  # the past: anything a test adds is later
    with app.app_context():
        s = db.session
        outlets = {o.code: o for o in s.scalars(select(Outlet))}
        inspector, inspector2 = world.users["inspector"], world.users["inspector2"]
        period = world.period_id
        for hours, code, who in ((0, "O1", inspector), (1, "O3", inspector2)):
            at = base + timedelta(hours=hours)
            inspection = add_inspection(
                s, period, outlets[code], who, "released", fail="S6-SORT-01", at=at
            )
            out.released[code] = inspection.id
            number = f"ZG-2026Q4-0000{len(out.notices) + 1}"
            sub_branch = outlets[code].sub_branch_id
            out.notices[code] = add_notice(
                s, number, sub_branch, inspection=inspection, period_id=period
            ).id
        at = base + timedelta(hours=2)
        out.submitted = add_inspection(s, period, outlets["O2"], inspector, "submitted", at=at).id
        at = base + timedelta(hours=3)
        out.draft = add_inspection(s, period, outlets["O2"], inspector2, "draft", at=at).id
        for n, (code, sub_branch) in enumerate(
            zip(("SB1", "SB2"), world.sub_branch_ids, strict=True), 1
        ):
            out.notices[code] = add_notice(
                s, f"ZGS-2026Q4-0000{n}", sub_branch, period_id=period
            ).id
        s.commit()
    return out


@pytest.fixture
def tokens(app, world) -> dict[str, str]:
    """A secret per scope: head office, each sub-branch, outlets O1 and O3."""
    sb1, sb2 = world.sub_branch_ids
    o1, _o2, o3 = world.outlet_ids
    return {
        "head_office": make_token(app)[1],
        "sb1": make_token(app, Scope.SUB_BRANCH, sb1)[1],
        "sb2": make_token(app, Scope.SUB_BRANCH, sb2)[1],
        "o1": make_token(app, Scope.OUTLET, o1)[1],
        "o3": make_token(app, Scope.OUTLET, o3)[1],
    }
