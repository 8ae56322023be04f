"""The inspector's phone screens, and the read-only inspection page everyone shares.

Each handler: parse → load and check access → one service call → render/redirect.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from shopper.auth.access import (
    allow,
    checks_sign_in_itself,
    require_access,
    session_token,
    signed_in,
    wants_json,
)
from shopper.auth.models import INSPECTING, Role
from shopper.core.scoring import bands_from_config
from shopper.errors import refusal_message
from shopper.extensions import db
from shopper.forms import require_valid
from shopper.inspections import pages, service
from shopper.inspections import visit as visits
from shopper.inspections.forms import (
    AnswerForm,
    CheckinForm,
    FinalSubmitForm,
    PhotoForm,
    StartForm,
    SubmitForm,
    VisitForm,
)
from shopper.inspections.review import review_data
from shopper.notices import service as notices
from shopper.periods import plan
from shopper.photos import service as photos
from shopper.refusals import Refused

bp = Blueprint("inspect", __name__, url_prefix="/inspect")
shared = Blueprint("inspections", __name__, url_prefix="/inspections")
# the phone's screens: the agency's inspectors and the bank's checkers, each their own
inspector_only = allow(*INSPECTING)


@bp.get("/")
@inspector_only
def assignments():
    period = service.current_period(db.session)
    rows = []
    if period is not None:
        mine = service.assignments_for(db.session, current_user, period)
        started = service.inspections_by_assignment(db.session, mine)
        last = plan.last_scores_of(db.session, period, [a.outlet_id for a in mine])
        for assignment in mine:
            inspection = started.get(assignment.id)
            rows.append(
                {
                    "assignment_id": assignment.id,
                    "kind": assignment.kind,
                    "reinspection": assignment.reinspection,
                    "last_score": last.get(assignment.outlet_id),
                    "outlet": assignment.outlet.name,
                    "outlet_code": assignment.outlet.code,
                    "sub_branch": assignment.outlet.sub_branch.name,
                    "inspection": pages.header(inspection) if inspection else None,
                    "progress": service.progress(db.session, inspection) if inspection else None,
                }
            )
    return render_template(
        "inspect/assignments.html",
        period=period.code if period else None,
        rows=rows,
        form=StartForm(),
    )


@bp.post("/assignments/<int:assignment_id>/start")
@inspector_only
def start(assignment_id: int):
    form = StartForm()
    require_valid(form)
    mode = form.mode.data or None
    order = current_app.config["CHECKLIST_ORDER"]
    try:
        inspection = service.start(db.session, current_user, assignment_id, mode, order)
    except IntegrityError:
        # a double tap: the other request started it first; starting again finds its inspection
        db.session.rollback()
        inspection = service.start(db.session, current_user, assignment_id, mode, order)
    return redirect(url_for("inspect.fill", inspection_id=inspection.id))


@bp.get("/<int:inspection_id>")
@inspector_only
def fill(inspection_id: int):
    inspection = service.own_inspection(db.session, current_user, inspection_id)
    if inspection.submitted:
        return _record(inspection)
    lists = pages.checklists(db.session, inspection)
    answered, total = service.progress(db.session, inspection)
    return render_template(
        "inspect/fill.html",
        inspection=pages.header(inspection),
        checklists=lists,
        state=pages.fill_state(lists),
        visit=visits.visit_data(inspection),
        returned=getattr(service.returned(inspection), "return_reason", None),
        answered=answered,
        total=total,
    )


# The phone's autosave, many times a minute: CSRFProtect has checked the token before any
# view, and no label or message of this form is ever shown (a refusal names the fields), so
# the form neither checks the token again nor loads WTForms' translations each time.
AUTOSAVE_FORM = {"csrf": False, "get_translations": lambda form: None}


def _signed_in_inspector():
    require_access(frozenset(INSPECTING))
    return current_user._get_current_object()


@bp.post("/<int:inspection_id>/answers")
@inspector_only
@checks_sign_in_itself
def answer(inspection_id: int):
    form = AnswerForm(meta=AUTOSAVE_FORM)
    if not form.validate_on_submit():
        # not theirs: 404 first
        service.own_inspection(db.session, _signed_in_inspector(), inspection_id)
        require_valid(form)
    changed_at = form.changed_at.data
    done = service.autosave(
        db.session,
        session_token() or "",
        inspection_id,
        signed_in=_signed_in_inspector,
        version_id=form.version.data,
        item_code=form.item.data,
        result=form.result.data or None,
        note=form.note.data,
        client_uuid=form.uuid.data,
        changed_at=datetime.fromtimestamp(changed_at / 1000, UTC) if changed_at else None,
    )
    saved = done.saved
    if wants_json():
        return jsonify(
            applied=saved.applied,
            answered=done.answered,
            total=done.total,
            result=saved.result,
            note=saved.note,
            updated_at=saved.updated_at.isoformat() if saved.updated_at else None,
        )
    return redirect(url_for("inspect.fill", inspection_id=inspection_id, _anchor=form.item.data))


@bp.post("/<int:inspection_id>/photos")
@inspector_only
def add_photo(inspection_id: int):
    inspection = service.own_inspection(db.session, current_user, inspection_id)
    form = PhotoForm()
    require_valid(form)
    photo = photos.attach(
        db.session,
        photos.storage(),
        current_user,
        inspection,
        version_id=form.version.data,
        item_code=form.item.data,
        data=form.photo.data.read(),
        client_uuid=form.uuid.data,
        captured_at=form.captured_at.data or None,
        source=form.source.data or None,
        max_pixels=current_app.config["PHOTO_MAX_PIXELS"],
        max_pixels_by_format=current_app.config["PHOTO_MAX_PIXELS_BY_FORMAT"],
        gate=photos.decode_gate(),
    )
    if wants_json():
        return jsonify(pages.photo_json(photo)), 201
    return redirect(url_for("inspect.fill", inspection_id=inspection.id, _anchor=form.item.data))


@bp.post("/<int:inspection_id>/photos/<int:photo_id>/delete")
@inspector_only
def remove_photo(inspection_id: int, photo_id: int):
    inspection = service.own_inspection(db.session, current_user, inspection_id)
    require_valid(SubmitForm())
    photos.remove(db.session, inspection, photo_id)
    if wants_json():
        return jsonify(removed=photo_id)
    return redirect(url_for("inspect.fill", inspection_id=inspection.id))


@bp.get("/<int:inspection_id>/review")
@inspector_only
def review(inspection_id: int):
    inspection = service.own_inspection(db.session, current_user, inspection_id)
    if inspection.submitted:
        return _record(inspection)
    return _review_page(inspection, 200)


def _record(inspection):
    """A submitted inspection is read-only: its editing pages lead to the record."""
    return redirect(url_for("inspections.show", inspection_id=inspection.id))


def _review_page(inspection, status: int, form: FinalSubmitForm | None = None):
    bands = bands_from_config(
        current_app.config["SCORE_BANDS"], current_app.config["RED_LINE_BAND"]
    )
    answered, total = service.progress(db.session, inspection)
    return (
        render_template(
            "inspect/review.html",
            inspection=pages.header(inspection),
            checklists=pages.checklists(db.session, inspection),
            preview=review_data(db.session, inspection, bands),
            answered=answered,
            total=total,
            form=form or FinalSubmitForm(),
        ),
        status,
    )


# refusals after which the inspector sees the review page again, with the sentence
_REVIEW_AGAIN = {"incomplete", "attestation_required", "confirm_required"}


@bp.post("/<int:inspection_id>/submit")
@inspector_only
def submit(inspection_id: int):
    inspection = service.own_inspection(db.session, current_user, inspection_id)
    form = FinalSubmitForm()
    require_valid(form)
    bands = bands_from_config(
        current_app.config["SCORE_BANDS"], current_app.config["RED_LINE_BAND"]
    )
    try:
        if form.confirm.data != "yes":  # the confirm step, which works without JavaScript
            raise Refused("confirm_required", 400)
        card = service.submit(
            db.session,
            current_user,
            inspection,
            bands,
            attested=bool(form.attest.data),
            client_uuid=form.uuid.data or None,
        )
    except Refused as refusal:
        if refusal.code == "already_submitted" and not wants_json():
            # a second tab or a double click: the browser is shown what was submitted
            flash(refusal_message(refusal), "info")
            return _record(inspection)
        if refusal.code not in _REVIEW_AGAIN or wants_json():
            raise
        flash(refusal_message(refusal), "error")
        return _review_page(inspection, refusal.status, form)
    if card is not None and current_app.config["AUTO_RELEASE"]:
        # the bank skips head office's check: released (and its notice issued) at once
        notices.release(
            db.session,
            photos.storage(),
            None,
            inspection,
            notices.Settings.from_config(current_app.config),
        )
    if wants_json():
        return jsonify(
            submitted=True,
            record_url=url_for("inspections.show", inspection_id=inspection.id),
            submitted_at=inspection.submitted_at.isoformat() if inspection.submitted_at else None,
        )
    if card is not None:  # not for a replay of a submit already applied
        flash(_("Inspection submitted."), "info")
    return _record(inspection)


@bp.post("/<int:inspection_id>/visit")
@inspector_only
def visit(inspection_id: int):
    inspection = service.own_inspection(db.session, current_user, inspection_id)
    form = VisitForm()
    require_valid(form)
    # a field the request carries is set ("" clears it); one it does not carry is kept
    fields = {name: request.form[name] for name in visits.FIELDS if name in request.form}
    applied = visits.save_visit(db.session, current_user, inspection, fields, form.uuid.data)
    if wants_json():
        return jsonify(applied=applied, visit=visits.visit_data(inspection))
    flash(_("Visit record saved."), "info")
    return redirect(url_for("inspect.fill", inspection_id=inspection.id, _anchor="visit"))


@bp.post("/<int:inspection_id>/checkin")
@inspector_only
def checkin(inspection_id: int):
    inspection = service.own_inspection(db.session, current_user, inspection_id)
    form = CheckinForm()
    require_valid(form)
    band = visits.check_in(
        db.session,
        current_user,
        inspection,
        latitude=form.latitude.data or "",
        longitude=form.longitude.data or "",
        accuracy=form.accuracy.data or "",
        client_uuid=form.uuid.data,
        near_metres=float(current_app.config["CHECKIN_NEAR_METRES"]),
    )
    if wants_json():
        return jsonify(band=band)
    return redirect(url_for("inspect.fill", inspection_id=inspection.id, _anchor="visit"))


def release_data(inspection) -> dict:
    """The check before release, the notice, and the history of the score."""
    zone = inspection.outlet.timezone
    notice = notices.current_notice(db.session, inspection)
    return {
        "released_at": pages.local(inspection.released_at, zone),
        "notice": {"id": notice.id, "number": notice.number} if notice else None,
        "failed": any(
            a.result == "fail" for a in service.answer_map(db.session, inspection).values()
        ),
        "history": [
            {
                "n": s.n,
                "submitted_at": pages.local(s.submitted_at, zone),
                "score": s.score,
                "band": s.band,
                "returned_at": pages.local(s.returned_at, zone),
                "returned_by": s.returned_by.display_name if s.returned_by else "",
                "reason": s.return_reason,
            }
            for s in inspection.submissions
        ],
        "revisions": [
            {
                "at": pages.local(r.at, zone),
                "before": r.score_before,
                "after": r.score_after,
                "band_after": r.band_after,
                "by": r.decided_by.display_name,
                "reason": r.reason,
            }
            for r in notices.revisions_of(db.session, inspection.id)
        ],
    }


@shared.get("/<int:inspection_id>")
@signed_in
def show(inspection_id: int):
    inspection = service.get_visible(db.session, current_user, inspection_id)
    lists = pages.checklists(db.session, inspection)
    answered, total = service.progress(db.session, inspection)
    head_office = current_user.role == Role.ADMIN
    flags = visits.photo_flags(db.session, inspection) if head_office else {}
    visits.mark_photos(lists, flags)  # the proof of the visit is for head office's eyes
    return render_template(
        "inspections/show.html",
        inspection=pages.header(inspection),
        release=release_data(inspection),
        checklists=lists,
        answered=answered,
        total=total,
        visit=visits.visit_data(inspection),
        head_office=head_office,
        flagged_photos=len(flags),
        near_metres=current_app.config["CHECKIN_NEAR_METRES"],
    )
