"""Notices for outlets, sub-branches and head office, and the public verification page.

Each handler: parse → load and check access → one service call → render/redirect.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from shopper.auth.access import allow, public
from shopper.auth.models import Role
from shopper.extensions import db
from shopper.forms import require_valid
from shopper.inspections.models import Inspection
from shopper.notices import pages, service, verification
from shopper.notices.forms import (
    ActionForm,
    CommentForm,
    DecisionForm,
    ResponseForm,
    VerifyForm,
)
from shopper.notices.models import Notice
from shopper.photos import service as photos

bp = Blueprint("notices", __name__, url_prefix="/notices")
verify_bp = Blueprint("verify", __name__, url_prefix="/verify")
readers = allow(Role.ADMIN, Role.OUTLET_MANAGER, Role.SUB_BRANCH_MANAGER)
STATUSES = ("new", "acknowledged", "answered", "closed", "superseded", "overdue")


def settings() -> service.Settings:
    return service.Settings.from_config(current_app.config)


@bp.get("/")
@readers
def index():
    wanted = request.args.get("status") if request.args.get("status") in STATUSES else None
    query = service.notices_visible_to(current_user).order_by(Notice.issued_at.desc())
    rows = []
    for notice in db.session.scalars(query.limit(500)):
        today = service.local_today(notice.outlet.timezone if notice.outlet else "Asia/Shanghai")
        row = pages.notice_row(db.session, notice, today)
        if wanted is None or row["status"] == wanted or (wanted == "overdue" and row["overdue"]):
            rows.append(row)
    return render_template("notices/index.html", rows=rows, status=wanted, statuses=STATUSES)


@bp.get("/<int:notice_id>")
@readers
def show(notice_id: int):
    notice = service.get_notice(db.session, current_user, notice_id)
    return render_template(
        "notices/show.html",
        notice=pages.notice_page(db.session, notice, current_user),
        form=ActionForm(),
    )


@bp.get("/<int:notice_id>/pdf")
@readers
def pdf(notice_id: int):
    notice = service.get_notice(db.session, current_user, notice_id)
    try:  # streamed in chunks from disk or object storage, never whole in memory
        stored = photos.storage().open(notice.storage_key)
    except KeyError:
        abort(404)
    return Response(
        stored,
        mimetype="application/pdf",
        direct_passthrough=True,
        headers={
            "Content-Length": str(stored.size),
            "Content-Disposition": f'attachment; filename="{notice.number}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.post("/<int:notice_id>/acknowledge")
@allow(Role.OUTLET_MANAGER)
def acknowledge(notice_id: int):
    notice = service.get_notice(db.session, current_user, notice_id)
    require_valid(ActionForm())
    service.acknowledge(db.session, current_user, notice)
    flash(_("Receipt acknowledged."), "info")
    return redirect(url_for(".show", notice_id=notice.id))


def _back_to(finding) -> str:
    notice = service.current_notice(db.session, finding_inspection(finding))
    return url_for(".show", notice_id=notice.id) if notice else url_for(".index")


def finding_inspection(finding) -> Inspection:
    inspection = db.session.get(Inspection, finding.inspection_id)
    assert inspection is not None
    return inspection


@bp.post("/findings/<int:finding_id>/respond")
@allow(Role.OUTLET_MANAGER)
def respond(finding_id: int):
    finding = service.get_finding(db.session, current_user, finding_id)
    form = ResponseForm()
    require_valid(form)
    service.respond(
        db.session,
        photos.storage(),
        current_user,
        finding,
        kind=form.kind.data,
        note=form.note.data or "",
        photos_data=[f.read() for f in request.files.getlist("photos") if f and f.filename],
        client_uuid=form.uuid.data,
        settings=settings(),
        gate=photos.decode_gate(),
    )
    flash(_("Your answer was sent to head office."), "info")
    return redirect(_back_to(finding) + f"#f{finding.id}")


@bp.post("/responses/<int:response_id>/comment")
@allow(Role.SUB_BRANCH_MANAGER)
def comment(response_id: int):
    response = service.get_response(db.session, current_user, response_id)
    form = CommentForm()
    require_valid(form)
    service.comment(db.session, current_user, response, form.text.data or "")
    flash(_("Comment added."), "info")
    return redirect(_back_to(response.finding) + f"#f{response.finding_id}")


@bp.post("/responses/<int:response_id>/decide")
@allow(Role.ADMIN)
def decide(response_id: int):
    response = service.get_response(db.session, current_user, response_id)
    form = DecisionForm()
    require_valid(form)
    reissued = service.decide(
        db.session,
        photos.storage(),
        current_user,
        response,
        form.decision.data,
        form.reason.data or "",
        settings(),
    )
    if reissued is not None:
        flash(
            _(
                "Decision saved; notice %(number)s replaces the earlier one.",
                number=reissued.number,
            ),
            "info",
        )
        return redirect(url_for(".show", notice_id=reissued.id))
    flash(_("Decision saved."), "info")
    return redirect(_back_to(response.finding) + f"#f{response.finding_id}")


# ---- public verification ------------------------------------------------------------------


@verify_bp.get("/")
@public
def verify_form():
    return render_template("verify/index.html", form=VerifyForm(), number=None, known=None)


@verify_bp.get("/<number>")
@public
def verify_number(number: str):
    """Where a notice's QR code lands: says whether the number exists and is current; what it
    says of the notice (to whom) only a genuine file can show."""
    notice = db.session.scalar(select(Notice).where(Notice.number == number[:40]))
    known = None
    if notice is not None:
        known = {
            "number": notice.number,
            "issued_on": service.local_today(
                notice.outlet.timezone if notice.outlet else "Asia/Shanghai", notice.issued_at
            ),
            "superseded_by": getattr(service.successor(db.session, notice), "number", None),
        }
    return render_template("verify/index.html", form=VerifyForm(), number=number, known=known)


@verify_bp.post("/")
@public
def verify_upload():
    form = VerifyForm()
    require_valid(form)
    upload = request.files.get("file")
    data = upload.read(current_app.config["NOTICE_MAX_BYTES"] + 1) if upload else b""
    verdict = verification.check(db.session, current_app.config, data)
    status = 200 if verdict["status"] == "genuine" else 422
    if verdict["status"] in ("not_pdf", "empty", "too_large"):
        status = 413 if verdict["status"] == "too_large" else 400
    return render_template("verify/result.html", verdict=verdict, form=VerifyForm()), status
