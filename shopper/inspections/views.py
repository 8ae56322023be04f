"""The inspector's phone screens, and the read-only inspection page everyone shares.

Each handler: parse → load and check access → one service call → render/redirect.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from shopper.auth.access import allow, signed_in, wants_json
from shopper.auth.models import Role
from shopper.checklists.service import latest_versions
from shopper.core.scoring import bands_from_config
from shopper.extensions import db
from shopper.inspections import pages, service
from shopper.inspections.forms import AnswerForm, PhotoForm, StartForm, SubmitForm
from shopper.photos import service as photos
from shopper.refusals import Refused

bp = Blueprint("inspect", __name__, url_prefix="/inspect")
shared = Blueprint("inspections", __name__, url_prefix="/inspections")
inspector_only = allow(Role.INSPECTOR)


def _valid(form) -> None:
    if not form.validate_on_submit():
        raise Refused("bad_form", 400, fields=", ".join(sorted(form.errors)))


@bp.get("/")
@inspector_only
def assignments():
    period = service.current_period(db.session)
    rows = []
    if period is not None:
        mine = service.assignments_for(db.session, current_user, period)
        started = service.inspections_by_assignment(db.session, mine)
        for assignment in mine:
            inspection = started.get(assignment.id)
            rows.append(
                {
                    "assignment_id": assignment.id,
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
    _valid(form)
    versions = latest_versions(db.session, current_app.config["CHECKLIST_ORDER"])
    inspection = service.start(db.session, current_user, assignment_id, form.mode.data, versions)
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
        answered=answered,
        total=total,
        form=AnswerForm(),
    )


@bp.post("/<int:inspection_id>/answers")
@inspector_only
def answer(inspection_id: int):
    inspection = service.own_inspection(db.session, current_user, inspection_id)
    form = AnswerForm()
    _valid(form)
    changed_at = form.changed_at.data
    saved = service.save_answer(
        db.session,
        current_user,
        inspection,
        version_id=form.version.data,
        item_code=form.item.data,
        result=form.result.data or None,
        note=form.note.data,
        client_uuid=form.uuid.data,
        changed_at=datetime.fromtimestamp(changed_at / 1000, UTC) if changed_at else None,
    )
    answered, total = service.progress(db.session, inspection)
    if wants_json():
        return jsonify(
            applied=saved.applied,
            answered=answered,
            total=total,
            result=saved.result,
            note=saved.note,
            updated_at=saved.updated_at.isoformat() if saved.updated_at else None,
        )
    return redirect(url_for("inspect.fill", inspection_id=inspection.id, _anchor=form.item.data))


@bp.post("/<int:inspection_id>/photos")
@inspector_only
def add_photo(inspection_id: int):
    inspection = service.own_inspection(db.session, current_user, inspection_id)
    form = PhotoForm()
    _valid(form)
    photo = photos.attach(
        db.session,
        photos.storage(),
        current_user,
        inspection,
        version_id=form.version.data,
        item_code=form.item.data,
        data=form.photo.data.read(),
        client_uuid=form.uuid.data,
        max_pixels=current_app.config["PHOTO_MAX_PIXELS"],
    )
    if wants_json():
        return jsonify(pages.photo_json(photo)), 201
    return redirect(url_for("inspect.fill", inspection_id=inspection.id, _anchor=form.item.data))


@bp.post("/<int:inspection_id>/photos/<int:photo_id>/delete")
@inspector_only
def remove_photo(inspection_id: int, photo_id: int):
    inspection = service.own_inspection(db.session, current_user, inspection_id)
    _valid(SubmitForm())
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


def _review_page(inspection, status: int):
    lists = pages.checklists(db.session, inspection)
    answered, total = service.progress(db.session, inspection)
    gaps: dict[tuple[str, str], list[str]] = {}
    for gap in service.gaps(db.session, inspection):
        gaps.setdefault((gap.checklist, gap.item), []).append(gap.reason)
    return (
        render_template(
            "inspect/review.html",
            inspection=pages.header(inspection),
            checklists=lists,
            gaps=gaps,
            answered=answered,
            total=total,
            form=SubmitForm(),
        ),
        status,
    )


@bp.post("/<int:inspection_id>/submit")
@inspector_only
def submit(inspection_id: int):
    inspection = service.own_inspection(db.session, current_user, inspection_id)
    _valid(SubmitForm())
    bands = bands_from_config(current_app.config["SCORE_BANDS"])
    try:
        service.submit(db.session, current_user, inspection, bands)
    except Refused as refusal:
        if refusal.code != "incomplete" or wants_json():
            raise
        flash(_("The inspection cannot be submitted yet: some items need attention."), "error")
        return _review_page(inspection, 409)
    flash(_("Inspection submitted."), "info")
    return _record(inspection)


@shared.get("/<int:inspection_id>")
@signed_in
def show(inspection_id: int):
    inspection = service.get_visible(db.session, current_user, inspection_id)
    lists = pages.checklists(db.session, inspection)
    answered, total = service.progress(db.session, inspection)
    return render_template(
        "inspections/show.html",
        inspection=pages.header(inspection),
        checklists=lists,
        answered=answered,
        total=total,
    )
