"""The demo organisation: a head office, 3 sub-branches, 12 outlets, an agency with three
inspectors, four bank checkers (the operations department's and each sub-branch's), last
period (closed), the current one (open, with its video checks) and the next (planned).

Seeding is idempotent: once the demo exists, it only reads back the saved logins.
Passwords are random per installation and kept under instance/, never in the repo.
"""

from __future__ import annotations

import random
import secrets
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopper.audit import service as audit
from shopper.auth.models import Role, User
from shopper.checklists.service import history, latest_versions
from shopper.core.scoring import bands_from_config
from shopper.inspections import service as inspections
from shopper.inspections import visit as visits
from shopper.inspections.models import Inspection
from shopper.notices import service as notices
from shopper.org.features import all_features, ensure_defaults
from shopper.org.models import Agency, Outlet, SubBranch
from shopper.periods.models import (
    Assignment,
    AssignmentKind,
    Period,
    PeriodChecklist,
    PeriodState,
)
from shopper.photos import service as photos
from shopper.results import service as results

SUB_BRANCHES = [
    ("SB01", "城东支行", ["解放路", "人民广场", "东湖", "新城"]),
    ("SB02", "城西支行", ["西湖", "文教区", "高新园", "西站"]),
    ("SB03", "城南支行", ["南湖", "滨江", "开发区", "大学城"]),
]
# where the demo outlets are (decimal degrees, WGS 84): one city, Hangzhou, a few km apart,
# in the order of SUB_BRANCHES' outlets, so that a check-in has something to compare with
LOCATIONS = [
    ("30.259600", "120.171000"),  # 解放路
    ("30.272200", "120.164000"),  # 人民广场
    ("30.292000", "120.214000"),  # 东湖
    ("30.246000", "120.211000"),  # 新城
    ("30.257000", "120.162000"),  # 西湖
    ("30.281000", "120.133000"),  # 文教区
    ("30.288000", "120.105000"),  # 高新园
    ("30.320000", "120.080000"),  # 西站
    ("30.205000", "120.185000"),  # 南湖
    ("30.210000", "120.230000"),  # 滨江
    ("30.308000", "120.340000"),  # 开发区
    ("30.317000", "120.355000"),  # 大学城
]
LOGINS_FILE = "demo-logins.txt"
# what the outlets lack (every other feature they have): small outlets have no VIP room,
# no foreign currency, no wealth sales; two have no self-service area, one no ramp
LACKS = {
    2: {"vip_room", "foreign_currency", "wealth_sales"},
    3: {"vip_room", "foreign_currency", "wealth_sales", "self_service"},
    6: {"foreign_currency"},
    7: {"vip_room", "wealth_sales", "accessible_entrance"},
    10: {"vip_room", "foreign_currency", "wealth_sales", "self_service"},
    11: {"foreign_currency"},
}


def quarter_of(day: date) -> tuple[str, date, date]:
    q = (day.month - 1) // 3 + 1
    start = date(day.year, 3 * q - 2, 1)
    end = date(day.year + (q == 4), (3 * q) % 12 + 1, 1)
    return f"{day.year}Q{q}", start, date.fromordinal(end.toordinal() - 1)


def _read_logins(path: Path) -> list[tuple[str, str, str]]:
    return [tuple(line.split("\t")) for line in path.read_text().splitlines() if line]  # type: ignore[misc]


