"""Head office's rectification ledger (整改台账): every finding across notices, filtered, with
figures over the filtered set, and the same rows as an Excel workbook.

Reads only; takes plain filters and returns plain dicts, never the request.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_pgettext
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from shopper.auth.models import User
from shopper.checklists.models import ChecklistVersion
from shopper.core import rectification as machine
from shopper.i18n import localized
from shopper.inspections.models import Inspection
from shopper.notices.models import Finding, FindingResponse, FindingStatus, Notice
from shopper.notices.service import findings_visible_to, local_today
from shopper.org.models import Outlet, SubBranch
from shopper.periods.models import Period

OVERDUE = "overdue"
STATUSES = (*(s.value for s in FindingStatus), OVERDUE)
MAX_ITEM_CODE = 40
MAX_ID = 2**31 - 1  # beyond any row, and beyond what SQLite binds, so it can't be an id

STATUS_LABELS = {
    "open": lazy_pgettext("finding status", "Open"),
    "answered": lazy_pgettext("finding status", "Answered"),
    "disputed": lazy_pgettext("finding status", "Disputed"),
    "accepted": lazy_pgettext("finding status", "Accepted"),
    "withdrawn": lazy_pgettext("finding status", "Withdrawn"),
    OVERDUE: lazy_pgettext("finding status", "Overdue"),
}
ANSWER_LABELS = {
    "rectified": lazy_pgettext("answer kind", "Rectified"),
    "disputed": lazy_pgettext("answer kind", "Disputed"),
}

Today = Callable[[str], date]  # an outlet's time zone → its date today


@dataclass(frozen=True)
class LedgerFilters:
    period_id: int | None = None
    sub_branch_id: int | None = None
    outlet_id: int | None = None
    status: str | None = None  # a FindingStatus or "overdue"
    item_code: str | None = None

    @classmethod
    def clean(
        cls,
        *,
        period_id: int | None = None,
        sub_branch_id: int | None = None,
        outlet_id: int | None = None,
        status: str | None = None,
        item_code: str | None = None,
    ) -> LedgerFilters:
        """Filters from untrusted input: a value that cannot match is dropped, not refused."""
        code = (item_code or "").strip()
        return cls(
            period_id=_id(period_id),
            sub_branch_id=_id(sub_branch_id),
            outlet_id=_id(outlet_id),
            status=status if status in STATUSES else None,
            item_code=code if code and len(code) <= MAX_ITEM_CODE else None,
        )


def _id(value: int | None) -> int | None:
    return value if value is not None and 0 < value <= MAX_ID else None


def _overdue_condition(session: Session, today: Today) -> Any:
    """SQL for `machine.is_overdue`: open and past the deadline in the outlet's own today."""
    zones = session.scalars(select(Outlet.timezone).distinct()).all()
    past = [and_(Outlet.timezone == zone, Finding.deadline < today(zone)) for zone in zones]
    return and_(Finding.status == FindingStatus.OPEN, or_(*past) if past else false())


def _filtered(session: Session, user: User, filters: LedgerFilters, today: Today) -> Select:
    visible = findings_visible_to(user).with_only_columns(Finding.id)
    query = (
        select(Finding, Outlet, SubBranch, Period)
        .join(Outlet, Finding.outlet_id == Outlet.id)
        .join(SubBranch, Outlet.sub_branch_id == SubBranch.id)
        .join(Inspection, Finding.inspection_id == Inspection.id)
        .join(Period, Inspection.period_id == Period.id)
        .where(Finding.id.in_(visible))
    )
    if filters.period_id:
        query = query.where(Inspection.period_id == filters.period_id)
    if filters.sub_branch_id:
        query = query.where(Outlet.sub_branch_id == filters.sub_branch_id)
    if filters.outlet_id:
        query = query.where(Finding.outlet_id == filters.outlet_id)
    if filters.item_code:
        query = query.where(Finding.item_code == filters.item_code)
    if filters.status == OVERDUE:
        query = query.where(_overdue_condition(session, today))
    elif filters.status:
        query = query.where(Finding.status == filters.status)
    return query


