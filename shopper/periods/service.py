"""Periods: their dates, state, thresholds, which one is current, and the checklist versions
they use (their plans, opening and closing: `shopper.periods.plan`).

A period's inspections pin the period's versions when they start, so the versions may
change only while none has started: publishing a new version, or changing the period,
never changes an inspection under way. Functions `flush()` and never commit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from shopper.checklists import service as checklists
from shopper.checklists.models import ChecklistVersion
from shopper.db import change_if
from shopper.inspections.models import Inspection, InspectionChecklist
from shopper.periods.models import Period, PeriodChecklist, PeriodState
from shopper.refusals import Refused

PERIOD_CODE = re.compile(r"[0-9A-Za-z-]{1,20}")


@dataclass(frozen=True)
class Offer:
    """One checklist's versions a period may choose, newest first, and the one to preselect."""

    code: str
    versions: list[ChecklistVersion]
    default_id: int


@dataclass(frozen=True)
class Overview:
    period: Period
    versions: list[ChecklistVersion]
    own_choice: bool  # False: no versions chosen, its inspections take the latest published
    started: int  # inspections started in it

    @property
    def locked(self) -> bool:
        return self.started > 0


def get(session: Session, period_id: int) -> Period:
    period = session.get(Period, period_id)
    if period is None:
        raise Refused("not_found", 404)
    return period


def started_counts(session: Session) -> dict[int, int]:
    """Inspections started, by period id (periods with none are absent)."""
    rows = session.execute(
        select(Inspection.period_id, func.count()).group_by(Inspection.period_id)
    )
    return {period_id: count for period_id, count in rows}


def overview(session: Session, order: Sequence[str] = ()) -> list[Overview]:
    """Every period, newest first, with the versions it uses and its inspections started."""
    counts = started_counts(session)
    periods = session.scalars(select(Period).order_by(Period.starts_on.desc(), Period.id.desc()))
    return [
        Overview(
            period=p,
            versions=checklists.period_versions(session, p, order),
            own_choice=bool(p.checklists),
            started=counts.get(p.id, 0),
        )
        for p in periods
    ]


def offers(
    session: Session, order: Sequence[str] = (), period: Period | None = None
) -> list[Offer]:
    """For each checklist (in `order`), the versions on offer and the one to preselect:
    the period's own choice when it has one, else the latest published."""
    chosen = {pc.version.code: pc.version.id for pc in period.checklists} if period else {}
    result = []
    for latest in checklists.latest_versions(session, order):
        versions = checklists.versions_of(session, latest.code)
        if not versions:
            continue  # every version withdrawn: nothing to choose
        default = chosen.get(latest.code, versions[0].id)
        result.append(Offer(latest.code, versions, default))
    return result


def _chosen_versions(
    session: Session, chosen: Mapping[str, int | None], order: Sequence[str]
) -> list[ChecklistVersion]:
    """The version picked for each checklist on offer, in order; Refused unless each pick is
    one of that checklist's versions on offer."""
    picked = []
    for offer in offers(session, order):
        by_id = {v.id: v for v in offer.versions}
        version = by_id.get(chosen.get(offer.code) or 0)
        if version is None:
            raise Refused("period_bad_version")
        picked.append(version)
    return picked


def _check_dates(starts_on: date | None, ends_on: date | None) -> tuple[date, date]:
    if starts_on is None or ends_on is None:
        raise Refused("period_dates_required")
    if ends_on < starts_on:
        raise Refused("period_ends_before_start")
    return starts_on, ends_on


@dataclass(frozen=True)
class Thresholds:
    """A period's own thresholds; None keeps the configured default."""

    coverage_share: Decimal | None = None
    video_checks_per_outlet: int | None = None
    reinspection_below: Decimal | None = None


