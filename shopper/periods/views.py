"""Head office's periods: their dates, which one is current, and the checklist versions
each uses (chosen when it is made, changeable until its first inspection starts)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField

from shopper.audit import service as audit
from shopper.auth.access import allow
from shopper.auth.models import Role
from shopper.checklists.models import ChecklistVersion
from shopper.extensions import db
from shopper.forms import require_valid
from shopper.i18n import localized
from shopper.inspections.pages import local
from shopper.periods import service
from shopper.refusals import Refused

bp = Blueprint("periods", __name__, url_prefix="/office/periods")
head_office = allow(Role.ADMIN)


class PeriodForm(FlaskForm):
    # dates are read by `_day` so a bad one gets its own sentence
    code = StringField()
    starts_on = StringField()
    ends_on = StringField()


class ActionForm(FlaskForm):
    """A button with nothing but the CSRF token."""


def _order() -> list[str]:
    return current_app.config["CHECKLIST_ORDER"]


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Refused("period_bad_date") from None


def _chosen() -> dict[str, int | None]:
    """The version picked in each checklist's select (`version-<code>`), by checklist code."""
    chosen: dict[str, int | None] = {}
    for offer in service.offers(db.session, _order()):
        value = request.form.get(f"version-{offer.code}", "")
        chosen[offer.code] = int(value) if value.isdigit() and len(value) < 10 else None
    return chosen


def _version(v: ChecklistVersion) -> dict:
    published = local(v.published_at, current_app.config["TIMEZONE"])
    return {
        "id": v.id,
        "code": v.code,
        "number": v.version,
        "title": localized(v.checklist().title),
        "published_on": published.date().isoformat() if published else "",
    }


def _offers(period=None) -> list[dict]:
    return [
        {
            "code": offer.code,
            "title": localized(offer.versions[0].checklist().title),
            "default_id": offer.default_id,
            "versions": [_version(v) for v in offer.versions],
        }
        for offer in service.offers(db.session, _order(), period)
    ]


@bp.get("")
@head_office
def index():
    rows = [
        {
            "id": o.period.id,
            "code": o.period.code,
            "starts_on": o.period.starts_on.isoformat(),
            "ends_on": o.period.ends_on.isoformat(),
            "is_current": o.period.is_current,
            "versions": [_version(v) for v in o.versions],
            "own_choice": o.own_choice,
            "started": o.started,
            "offers": None if o.locked else _offers(o.period),
        }
        for o in service.overview(db.session, _order())
    ]
    return render_template("office/periods.html", rows=rows, offers=_offers())


def _versions(period) -> dict:
    return {"code": period.code, "versions": [pc.checklist_version_id for pc in period.checklists]}


@bp.post("")
@head_office
def create():
    form = PeriodForm()
    require_valid(form)
    period = service.create(
        db.session,
        form.code.data or "",
        _day(form.starts_on.data),
        _day(form.ends_on.data),
        _chosen(),
        _order(),
    )
    audit.record(db.session, current_user, "period.created", "period", period.id, _versions(period))
    flash(_("Period %(code)s created.", code=period.code), "info")
    return redirect(url_for(".index"))


@bp.post("/<int:period_id>/versions")
@head_office
def change_versions(period_id: int):
    period = service.get(db.session, period_id)
    require_valid(ActionForm())
    if service.change_versions(db.session, period, _chosen(), _order()):
        audit.record(
            db.session,
            current_user,
            "period.versions_changed",
            "period",
            period.id,
            _versions(period),
        )
        flash(_("Period %(code)s now uses the versions chosen.", code=period.code), "info")
    else:
        flash(_("Period %(code)s already used those versions.", code=period.code), "info")
    return redirect(url_for(".index"))


@bp.post("/<int:period_id>/current")
@head_office
def make_current(period_id: int):
    period = service.get(db.session, period_id)
    require_valid(ActionForm())
    service.make_current(db.session, period)
    audit.record(
        db.session, current_user, "period.opened", "period", period.id, {"code": period.code}
    )
    flash(
        _(
            "%(code)s is now the current period: inspectors start their inspections in it.",
            code=period.code,
        ),
        "info",
    )
    return redirect(url_for(".index"))