def _counts(session: Session, query: Select, today: Today) -> dict[str, Any]:
    ids = query.with_only_columns(Finding.id).scalar_subquery()
    by_status = dict(
        session.execute(
            select(Finding.status, func.count()).where(Finding.id.in_(ids)).group_by(Finding.status)
        ).all()
    )
    overdue = (
        session.scalar(
            select(func.count())
            .select_from(Finding)
            .join(Outlet, Finding.outlet_id == Outlet.id)
            .where(Finding.id.in_(ids), _overdue_condition(session, today))
        )
        or 0
    )
    spans = session.execute(
        select(Finding.opened_at, Finding.closed_at).where(
            Finding.id.in_(ids),
            Finding.status.in_(machine.CLOSED),
            Finding.closed_at.is_not(None),
        )
    ).all()
    total = sum(by_status.values())
    closed = sum(by_status.get(s, 0) for s in machine.CLOSED)
    seconds = [Decimal(str((c - o).total_seconds())) for o, c in spans]
    return {
        "total": total,
        "open": by_status.get(FindingStatus.OPEN, 0),
        "waiting": by_status.get(FindingStatus.ANSWERED, 0)
        + by_status.get(FindingStatus.DISPUTED, 0),
        "overdue": overdue,
        "closed": closed,
        "closure_rate": _one_decimal(Decimal(closed * 100) / total) if total else None,
        "average_days_to_close": (
            _one_decimal(sum(seconds) / len(seconds) / 86400) if seconds else None
        ),
    }


def _one_decimal(value: Decimal) -> float:
    # half up, as a person rounds: 2.25 days → 2.3
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _latest_answers(session: Session, finding_ids: list[int]) -> dict[int, FindingResponse]:
    if not finding_ids:
        return {}
    latest = (
        select(func.max(FindingResponse.id))
        .where(FindingResponse.finding_id.in_(finding_ids))
        .group_by(FindingResponse.finding_id)
    )
    return {
        r.finding_id: r
        for r in session.scalars(select(FindingResponse).where(FindingResponse.id.in_(latest)))
    }


def _current_notices(session: Session, inspection_ids: set[int]) -> dict[int, Notice]:
    """Per inspection, its outlet notice that no later notice supersedes (as
    `service.current_notice`, for a page of rows at once)."""
    if not inspection_ids:
        return {}
    superseded = select(Notice.supersedes_id).where(Notice.supersedes_id.is_not(None))
    found: dict[int, Notice] = {}
    for notice in session.scalars(
        select(Notice)
        .where(Notice.inspection_id.in_(inspection_ids), Notice.id.not_in(superseded))
        .order_by(Notice.id)
    ):
        found[notice.inspection_id] = notice  # type: ignore[index]  # the newest wins
    return found


def _item_text(session: Session, version_id: int, code: str) -> str:
    version = session.get(ChecklistVersion, version_id)
    item = version.checklist().item(code) if version else None
    return localized(item.text) if item else ""


def _local_date(moment: datetime | None, zone: str) -> date | None:
    return moment.astimezone(ZoneInfo(zone)).date() if moment else None


