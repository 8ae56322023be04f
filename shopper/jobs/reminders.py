"""Overdue reminders: every current outlet notice with a finding past its deadline gets a
'reminded' event on its timeline (and in the audit trail), once per the outlet's local day.

Safe to run on several workers at once and to run again: each notice is locked before it is
checked, and a notice reminded today is left alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from shopper.db import utcnow
from shopper.notices import service
from shopper.notices.models import Finding, FindingStatus, Kind, Notice, NoticeEvent
from shopper.org.models import Outlet

REMINDED = "reminded"


def lock_row(session: Session, model: type, row_id: int) -> None:
    """Hold `model` row `row_id`'s write lock until the transaction ends: PostgreSQL's row
    lock; on SQLite an UPDATE that changes nothing takes the database's write lock (so what
    is read next was committed, and no other writer is in between)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(model.id).where(model.id == row_id).with_for_update())
    else:
        session.execute(
            update(model)
            .where(model.id == row_id)
            .values(id=model.id)
            .execution_options(synchronize_session=False)
        )


def overdue_by_inspection(session: Session, today: Callable[[str], date]) -> Counter[int]:
    """Open findings past their deadline in the outlet's own today, counted per inspection."""
    zones = session.scalars(select(Outlet.timezone).distinct()).all()
    if not zones:
        return Counter()
    past = or_(*[and_(Outlet.timezone == z, Finding.deadline < today(z)) for z in zones])
    rows = session.execute(
        select(Finding.inspection_id, func.count())
        .join(Outlet, Finding.outlet_id == Outlet.id)
        .where(Finding.status == FindingStatus.OPEN, past)
        .group_by(Finding.inspection_id)
    ).all()
    return Counter(dict(rows))


def remind_overdue(
    session: Session,
    *,
    now: datetime | None = None,
    progress: Callable[..., None] | None = None,
    checkpoint: Callable[[], None] | None = None,
    every: int = 50,
) -> tuple[int, int]:
    """(reminded, already reminded today). `checkpoint` is called every `every` notices
    (a job commits there); the caller commits at the end."""
    now = now or utcnow()
    overdue = overdue_by_inspection(session, lambda zone: service.local_today(zone, now))
    superseded = select(Notice.supersedes_id).where(Notice.supersedes_id.is_not(None))
    notices = session.execute(
        select(Notice.id, Notice.inspection_id, Outlet.timezone)
        .join(Outlet, Notice.outlet_id == Outlet.id)
        .where(
            Notice.kind == Kind.OUTLET,
            Notice.closed_at.is_(None),
            Notice.inspection_id.in_(list(overdue)),
            Notice.id.not_in(superseded),
        )
        .order_by(Notice.id)
    ).all()
    reminded = already = 0
    report = progress or (lambda **_fields: None)
    report(done=0, total=len(notices), reminded=0, already=0)
    for n, (notice_id, inspection_id, zone) in enumerate(notices, start=1):
        lock_row(session, Notice, notice_id)
        day = service.local_today(zone, now)
        since = datetime.combine(day, time.min, ZoneInfo(zone)).astimezone(UTC)
        if session.scalar(
            select(NoticeEvent.id).where(
                NoticeEvent.notice_id == notice_id,
                NoticeEvent.kind == REMINDED,
                NoticeEvent.at >= since,
            )
        ):
            already += 1
        else:
            service.event(
                session,
                REMINDED,
                None,
                inspection_id=inspection_id,
                notice_id=notice_id,
                detail=str(overdue[inspection_id]),
            )
            session.flush()
            reminded += 1
        if checkpoint and n % every == 0:
            checkpoint()
            report(done=n, total=len(notices), reminded=reminded, already=already)
    report(done=len(notices), total=len(notices), reminded=reminded, already=already)
    return reminded, already