def seed(session: Session, instance: Path, config: dict[str, Any]) -> list[tuple[str, str, str]]:
    logins_path = instance / LOGINS_FILE
    if session.scalar(select(User).where(User.username == "admin")) is not None:
        _place_outlets(session)  # a demo seeded before outlets had a location gets one
        return _read_logins(logins_path) if logins_path.exists() else []

    ensure_defaults(session)
    features = all_features(session)
    period_code, starts, ends = quarter_of(date.today())
    period = Period(
        code=period_code, starts_on=starts, ends_on=ends, is_current=True, state=PeriodState.OPEN
    )
    last_code, last_starts, last_ends = quarter_of(starts - timedelta(days=1))
    last = Period(code=last_code, starts_on=last_starts, ends_on=last_ends, state=PeriodState.OPEN)
    # the next quarter, planned: head office proposes its plan and opens it once this one closes
    next_code, next_starts, next_ends = quarter_of(ends + timedelta(days=1))
    upcoming = Period(code=next_code, starts_on=next_starts, ends_on=next_ends)
    agency = Agency(name="明镜服务质量咨询公司")
    session.add_all([period, last, upcoming, agency])
    outlets: list[Outlet] = []
    sub_branches: list[SubBranch] = []
    for sb_code, sb_name, outlet_names in SUB_BRANCHES:
        sub_branch = SubBranch(code=sb_code, name=sb_name)
        sub_branches.append(sub_branch)
        for name in outlet_names:
            latitude, longitude = LOCATIONS[len(outlets)]
            outlet = Outlet(
                code=f"{sb_code}-{len(outlets) + 1:02d}",
                name=f"{name}网点",
                sub_branch=sub_branch,
                latitude=Decimal(latitude),
                longitude=Decimal(longitude),
                features=[f for f in features if f.code not in LACKS.get(len(outlets), set())],
            )
            outlets.append(outlet)
        session.add(sub_branch)
    session.add_all(outlets)
    session.flush()

    logins: list[tuple[str, str, str]] = []

    def account(username: str, name: str, role: Role, **scope: Any) -> User:
        password = secrets.token_urlsafe(9)
        user = User(username=username, display_name=name, role=role, **scope)
        user.set_password(password)
        session.add(user)
        session.flush()
        audit.record(session, None, "account.created", "user", user.id, {"role": role.value})
        logins.append((role.value, username, password))
        return user

    admin = account("admin", "总行服务质量办公室", Role.ADMIN)
    inspector1 = account("inspector1", "神秘人 张", Role.INSPECTOR, agency=agency)
    inspector2 = account("inspector2", "神秘人 李", Role.INSPECTOR, agency=agency)
    # a third, so that no inspector need visit an outlet two periods running
    inspector3 = account("inspector3", "神秘人 王", Role.INSPECTOR, agency=agency)
    # bank staff's video checks: the operations department's, and each sub-branch's own
    checkers = [account("checker0", "运营管理部 视频检查", Role.BANK_CHECKER)]
    for n, sub_branch in enumerate(sub_branches, start=1):
        checkers.append(
            account(
                f"checker{n}",
                f"{sub_branch.name} 视频检查",
                Role.BANK_CHECKER,
                sub_branch=sub_branch,
            )
        )
    account("outlet12", f"{outlets[11].name}负责人", Role.OUTLET_MANAGER, outlet=outlets[11])
    account(
        "subbranch3",
        f"{sub_branches[2].name}行长",
        Role.SUB_BRANCH_MANAGER,
        sub_branch=sub_branches[2],
    )
    session.flush()

    assignments = [
        Assignment(
            period=period,
            outlet=outlet,
            inspector=inspector1 if n < 4 else inspector3 if n < 8 else inspector2,
        )
        for n, outlet in enumerate(outlets)
    ]
    earlier = [Assignment(period=last, outlet=o, inspector=inspector1) for o in outlets[8:10]]
    # this period's video checks: one by head office's checker, one by the sub-branch's
    own = {c.sub_branch_id: c for c in checkers[1:]}
    videos = [
        Assignment(period=period, outlet=o, inspector=checker, kind=AssignmentKind.VIDEO)
        for o in outlets
        for checker in (checkers[0], own[o.sub_branch_id])
    ]
    session.add_all([*assignments, *earlier, *videos])
    session.flush()
    _pin_editions(session, last, period, config["CHECKLIST_ORDER"], upcoming)
    # last period's two visits were made on the first edition of the standards
    period.is_current, last.is_current = False, True
    done = _submit_examples(session, inspector1, earlier, config)
    _check_examples(session, admin, done, config, ("released", "released"))
    period.is_current, last.is_current = True, False
    last.state = PeriodState.CLOSED  # closed as head office closes one: its results frozen
    results.freeze(session, last, results.Settings.from_config(config))
    examples = _submit_examples(session, inspector2, assignments[8:], config)
    _check_examples(session, admin, examples, config, EXAMPLE_CHECKS)

    instance.mkdir(parents=True, exist_ok=True)
    logins_path.write_text("".join("\t".join(row) + "\n" for row in logins))
    logins_path.chmod(0o600)
    return logins


# what head office's check did with each example: released (with its notice), still waiting
# for release, returned to the inspector, released (outlet12's: its demo manager answers it)
EXAMPLE_CHECKS = ("released", "waiting", "returned", "released")


