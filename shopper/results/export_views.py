"""Head office's exports of a period's results (CSV and XLSX, streamed) and its signed
period report (通报), on a small page of their own: /office/results/<period>/exports.

Views only load, check and call shopper.results.exports / .report.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from shopper.auth.access import allow
from shopper.auth.models import Role
from shopper.extensions import db
from shopper.forms import require_valid
from shopper.jobs import queue as jobs
from shopper.periods.models import Period
from shopper.photos import service as photos
from shopper.refusals import Refused
from shopper.results import exports, report

bp = Blueprint("exports", __name__, url_prefix="/office/results")
head_office = allow(Role.ADMIN)


class ReportForm(FlaskForm):
    """Issue a new report: nothing but the CSRF token."""


def _period(period_id: int) -> Period:
    period = db.session.get(Period, period_id)
    if period is None:
        raise Refused("not_found", 404)
    return period


def _options() -> dict[str, Any]:
    return {
        "lang": str(get_locale() or "zh_CN"),
        "checklist_order": current_app.config["CHECKLIST_ORDER"],
        "config": current_app.config,
    }


def links(period: Period) -> list[dict[str, Any]]:
    """What the exports include shows: each export with its CSV and XLSX links."""
    return [
        {
            "kind": kind,
            "title": str(export.title),
            "columns": [c.name for c in export.columns],
            "files": [
                {
                    "format": fmt.upper(),
                    "url": url_for("exports.download", period_id=period.id, kind=kind, fmt=fmt),
                    "name": exports.filename(period, kind, fmt),
                }
                for fmt in exports.FORMATS
            ],
        }
        for kind, export in exports.EXPORTS.items()
    ]


def _local(iso: str) -> str:
    moment = datetime.fromisoformat(iso).astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
    return moment.strftime("%Y-%m-%d %H:%M")


@bp.get("/<int:period_id>/exports")
@head_office
def index(period_id: int):
    period = _period(period_id)
    issued = report.reports_of(db.session, period)
    return render_template(
        "results/report_exports.html",
        period={"id": period.id, "code": period.code, "state": period.state},
        exports=links(period),
        reports=[
            {
                "number": r.number,
                "issued_at": _local(r.issued_at),
                "issued_by": r.issued_by,
                "lang": r.lang,
                "size_kb": max(1, round(r.size / 1024)),
                "url": url_for("exports.report_pdf", period_id=period.id, number=r.number),
            }
            for r in issued
        ],
        form=ReportForm(),
        queued=jobs.configured(),  # with a queue: the report and XLSX files also as jobs
    )


@bp.get("/<int:period_id>/exports/<kind>.<fmt>")
@head_office
def download(period_id: int, kind: str, fmt: str):
    """The export streamed: CSV row by row as the database gives them, XLSX out of the
    temporary file it was built in. Memory does not grow with the number of rows."""
    period = _period(period_id)
    if kind not in exports.EXPORTS or fmt not in exports.FORMATS:
        raise Refused("not_found", 404)
    options = _options()
    if fmt == "csv":
        chunks = exports.csv_chunks(db.session, period, kind, options)
        media = exports.CSV_MEDIA_TYPE
    else:
        chunks = exports.xlsx_chunks(db.session, period, kind, options)
        media = exports.XLSX_MEDIA_TYPE
    name = exports.filename(period, kind, fmt)
    return Response(
        stream_with_context(chunks),
        mimetype=media,
        direct_passthrough=True,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
            "X-Accel-Buffering": "no",  # nginx: pass the rows on as they come
        },
    )


@bp.post("/<int:period_id>/reports")
@head_office
def issue_report(period_id: int):
    """A new signed report of the period, in the viewer's language."""
    period = _period(period_id)
    require_valid(ReportForm())
    issued = report.issue(
        db.session,
        photos.storage(),
        current_user,
        period,
        current_app.config,
        lang=str(get_locale() or "zh_CN"),
    )
    flash(_("Report %(number)s issued and signed.", number=issued.number), "info")
    return redirect(url_for(".index", period_id=period.id) + "#reports")


@bp.get("/<int:period_id>/reports/<number>.pdf")
@head_office
def report_pdf(period_id: int, number: str):
    period = _period(period_id)
    found = report.find_by_number(db.session, period, number[:40])
    if found is None:
        raise Refused("not_found", 404)
    try:  # streamed in chunks from disk or object storage
        stored = photos.storage().open(found.storage_key)
    except KeyError:
        abort(404)
    return Response(
        stored,
        mimetype="application/pdf",
        direct_passthrough=True,
        headers={
            "Content-Length": str(stored.size),
            "Content-Disposition": f'attachment; filename="{found.number}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )
