"""Head office's periods: their dates, state (planned → open → closed), thresholds, the
checklist versions each uses (chosen when it is made, changeable until its first inspection
starts), and each period's plan: who inspects which outlet, judged by the planning rules."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from shopper.audit import service as audit
from shopper.auth.access import allow
from shopper.auth.models import Role
from shopper.checklists.models import ChecklistVersion
from shopper.extensions import db
from shopper.forms import require_valid
from shopper.i18n import localized
from shopper.inspections.pages import local
from shopper.org.models import Outlet
from shopper.periods import board, plan, service
from shopper.periods.models import Period
from shopper.refusals import Refused

bp = Blueprint("periods", __name__, url_prefix="/office/periods")
head_office = allow(Role.ADMIN)


class PeriodForm(FlaskForm):
    # dates are read by `_day` so a bad one gets its own sentence
    code = StringField()
    starts_on = StringField()
    ends_on = StringField()
    # thresholds where this period differs from the configured defaults (empty: the default)
    coverage_percent = StringField()
    video_checks = StringField()
    reinspection_below = StringField()


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
            "state": o.period.state,
            "opened_at": _when(o.period.opened_at),
            "closed_at": _when(o.period.closed_at),
            "override_reason": o.period.override_reason,
            "thresholds": _own_thresholds(o.period),
            "versions": [_version(v) for v in o.versions],
            "own_choice": o.own_choice,
            "started": o.started,
            "offers": None if o.locked else _offers(o.period),
        }
        for o in service.overview(db.session, _order())
    ]
    configured = plan.thresholds(Period(), current_app.config)  # no thresholds of its own
    defaults = {
        "coverage_percent": board.percent(configured.coverage_share),
        "video_checks": configured.video_checks_per_outlet,
        "reinspection_below": configured.reinspection_below,
    }
    open_code = next((r["code"] for r in rows if r["state"] == "open"), None)
    return render_template(
        "office/periods.html",
        rows=rows,
        offers=_offers(),
        defaults=defaults,
        open_code=open_code,
        form=OpenForm(),
    )


def _when(moment) -> str:
    shown = local(moment, current_app.config["TIMEZONE"])
    return shown.strftime("%Y-%m-%d %H:%M") if shown else ""


def _own_thresholds(period) -> list[str]:
    """The thresholds where the period differs from the defaults, as short texts."""
    own = []
    if period.coverage_share is not None:
        own.append(_("coverage %(percent)s%%", percent=board.percent(period.coverage_share)))
    if period.video_checks_per_outlet is not None:
        own.append(_("%(count)s video checks", count=period.video_checks_per_outlet))
    if period.reinspection_below is not None:
        own.append(_("re-inspect under %(score)s", score=period.reinspection_below))
    return own


def _thresholds(period) -> dict:
    return {
        "coverage_share": period.coverage_share,
        "video_checks_per_outlet": period.video_checks_per_outlet,
        "reinspection_below": period.reinspection_below,
    }


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
        service.parse_thresholds(
            form.coverage_percent.data or "",
            form.video_checks.data or "",
            form.reinspection_below.data or "",
        ),
    )
    audit.record(
        db.session,
        current_user,
        "period.created",
        "period",
        period.id,
        _versions(period) | _thresholds(period),
    )
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


# ---- open and close (issue 15) ----


class OpenForm(FlaskForm):
    reason = TextAreaField(validators=[Optional(), Length(max=plan.MAX_REASON)])


class CloseForm(FlaskForm):
    confirm = BooleanField()


def _rule_names(results) -> list[str]:
    return [r.rule.value for r in results if not r.met]


@bp.post("/<int:period_id>/open")
@head_office
def open_period(period_id: int):
    period = service.get(db.session, period_id)
    form = OpenForm()
    require_valid(form)
    results = plan.open_period(
        db.session, current_user, period, form.reason.data or "", current_app.config
    )
    audit.record(
        db.session,
        current_user,
        "period.opened",
        "period",
        period.id,
        {
            "code": period.code,
            "broken": _rule_names(results),
            "override_reason": period.override_reason,
        },
    )
    flash(
        _(
            "%(code)s is open: inspectors and bank checkers see its assignments on their phones.",
            code=period.code,
        ),
        "info",
    )
    return redirect(url_for(".index"))


def _pending_rows(inspections) -> list[dict]:
    return [
        {
            "id": i.id,
            "outlet": i.outlet.code,
            "inspector": i.inspector.display_name,
            "status": i.status,
        }
        for i in inspections
    ]


@bp.get("/<int:period_id>/close")
@head_office
def close_form(period_id: int):
    period = service.get(db.session, period_id)
    left = plan.pending(db.session, period)
    return render_template(
        "periods/close.html",
        period={"id": period.id, "code": period.code, "state": period.state},
        drafts=_pending_rows(left.drafts),
        waiting=_pending_rows(left.waiting),
    )


@bp.post("/<int:period_id>/close")
@head_office
def close_period(period_id: int):
    period = service.get(db.session, period_id)
    form = CloseForm()
    require_valid(form)
    left = plan.close_period(
        db.session, current_user, period, confirmed=form.confirm.data, config=current_app.config
    )
    audit.record(
        db.session,
        current_user,
        "period.closed",
        "period",
        period.id,
        {"code": period.code, "drafts": len(left.drafts), "waiting": len(left.waiting)},
    )
    flash(_("%(code)s is closed: its results are frozen.", code=period.code), "info")
    return redirect(url_for(".index"))


# ---- the plan (issue 15) ----


class ProposeForm(FlaskForm):
    confirm = BooleanField()
    seed = IntegerField(validators=[Optional(), NumberRange(min=0, max=1_000_000)])


class AddForm(FlaskForm):
    outlet = StringField(validators=[DataRequired(), Length(max=40)])
    inspector = IntegerField(validators=[DataRequired()])
    kind = StringField(validators=[DataRequired(), Length(max=10)])
    reinspection = BooleanField()


@bp.get("/<int:period_id>/plan")
@head_office
def plan_screen(period_id: int):
    period = service.get(db.session, period_id)
    sort = request.args.get("sort", "outlet")
    page = request.args.get("page", "1")
    data = board.build(
        db.session,
        period,
        current_app.config,
        sort=sort,
        descending=request.args.get("desc") == "1",
        page=int(page) if page.isdigit() and len(page) < 7 else 1,
    )
    return render_template("periods/plan.html", board=data, seed=request.args.get("seed", "0"))


@bp.post("/<int:period_id>/plan/propose")
@head_office
def propose(period_id: int):
    period = service.get(db.session, period_id)
    form = ProposeForm()
    require_valid(form)
    if not form.confirm.data:
        raise Refused("plan_confirm_required")
    seed = form.seed.data or 0
    proposal = plan.propose_for(db.session, period, seed=seed, config=current_app.config)
    audit.record(
        db.session,
        current_user,
        "period.plan_proposed",
        "period",
        period.id,
        {
            "code": period.code,
            "seed": seed,
            "kept": proposal.kept,
            "removed": proposal.removed,
            "added": proposal.added,
            "broken": proposal.broken,
        },
    )
    if proposal.broken:
        flash(
            _(
                "Plan proposed: %(added)s assignments (%(kept)s started ones kept). Some rules "
                "are still broken: see below.",
                added=proposal.added,
                kept=proposal.kept,
            ),
            "error",
        )
    else:
        flash(
            _(
                "Plan proposed: %(added)s assignments (%(kept)s started ones kept). Every rule "
                "is met.",
                added=proposal.added,
                kept=proposal.kept,
            ),
            "info",
        )
    return redirect(url_for(".plan_screen", period_id=period.id, seed=seed))


@bp.post("/<int:period_id>/plan/assignments")
@head_office
def add_assignment(period_id: int):
    period = service.get(db.session, period_id)
    form = AddForm()
    require_valid(form)
    code = (form.outlet.data or "").strip()
    outlet_id = db.session.scalar(select(Outlet.id).where(Outlet.code == code))
    assignment = plan.add(
        db.session,
        period,
        outlet_id,
        form.inspector.data,
        form.kind.data or "",
        bool(form.reinspection.data),
    )
    audit.record(
        db.session,
        current_user,
        "assignment.added",
        "period",
        period.id,
        {
            "assignment": assignment.id,
            "outlet": code,
            "inspector": assignment.inspector_id,
            "kind": assignment.kind,
            "reinspection": assignment.reinspection,
        },
    )
    flash(_("Assignment added: %(outlet)s.", outlet=code), "info")
    return redirect(url_for(".plan_screen", period_id=period.id))


@bp.post("/<int:period_id>/plan/assignments/<int:assignment_id>/delete")
@head_office
def remove_assignment(period_id: int, assignment_id: int):
    period = service.get(db.session, period_id)
    require_valid(ActionForm())
    assignment = plan.remove(db.session, period, assignment_id)
    audit.record(
        db.session,
        current_user,
        "assignment.removed",
        "period",
        period.id,
        {
            "assignment": assignment_id,
            "outlet": assignment.outlet_id,
            "inspector": assignment.inspector_id,
            "kind": assignment.kind,
        },
    )
    flash(_("Assignment removed."), "info")
    return redirect(url_for(".plan_screen", period_id=period.id))
