"""What the API reads: every list filtered by the web's own visibility rules, in a stable
order, a page at a time (keyset pagination: a cursor names the last row seen).

`viewer` is the user a token stands for (`tokens.viewer`): inspections go through
`inspections.service.visible_to` (other scopes than head office see released ones only),
notices and findings through the notices' rules. Read only: nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased, selectinload
from sqlalchemy.sql.functions import GenericFunction

from shopper.api import cursor
from shopper.auth.models import Role, User
from shopper.checklists.models import ChecklistVersion
from shopper.db import UTCDateTime
from shopper.inspections import service as inspections
from shopper.inspections.models import (
    Answer,
    Inspection,
    InspectionChecklist,
    Status,
    Submission,
)
from shopper.notices import service as notices
from shopper.notices.models import Finding, Notice, ScoreRevision
from shopper.org.models import Outlet
from shopper.periods.models import Period
from shopper.refusals import Refused


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str | None


def _page(rows: Sequence[Any], limit: int, key) -> Page:
    """`rows` holds up to limit + 1 rows: one more means there is a next page."""
    more = len(rows) > limit
    rows = list(rows[:limit])
    return Page(rows, key(rows[-1]) if more and rows else None)


def _decoded(decode, kind: str, text: str | None):
    if text is None:
        return None
    try:
        return decode(kind, text)
    except cursor.BadCursor as exc:
        raise Refused("api_bad_cursor") from exc


# ---- when an inspection last changed ------------------------------------------------------


class latest(GenericFunction[datetime]):
    """The latest of its (non-NULL) arguments: GREATEST on PostgreSQL, max() on SQLite."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(latest, "sqlite")
def _latest_sqlite(element, compiler, **kw):
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(latest)
def _latest_default(element, compiler, **kw):
    return f"greatest({compiler.process(element.clauses, **kw)})"


def changed_at() -> ColumnElement[datetime]:
    """When an inspection last changed, derived from what its rows record (there is no
    updated_at): a draft by its start, check-in, answers and returns; a submitted one by its
    submission, release and score revisions (its answers are frozen before submission).
    Visit-record edits to a draft carry no time of their own: they show at its submission."""
    started = Inspection.started_at

    def newest(column, where) -> ColumnElement[datetime]:
        return func.coalesce(select(func.max(column)).where(where).scalar_subquery(), started)

    draft = latest(
        started,
        func.coalesce(Inspection.checkin_at, started),
        newest(Answer.updated_at, Answer.inspection_id == Inspection.id),
        newest(Submission.returned_at, Submission.inspection_id == Inspection.id),
    )
    frozen = latest(
        func.coalesce(Inspection.submitted_at, started),
        func.coalesce(Inspection.released_at, started),
        newest(ScoreRevision.at, ScoreRevision.inspection_id == Inspection.id),
    )
    return case((Inspection.status == Status.DRAFT, draft), else_=frozen).label("changed_at")


# ---- inspections ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InspectionFilters:
    period_id: int | None = None
    sub_branch_id: int | None = None
    outlet_id: int | None = None
    changed_since: datetime | None = None


_INSPECTION_DETAIL = (
    "answers",
    "section_scores",
    "outlet",
    "period",
)


def _with_changed_at(query: Select):
    """(query's inspections, when each changed) as an aliased entity and its column."""
    sub = query.add_columns(changed_at()).subquery()
    row = aliased(Inspection, sub)
    options = [selectinload(getattr(row, name)) for name in _INSPECTION_DETAIL]
    options.append(selectinload(row.checklists).selectinload(InspectionChecklist.version))
    return select(row, sub.c.changed_at).options(*options), row, sub.c.changed_at


def inspections_page(
    session: Session, viewer: User, filters: InspectionFilters, after: str | None, limit: int
) -> Page:
    """(inspection, changed_at) pairs oldest change first, by (changed_at, id): walking the
    cursors sees every inspection once, and one that changes meanwhile again at the end."""
    query = inspections.visible_to(viewer)
    if filters.period_id:
        query = query.where(Inspection.period_id == filters.period_id)
    if filters.outlet_id:
        query = query.where(Inspection.outlet_id == filters.outlet_id)
    if filters.sub_branch_id:
        query = query.where(
            Inspection.outlet_id.in_(
                select(Outlet.id).where(Outlet.sub_branch_id == filters.sub_branch_id)
            )
        )
    statement, row, changed = _with_changed_at(query)
    if filters.changed_since is not None:
        statement = statement.where(changed >= filters.changed_since)
    start = _decoded(cursor.decode_time_id, "inspections", after)
    if start is not None:
        at, last_id = start
        statement = statement.where(or_(changed > at, and_(changed == at, row.id > last_id)))
    rows = session.execute(statement.order_by(changed, row.id).limit(limit + 1)).all()
    return _page(
        [tuple(r) for r in rows],
        limit,
        lambda last: cursor.encode_time_id("inspections", last[1], last[0].id),
    )


