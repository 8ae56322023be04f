"""Head office reads the audit trail of an inspection, a notice or an account, and exports it."""

from __future__ import annotations

import io
import json
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, render_template, request, url_for
from openpyxl import Workbook
from sqlalchemy import select

from shopper.audit import service as audit
from shopper.auth.access import allow
from shopper.auth.models import Role, User
from shopper.extensions import db
from shopper.notices.models import Finding, Notice
from shopper.refusals import Refused

bp = Blueprint("audit", __name__, url_prefix="/office/audit")
head_office = allow(Role.ADMIN)
KINDS = ("inspection", "notice", "user")


def _subject() -> tuple[str, int] | None:
    kind = request.args.get("kind") or ""
    raw = request.args.get("id") or ""
    if not kind and not raw:
        return None
    if kind not in KINDS or not raw.isdigit() or len(raw) > 9:
        raise Refused("audit_bad_subject")
    return kind, int(raw)


def _records(subject: tuple[str, int] | None) -> list:
    """An inspection's trail covers its notices and findings; an account's, what it did
    and what was done to it."""
    session = db.session
    if subject is None:
        return audit.trail(session, limit=200)
    kind, number = subject
    if kind == "inspection":
        notices = session.scalars(select(Notice.id).where(Notice.inspection_id == number))
        findings = session.scalars(select(Finding.id).where(Finding.inspection_id == number))
        return audit.trail_of(
            session,
            [("inspection", [number]), ("notice", list(notices)), ("finding", list(findings))],
        )
    if kind == "notice":
        return audit.trail_of(session, [("notice", [number])])
    if session.get(User, number) is None:
        raise Refused("not_found", 404)
    return audit.trail_of(session, [("user", [number])], actor_id=number)


def _rows(records: list) -> list[dict]:
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return [
        {
            "seq": r.seq,
            "at": r.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            "actor": r.actor,
            "action": r.action,
            "object": f"{r.object_type} {r.object_id}",
            "changes": ", ".join(f"{k}: {v}" for k, v in json.loads(r.changes).items()),
            "hash": r.hash,
        }
        for r in records
    ]


@bp.get("/")
@head_office
def index():
    subject = _subject()
    rows = _rows(_records(subject))
    args = request.args.to_dict()
    return render_template(
        "office/audit.html",
        verify_url=url_for(".index", **{**args, "verify": "1"}),
        export_url=url_for(".export", **args),
        rows=rows,
        subject=subject,
        kinds=KINDS,
        verdict=audit.verify(db.session) if request.args.get("verify") else None,
    )


@bp.get("/export.xlsx")
@head_office
def export():
    rows = _rows(_records(_subject()))
    book = Workbook(write_only=True)
    sheet = book.create_sheet("audit")
    columns = ["seq", "at", "actor", "action", "object", "changes", "hash"]
    sheet.append(columns)
    for row in rows:
        sheet.append([row[c] for c in columns])
    data = io.BytesIO()
    book.save(data)
    return Response(
        data.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="audit.xlsx"'},
    )
