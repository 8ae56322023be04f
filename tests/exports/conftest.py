"""A small programme built straight through the models: five sub-branches of two outlets,
a closed 2026Q3 and an open 2026Q4 with released mystery visits (one a re-inspection),
video checks, every item of the three checklists answered; results stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from shopper.auth.models import Role
from shopper.checklists.models import ChecklistVersion
from shopper.checklists.service import load_directory
from shopper.extensions import db
from shopper.inspections.models import Answer, Inspection, InspectionChecklist
from shopper.models import Agency, Assignment, Outlet, Period, SubBranch
from shopper.org.features import all_features, ensure_defaults
from shopper.results import service as results
from tests.conftest import Client, make_user

ROOT = Path(__file__).resolve().parents[2]
SUB_BRANCHES = [
    ("SB1", "东城支行"),
    ("SB2", "西城支行"),
    ("SB3", "南山支行"),
    ("SB4", "北湖支行"),
    ("SB5", "中山支行"),
]
# outlet code → (its sub-branch, name, this period's mystery score, red line failed)
OUTLETS = {
    "O11": ("SB1", "东城人民路网点", "96.0", False),
    "O12": ("SB1", "东城解放路网点", "93.5", False),
    "O21": ("SB2", "西城新华网点", "91.0", False),
    "O22": ("SB2", "西城长江网点", "95.0", True),  # high, but a red line: never above a pass
    "O31": ("SB3", "南山科技园网点", "88.0", False),
    "O32": ("SB3", "南山蛇口网点", "84.0", False),
    "O41": ("SB4", "北湖公园网点", "82.5", False),
    "O42": ("SB4", "北湖东路网点", "79.0", False),
    "O51": ("SB5", "中山大道网点", "90.5", False),
    "O52": ("SB5", "中山北路网点", "86.0", False),
}
PREVIOUS = {"O41": "78.0", "O11": "92.0", "O32": "88.5"}  # 2026Q3 scores; O41 re-inspected
VIDEO = {"O11": ["97.0", "95.0"], "O42": ["81.0"]}  # bank checkers' video checks this period


@dataclass
class Programme:
    period_id: int
    previous_id: int
    outlets: dict[str, int] = field(default_factory=dict)
    inspections: list[int] = field(default_factory=list)
    answers: int = 0  # answers of the current period's released inspections


def _versions(session) -> list[ChecklistVersion]:
    latest: dict[str, ChecklistVersion] = {}
    for v in session.scalars(select(ChecklistVersion).order_by(ChecklistVersion.version)):
        latest[v.code] = v
    return [latest[c] for c in sorted(latest)]


def add_inspection(
    session,
    period: Period,
    outlet: Outlet,
    inspector,
    score: str,
    *,
    kind: str = "mystery",
    seq: int = 1,
    reinspection: bool = False,
    red_line: bool = False,
    note: str = "",
    fail_items: int = 3,
) -> tuple[int, int]:
    """A released inspection pinning every checklist, all items answered (the first
    `fail_items` failed, the first failed one with `note`); (its id, its answer count)."""
    assignment = Assignment(
        period=period,
        outlet=outlet,
        inspector=inspector,
        kind=kind,
        seq=seq,
        reinspection=reinspection,
    )
    session.add(assignment)
    session.flush()
    value = Decimal(score)
    band = (
        "severe_fail"
        if red_line or value < 80
        else "fail"
        if value < 85
        else "pass"
        if value < 90
        else "excellent"
    )
    when = datetime(period.starts_on.year, period.starts_on.month, 15, 2, 0, tzinfo=UTC)
    inspection = Inspection(
        assignment_id=assignment.id,
        period_id=period.id,
        outlet_id=outlet.id,
        inspector_id=inspector.id,
        mode="video" if kind == "video" else "on_site",
        status="released",
        started_at=when,
        submitted_at=when,
        released_at=when,
        score=value,
        band=band,
        red_line_failed=red_line,
    )
    session.add(inspection)
    session.flush()
    rows = []
    for position, version in enumerate(_versions(session)):
        session.add(
            InspectionChecklist(
                inspection_id=inspection.id, checklist_version_id=version.id, position=position
            )
        )
        for item in version.checklist().items:
            failed = len([r for r in rows if r["result"] == "fail"]) < fail_items
            rows.append(
                {
                    "inspection_id": inspection.id,
                    "checklist_version_id": version.id,
                    "item_code": item.code,
                    "result": "fail" if failed else "pass",
                    "note": note if failed and not any(r["note"] for r in rows) else "",
                    "updated_at": when,
                }
            )
    session.flush()
    session.execute(insert(Answer), rows)
    return inspection.id, len(rows)


def build_programme(session, *, note: str = "柜台物品未按定位摆放", extra_rounds: int = 0):
    ensure_defaults(session)
    load_directory(session, ROOT / "checklists")
    previous = Period(
        code="2026Q3", starts_on=date(2026, 7, 1), ends_on=date(2026, 9, 30), state="closed"
    )
    period = Period(
        code="2026Q4",
        starts_on=date(2026, 10, 1),
        ends_on=date(2026, 12, 31),
        is_current=True,
        state="open",
    )
    agency = Agency(name="第三方咨询公司")
    subs = {code: SubBranch(code=code, name=name) for code, name in SUB_BRANCHES}
    session.add_all([previous, period, agency, *subs.values()])
    outlets = {}
    features = all_features(session)
    for code, (sb, name, _score, _red) in OUTLETS.items():
        outlets[code] = Outlet(code=code, name=name, sub_branch=subs[sb], features=features)
    session.add_all(outlets.values())
    session.flush()
    admin = make_user(session, "admin", Role.ADMIN)
    inspector = make_user(session, "inspector", Role.INSPECTOR, agency=agency)
    checker = make_user(session, "checker", Role.BANK_CHECKER)
    make_user(session, "sub_branch_manager", Role.SUB_BRANCH_MANAGER, sub_branch=subs["SB1"])
    session.flush()
    made = Programme(period_id=period.id, previous_id=previous.id)
    made.outlets = {code: o.id for code, o in outlets.items()}
    for code, score in PREVIOUS.items():
        add_inspection(session, previous, outlets[code], inspector, score)
    for code, (_sb, _name, score, red) in OUTLETS.items():
        iid, count = add_inspection(
            session,
            period,
            outlets[code],
            inspector,
            score,
            red_line=red,
            reinspection=code == "O41",
            note=note if code == "O42" else "",
        )
        made.inspections.append(iid)
        made.answers += count
    for code, scores in VIDEO.items():
        for seq, score in enumerate(scores, start=1):
            iid, count = add_inspection(
                session, period, outlets[code], checker, score, kind="video", seq=seq
            )
            made.inspections.append(iid)
            made.answers += count
    for n in range(extra_rounds):  # more video checks, for the streaming tests
        for seq_code in OUTLETS:
            iid, count = add_inspection(
                session, period, outlets[seq_code], checker, "88.0", kind="video", seq=10 + n
            )
            made.inspections.append(iid)
            made.answers += count
    results.rebuild(session)
    session.commit()
    del admin
    return made


@pytest.fixture
def programme(app) -> Programme:
    with app.app_context():
        return build_programme(db.session)


@pytest.fixture
def office(app, programme) -> Client:
    client = Client(app)
    assert client.login("admin").status_code == 302
    return client