def _pin_editions(
    session: Session,
    last: Period,
    current: Period,
    order: list[str],
    upcoming: Period | None = None,
) -> None:
    """Last period on the first edition of each checklist, this one (and the next) on the
    latest."""
    latest = latest_versions(session, order)
    for n, version in enumerate(latest, start=1):
        current.checklists.append(PeriodChecklist(version=version, position=n))
        if upcoming is not None:
            upcoming.checklists.append(PeriodChecklist(version=version, position=n))
        first = history(session, version.code)[0]
        last.checklists.append(PeriodChecklist(version=first, position=n))
    session.flush()


def _check_examples(
    session: Session,
    admin: User,
    examples: list[Inspection],
    config: dict[str, Any],
    checks: tuple[str, ...],
) -> None:
    settings = notices.Settings.from_config(config)
    store = photos.storage()
    for check, inspection in zip(checks, examples, strict=False):
        if check == "released":
            notices.release(session, store, admin, inspection, settings)
        elif check == "returned":
            notices.return_to_inspector(
                session, admin, inspection, "第 3 项的说明与照片不符，请核对后重新提交。"
            )


def _submit_examples(
    session: Session, inspector: User, assignments: list[Assignment], config: dict[str, Any]
) -> list[Inspection]:
    """A few submitted inspections so every role's screens show something."""
    if not latest_versions(session):
        return []
    bands = bands_from_config(config["SCORE_BANDS"], config["RED_LINE_BAND"])
    rng = random.Random(2026)
    made = []
    for fail_rate, assignment in zip((0.04, 0.12, 0.1, 0.25), assignments, strict=False):
        inspection = inspections.start(
            session, inspector, assignment.id, "on_site", config["CHECKLIST_ORDER"]
        )
        preset = {(a.checklist_version_id, a.item_code) for a in inspection.answers}
        for pin in inspections.pinned(inspection):
            for item in pin.checklist.items:
                if (pin.version.id, item.code) in preset:
                    continue
                failed = rng.random() < fail_rate and not item.photo_required_on_fail
                result = "fail" if failed else "pass"
                inspections.save_answer(
                    session,
                    inspector,
                    inspection,
                    version_id=pin.version.id,
                    item_code=item.code,
                    result=result,
                    note="示例：现场发现该项未达标准。" if failed else "",
                    client_uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                )
        _record_visit(session, inspector, inspection, rng)
        inspections.submit(session, inspector, inspection, bands, attested=True)
        made.append(inspection)
    return made


def _outlet_codes() -> list[str]:
    codes: list[str] = []
    for sb_code, _name, outlet_names in SUB_BRANCHES:
        for _outlet in outlet_names:
            codes.append(f"{sb_code}-{len(codes) + 1:02d}")
    return codes


def _place_outlets(session: Session) -> None:
    for code, (latitude, longitude) in zip(_outlet_codes(), LOCATIONS, strict=True):
        outlet = session.scalar(select(Outlet).where(Outlet.code == code))
        if outlet is not None and outlet.latitude is None:
            outlet.latitude, outlet.longitude = Decimal(latitude), Decimal(longitude)


def _record_visit(
    session: Session, inspector: User, inspection: Inspection, rng: random.Random
) -> None:
    """A visit record like a paper scoresheet's, on the day before, and a check-in near."""
    zone = ZoneInfo(inspection.outlet.timezone)
    day = datetime.now(zone).date() - timedelta(days=1)
    arrived = datetime.combine(day, time(9, 30), tzinfo=zone) + timedelta(
        minutes=rng.randrange(0, 240, 5)
    )
    inspection.started_at = arrived.astimezone(UTC)  # the visit's day is the day it began

    def hhmm(minutes: int) -> str:
        return (arrived + timedelta(minutes=minutes)).strftime("%H:%M")

    wait = rng.randrange(4, 25)
    fields = {
        "arrived_at": hhmm(0),
        "ticket_at": hhmm(2),
        "called_at": hhmm(2 + wait),
        "departed_at": hhmm(2 + wait + rng.randrange(10, 20)),
        "customers_waiting": str(rng.randrange(1, 12)),
        "windows_open": "3",
        "windows_total": "5",
        "business": "活期存款取现 2000 元",
        "teller_window": str(rng.randrange(1, 6)),
        "teller_badge": f"{rng.randrange(1000, 9999)}",
    }
    visits.save_visit(session, inspector, inspection, fields, _uuid(rng))
    inspection.checkin_band, inspection.checkin_at = "near", arrived.astimezone(UTC)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
