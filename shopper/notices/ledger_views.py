"""Head office's rectification ledger: the page and its Excel export."""

from __future__ import annotations

import re

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from shopper.auth.access import allow
from shopper.auth.models import Role
from shopper.extensions import db
from shopper.inspections.listing import filter_choices
from shopper.notices import ledger
from shopper.org.models import Outlet
from shopper.periods.models import Period

bp = Blueprint("ledger", __name__, url_prefix="/office/findings")

PAGE_SIZE = 50
MAX_PAGE = 100_000  # an offset the database can bind
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters() -> ledger.LedgerFilters:
    # a value that is not a number or not a known status is ignored, as a form would drop it
    return ledger.LedgerFilters.clean(
        period_id=request.args.get("period", type=int),
        sub_branch_id=request.args.get("sub_branch", type=int),
        outlet_id=request.args.get("outlet", type=int),
        status=request.args.get("status") or None,
        item_code=request.args.get("item") or None,
    )


def _args() -> dict[str, str]:
    """The filters as they came, without the page: for the export link."""
    return {k: v for k, v in request.args.items() if k != "page" and v}


@bp.get("/")
@allow(Role.ADMIN)
def index():
    filters = _filters()
    page = min(max(request.args.get("page", type=int) or 1, 1), MAX_PAGE)
    rows, total, counts = ledger.ledger(
        db.session, current_user, filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    choices = filter_choices(select(Outlet))
    choices["statuses"] = [(code, str(label)) for code, label in ledger.STATUS_LABELS.items()]
    choices["checklist_items"] = ledger.item_choices(db.session, current_user)
    return render_template(
        "office/ledger.html",
        rows=rows,
        total=total,
        counts=counts,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        filters=filters,
        choices=choices,
        export_url=url_for("ledger.export", **_args()),
        status_urls={
            code: url_for("ledger.index", **{**_args(), "status": code})
            for code in ("open", "overdue")
        },
    )


def export_headers() -> list[tuple[str, str]]:
    """The workbook's columns: (row key, title in the user's language)."""
    return [
        ("id", _("Finding")),
        ("outlet_code", _("Outlet code")),
        ("outlet", _("Outlet")),
        ("sub_branch", _("Sub-branch")),
        ("period", _("Period")),
        ("item_code", _("Item code")),
        ("item_text", _("Checklist item")),
        ("status_label", _("Status")),
        ("deadline", _("Deadline")),
        ("overdue", _("Overdue")),
        ("notice_number", _("Notice")),
        ("answer_label", _("Latest answer")),
        ("answered_on", _("Answered on")),
        ("opened_on", _("Opened on")),
        ("closed_on", _("Closed on")),
    ]


@bp.get("/export.xlsx")
@allow(Role.ADMIN)
def export():
    filters = _filters()
    rows = ledger.ledger_rows_all(db.session, current_user, filters)
    yes, no = _("Yes"), _("No")
    rows = [{**row, "overdue": yes if row["overdue"] else no} for row in rows]
    period = db.session.get(Period, filters.period_id) if filters.period_id else None
    code = re.sub(r"[^A-Za-z0-9_-]", "", period.code) if period else ""
    name = f"findings-{code or 'all'}.xlsx"
    return Response(
        ledger.to_xlsx(rows, export_headers()),
        mimetype=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