def parse_thresholds(coverage_percent: str, video_checks: str, below: str) -> Thresholds:
    """The create form's thresholds (empty: the default). Coverage is a percentage above 0
    and at most 100 (stored as a share), video checks 0–20, the score 0–100, at most one
    decimal. Raises Refused("period_bad_threshold") for anything else."""

    def number(text: str, low: Decimal, high: Decimal, places: int) -> Decimal | None:
        text = (text or "").strip()
        if not text:
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise Refused("period_bad_threshold") from None
        exponent = value.as_tuple().exponent
        if (
            not value.is_finite()
            or not low <= value <= high
            or not isinstance(exponent, int)
            or -exponent > places
        ):
            raise Refused("period_bad_threshold")
        return value

    share = number(coverage_percent, Decimal(0), Decimal(100), 1)
    if share is not None and share == 0:
        raise Refused("period_bad_threshold")
    checks = number(video_checks, Decimal(0), Decimal(20), 0)
    score = number(below, Decimal(0), Decimal(100), 1)
    return Thresholds(
        coverage_share=(share / 100).quantize(Decimal("0.001")) if share is not None else None,
        video_checks_per_outlet=int(checks) if checks is not None else None,
        reinspection_below=score,
    )


def create(
    session: Session,
    code: str,
    starts_on: date | None,
    ends_on: date | None,
    chosen: Mapping[str, int | None],
    order: Sequence[str] = (),
    thresholds: Thresholds | None = None,
) -> Period:
    """A new period (planned, not current) using the chosen version of each checklist on
    offer, with its own thresholds where given.

    Raises Refused for a code not of 1–20 letters, digits and hyphens or already taken,
    missing dates or an end before the start, and a version not on offer.
    """
    code = code.strip()
    if not PERIOD_CODE.fullmatch(code):
        raise Refused("period_bad_code")
    starts_on, ends_on = _check_dates(starts_on, ends_on)
    if session.scalar(select(Period.id).where(Period.code == code)) is not None:
        raise Refused("period_code_taken", 409, period=code)
    versions = _chosen_versions(session, chosen, order)
    period = Period(
        code=code,
        starts_on=starts_on,
        ends_on=ends_on,
        is_current=False,
        state=PeriodState.PLANNED,
        checklists=[PeriodChecklist(version=v, position=n) for n, v in enumerate(versions, 1)],
    )
    if thresholds is not None:
        period.coverage_share = thresholds.coverage_share
        period.video_checks_per_outlet = thresholds.video_checks_per_outlet
        period.reinspection_below = thresholds.reinspection_below
    session.add(period)
    session.flush()
    return period


def change_versions(
    session: Session, period: Period, chosen: Mapping[str, int | None], order: Sequence[str] = ()
) -> bool:
    """Set the period's versions; False when they were already those (nothing written).

    Refused("period_started", 409) once any inspection of the period has started: the
    check and the period's row lock are one statement, so a start that committed first
    is seen.
    """
    none_started = ~exists().where(Inspection.period_id == Period.id)
    if not change_if(session, period, none_started, code=period.code):
        raise Refused("period_started", 409, period=period.code)
    versions = _chosen_versions(session, chosen, order)
    wanted = [(v.id, n) for n, v in enumerate(versions, 1)]
    if [(pc.checklist_version_id, pc.position) for pc in period.checklists] == wanted:
        return False
    kept = {v.id for v in versions}
    for row in list(period.checklists):
        if row.checklist_version_id not in kept:
            period.checklists.remove(row)  # delete-orphan
    session.flush()
    rows = {row.checklist_version_id: row for row in period.checklists}
    for version_id, position in wanted:
        if version_id in rows:
            rows[version_id].position = position
        else:
            version = next(v for v in versions if v.id == version_id)
            period.checklists.append(PeriodChecklist(version=version, position=position))
    period.checklists.sort(key=lambda row: row.position)
    session.flush()
    return True


def make_current(session: Session, period: Period) -> None:
    """Make `period` the one current period (idempotent).

    One UPDATE over every period, so two requests at once still leave exactly one current.
    """
    session.execute(
        update(Period)
        .values(is_current=Period.id == period.id)
        .execution_options(synchronize_session=False)
    )
    for row in session.identity_map.values():
        if isinstance(row, Period):
            session.expire(row, ["is_current"])


def version_in_use(session: Session, version_id: int) -> bool:
    """True when a period has chosen the version or an inspection has pinned it: such a
    version must stay on offer (it cannot be withdrawn or deleted)."""
    chosen = exists().where(PeriodChecklist.checklist_version_id == version_id)
    pinned = exists().where(InspectionChecklist.checklist_version_id == version_id)
    return bool(session.scalar(select(chosen | pinned)))