def _rows(session: Session, results: Sequence[Any], today: Today) -> list[dict[str, Any]]:
    answers = _latest_answers(session, [f.id for f, *_ in results])
    notices = _current_notices(session, {f.inspection_id for f, *_ in results})
    todays: dict[str, date] = {}
    rows = []
    for finding, outlet, sub_branch, period in results:
        zone = outlet.timezone
        if zone not in todays:
            todays[zone] = today(zone)
        answer = answers.get(finding.id)
        notice = notices.get(finding.inspection_id)
        rows.append(
            {
                "id": finding.id,
                "outlet_code": outlet.code,
                "outlet": outlet.name,
                "sub_branch": sub_branch.name,
                "period": period.code,
                "item_code": finding.item_code,
                "item_text": _item_text(session, finding.checklist_version_id, finding.item_code),
                "status": finding.status,
                "status_label": str(STATUS_LABELS.get(finding.status, finding.status)),
                "deadline": finding.deadline,
                "overdue": machine.is_overdue(finding.status, finding.deadline, todays[zone]),
                "notice_number": notice.number if notice else None,
                "notice_href": f"/notices/{notice.id}" if notice else None,
                "answer_kind": answer.kind if answer else None,
                "answer_label": str(ANSWER_LABELS.get(answer.kind, answer.kind))
                if answer
                else None,
                "answered_on": _local_date(answer.at, zone) if answer else None,
                "opened_on": _local_date(finding.opened_at, zone),
                "closed_on": _local_date(finding.closed_at, zone),
            }
        )
    return rows


def _ordered(query: Select) -> Select:
    return query.order_by(Period.starts_on.desc(), Outlet.code, Finding.item_code, Finding.id)


def ledger(
    session: Session,
    user: User,
    filters: LedgerFilters,
    *,
    today: Today | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
    """A page of findings `user` may see that match `filters` (newest period first, then by
    outlet and item), the number matching, and figures over all of them: total, open,
    waiting (answered or disputed), overdue, closed, closure rate (%, one decimal) and
    average days to close (one decimal; None when nothing is closed).

    `today` maps an outlet's time zone to its date; it defaults to the real local date."""
    today = today or local_today
    query = _filtered(session, user, filters, today)
    counts = _counts(session, query, today)
    results = session.execute(_ordered(query).limit(limit).offset(offset)).all()
    return _rows(session, results, today), counts["total"], counts


def ledger_rows_all(
    session: Session, user: User, filters: LedgerFilters, *, today: Today | None = None
) -> list[dict[str, Any]]:
    """Every row `ledger` would page through, in the same order (for the export)."""
    today = today or local_today
    results = session.execute(_ordered(_filtered(session, user, filters, today))).all()
    return _rows(session, results, today)


def item_choices(session: Session, user: User) -> list[tuple[str, str]]:
    """(item code, text) of every checklist item with a finding `user` may see."""
    visible = findings_visible_to(user).with_only_columns(Finding.id)
    pairs = session.execute(
        select(Finding.checklist_version_id, Finding.item_code)
        .where(Finding.id.in_(visible))
        .distinct()
        .order_by(Finding.item_code, Finding.checklist_version_id.desc())
    ).all()
    choices: dict[str, str] = {}
    for version_id, code in pairs:
        choices.setdefault(code, _item_text(session, version_id, code))
    return sorted(choices.items())


# ---- the Excel workbook -------------------------------------------------------------------

DATE_FORMAT = "yyyy-mm-dd"


def _width(value: Any) -> int:
    text = value.isoformat() if isinstance(value, date) else str(value or "")
    # a CJK character takes about two columns
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def to_xlsx(rows: Sequence[dict[str, Any]], headers: Sequence[tuple[str, str]]) -> bytes:
    """One sheet: a header row (`headers` is (row key, column title) in order), one typed row
    per dict (dates as dates, numbers as numbers, text never read as a formula), the header
    frozen, an autofilter over the table and column widths that fit the content."""
    book = Workbook()
    sheet = book.active
    sheet.append([title for _key, title in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [_width(title) for _key, title in headers]
    for r, row in enumerate(rows, start=2):
        for c, (key, _title) in enumerate(headers, start=1):
            value = row.get(key)
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, date):
                cell.number_format = DATE_FORMAT
            elif isinstance(value, str):
                cell.data_type = "s"  # an outlet called "=HYPERLINK(…)" stays text
            widths[c - 1] = max(widths[c - 1], _width(value))
    for c, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(c)].width = min(max(width + 2, 8), 60)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(len(rows) + 1, 1)}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