def inspection(session: Session, viewer: User, inspection_id: int) -> tuple[Inspection, datetime]:
    """Raises Refused("not_found", 404) for one the token may not see, as for one that
    does not exist."""
    query = inspections.visible_to(viewer).where(Inspection.id == inspection_id)
    statement, _row, _changed = _with_changed_at(query)
    found = session.execute(statement).first()
    if found is None:
        raise Refused("not_found", 404)
    return found[0], found[1]


# ---- notices and their findings ------------------------------------------------------------


@dataclass(frozen=True)
class NoticeFilters:
    period_id: int | None = None
    sub_branch_id: int | None = None
    outlet_id: int | None = None
    kind: str | None = None


@dataclass(frozen=True)
class NoticeView:
    notice: Notice
    status: str
    superseded_by_id: int | None
    findings: list[Finding]


def _notice_views(session: Session, rows: Sequence[Notice]) -> list[NoticeView]:
    ids = [n.id for n in rows]
    successors = dict(
        session.execute(
            select(Notice.supersedes_id, Notice.id).where(Notice.supersedes_id.in_(ids))
        ).all()
    )
    return [
        NoticeView(
            notice=n,
            status=notices.notice_status(session, n),
            superseded_by_id=successors.get(n.id),
            findings=notices.findings_of(session, n.inspection_id) if n.inspection_id else [],
        )
        for n in rows
    ]


def notices_page(
    session: Session, viewer: User, filters: NoticeFilters, after: str | None, limit: int
) -> Page:
    """Notices the token may see, in the order they were issued (by id)."""
    query = notices.notices_visible_to(viewer)
    if filters.period_id:
        query = query.where(Notice.period_id == filters.period_id)
    if filters.sub_branch_id:
        query = query.where(Notice.sub_branch_id == filters.sub_branch_id)
    if filters.outlet_id:
        query = query.where(Notice.outlet_id == filters.outlet_id)
    if filters.kind:
        query = query.where(Notice.kind == filters.kind)
    last_id = _decoded(cursor.decode_id, "notices", after)
    if last_id is not None:
        query = query.where(Notice.id > last_id)
    rows = list(session.scalars(query.order_by(Notice.id).limit(limit + 1)))
    page = _page(rows, limit, lambda last: cursor.encode_id("notices", last.id))
    return Page(_notice_views(session, page.rows), page.next_cursor)


def notice(session: Session, viewer: User, notice_id: int) -> NoticeView:
    """Raises Refused("not_found", 404) for one the token may not see."""
    return _notice_views(session, [notices.get_notice(session, viewer, notice_id)])[0]


# ---- outlets, periods, checklist versions --------------------------------------------------


def outlets_visible_to(viewer: User) -> Select:
    """Head office: every outlet; a sub-branch: its own; an outlet: itself (as on the web)."""
    query = select(Outlet)
    role = Role(viewer.role)
    if role is Role.ADMIN:
        return query
    if role is Role.SUB_BRANCH_MANAGER:
        return query.where(Outlet.sub_branch_id == viewer.sub_branch_id)
    if role is Role.OUTLET_MANAGER:
        return query.where(Outlet.id == viewer.outlet_id)
    return query.where(Outlet.id.is_(None))


def _by_id(session: Session, query: Select, model, kind: str, after: str | None, limit: int):
    last_id = _decoded(cursor.decode_id, kind, after)
    if last_id is not None:
        query = query.where(model.id > last_id)
    rows = list(session.scalars(query.order_by(model.id).limit(limit + 1)))
    return _page(rows, limit, lambda last: cursor.encode_id(kind, last.id))


def outlets_page(
    session: Session, viewer: User, sub_branch_id: int | None, after: str | None, limit: int
) -> Page:
    query = outlets_visible_to(viewer).options(
        selectinload(Outlet.sub_branch), selectinload(Outlet.features)
    )
    if sub_branch_id:
        query = query.where(Outlet.sub_branch_id == sub_branch_id)
    return _by_id(session, query, Outlet, "outlets", after, limit)


def periods_page(session: Session, after: str | None, limit: int) -> Page:
    """Every period: they are the whole bank's, as on the web's filters."""
    query = select(Period).options(selectinload(Period.checklists))
    return _by_id(session, query, Period, "periods", after, limit)


def checklist_versions_page(
    session: Session, code: str | None, after: str | None, limit: int
) -> Page:
    """Every published version (withdrawn ones too: inspections still point at them)."""
    query = select(ChecklistVersion)
    if code:
        query = query.where(ChecklistVersion.code == code)
    return _by_id(session, query, ChecklistVersion, "checklist_versions", after, limit)


def checklist_version(session: Session, version_id: int) -> ChecklistVersion:
    """Raises Refused("not_found", 404)."""
    version = session.get(ChecklistVersion, version_id)
    if version is None:
        raise Refused("not_found", 404)
    return version
