"""Head office: every inspection, filtered by period, sub-branch, outlet and band; the check
before release (release or return to the inspector); notices on demand and per sub-branch."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from shopper.auth.access import allow
from shopper.auth.models import Role
from shopper.extensions import db
from shopper.forms import require_valid
from shopper.inspections import service as inspection_service
from shopper.inspections.listing import filter_choices, list_page
from shopper.inspections.models import Inspection, Status
from shopper.notices import service as notices
from shopper.notices.forms import ActionForm, ReasonForm, SubBranchNoticeForm
from shopper.org.models import Outlet
from shopper.periods.models import Period
from shopper.photos import service as photos
from shopper.refusals import Refused

bp = Blueprint("office", __name__, url_prefix="/office")
head_office = allow(Role.ADMIN)


def _settings() -> notices.Settings:
    return notices.Settings.from_config(current_app.config)


def _record(inspection_id: int):
    return redirect(url_for("inspections.show", inspection_id=inspection_id))


@bp.get("/inspections")
@head_office
def inspections():
    choices = filter_choices(select(Outlet))
    choices["statuses"] = [s.value for s in Status]
    return list_page("office/inspections.html", choices)


@bp.post("/inspections/<int:inspection_id>/release")
@head_office
def release(inspection_id: int):
    inspection = inspection_service.get_visible(db.session, current_user, inspection_id)
    require_valid(ActionForm())
    notice = notices.release(db.session, photos.storage(), current_user, inspection, _settings())
    if notice is not None:
        flash(
            _("Released; notice %(number)s was issued to the outlet.", number=notice.number), "info"
        )
    else:
        flash(_("Released. No item failed, so no notice is needed."), "info")
    return _record(inspection.id)


@bp.post("/inspections/<int:inspection_id>/return")
@head_office
def return_(inspection_id: int):
    inspection = inspection_service.get_visible(db.session, current_user, inspection_id)
    form = ReasonForm()
    require_valid(form)
    notices.return_to_inspector(db.session, current_user, inspection, form.reason.data or "")
    flash(_("Returned to the inspector with your reason."), "info")
    return _record(inspection.id)


@bp.post("/inspections/release")
@head_office
def release_checked():
    """Release every ticked inspection that is still waiting; the others are reported."""
    require_valid(ActionForm())
    ids = sorted({int(i) for i in request.form.getlist("ids") if i.isdigit() and len(i) < 10})
    released, skipped = 0, 0
    settings = _settings()
    for inspection in db.session.scalars(
        inspection_service.visible_to(current_user).where(Inspection.id.in_(ids))
    ):
        if inspection.status != Status.SUBMITTED:
            skipped += 1
            continue
        notices.release(db.session, photos.storage(), current_user, inspection, settings)
        released += 1
    if not ids:
        flash(_("Tick the inspections to release first."), "error")
    else:
        flash(
            ngettext("%(num)d inspection released.", "%(num)d inspections released.", released),
            "info",
        )
    if skipped:
        flash(
            ngettext(
                "%(num)d was not waiting for release and was left as it is.",
                "%(num)d were not waiting for release and were left as they are.",
                skipped,
            ),
            "error",
        )
    return redirect(url_for(".inspections", status=Status.SUBMITTED.value))


@bp.post("/inspections/<int:inspection_id>/notice")
@head_office
def issue_notice(inspection_id: int):
    """Issue the outlet's notice on demand (e.g. after a correction): a new number that
    supersedes the current one, if there is one."""
    inspection = inspection_service.get_visible(db.session, current_user, inspection_id)
    require_valid(ActionForm())
    settings = _settings()
    if inspection.released:
        today = notices.local_today(inspection.outlet.timezone)
        notices.open_findings(db.session, inspection, settings, today)
    current = notices.current_notice(db.session, inspection)
    notice = notices.issue_outlet_notice(
        db.session, photos.storage(), current_user, inspection, settings, supersedes=current
    )
    flash(_("Notice %(number)s issued.", number=notice.number), "info")
    return redirect(url_for("notices.show", notice_id=notice.id))


@bp.get("/sub-branch-notices")
@head_office
def sub_branch_notices():
    periods = db.session.scalars(select(Period).order_by(Period.starts_on.desc()))
    return render_template(
        "office/sub_branch_notices.html",
        form=SubBranchNoticeForm(),
        periods=[(p.id, p.code) for p in periods],
    )


@bp.post("/sub-branch-notices")
@head_office
def issue_sub_branch_notices():
    form = SubBranchNoticeForm()
    require_valid(form)
    wanted = form.period.data
    period = db.session.get(Period, wanted) if wanted and 0 < wanted < 2**31 else None
    if period is not None:
        span = notices.Range(period.starts_on, period.ends_on, period)
    elif form.start.data and form.end.data and form.start.data <= form.end.data:
        span = notices.Range(form.start.data, form.end.data)
    else:
        raise Refused("bad_range")
    # a period's reports are issued once; a date range may be reported on again
    made = notices.issue_sub_branch_notices(
        db.session, photos.storage(), current_user, span, _settings(), skip_issued=True
    )
    flash(
        ngettext(
            "%(num)d sub-branch notice issued.", "%(num)d sub-branch notices issued.", len(made)
        ),
        "info",
    )
    return redirect(url_for("notices.index"))
