"""Head office's results: a period's rankings, weak indicators (and the next checklist
version's reweighting) and charts. Views parse, load and render; the figures come from
shopper.results.service, the charts from shopper.results.charts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select

from shopper import errors
from shopper.auth.access import allow
from shopper.auth.models import Role
from shopper.extensions import db
from shopper.forms import require_valid
from shopper.i18n import BAND_LABELS, band_label
from shopper.org.models import Outlet, SubBranch
from shopper.periods.models import Period
from shopper.refusals import Refused
from shopper.results import charts, service

bp = Blueprint("results", __name__, url_prefix="/office/results")
head_office = allow(Role.ADMIN)

errors.REFUSALS.setdefault(
    "reweight_nothing_chosen", _l("Tick at least one item whose points should be raised.")
)
errors.REFUSALS.setdefault(
    "reweight_bad_amount",
    _l(
        "Raise the points by a number above 0 and at most %(limit)s, "
        "with at most one decimal place."
    ),
)
errors.REFUSALS.setdefault("reweight_bad_item", _l("An item ticked is not a checklist item."))

PER_PAGE = 200  # outlets per page of the ranking

KIND_CHOICES = {
    "mystery": ("mystery",),
    "video": ("video",),
    "all": ("mystery", "video"),
}


class ActionForm(FlaskForm):
    """A button with nothing but the CSRF token (the ticked items are read by the view)."""


def _settings() -> service.Settings:
    return service.Settings.from_config(current_app.config)


def _period(period_id: int) -> Period:
    period = db.session.get(Period, period_id)
    if period is None:
        raise Refused("not_found", 404)
    return period


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    if raw.isdigit() and len(raw) < 10:
        return int(raw)
    return None


def _svg(markup: str) -> Markup:
    # built by shopper.results.charts, which escapes every text it puts in
    return Markup(markup)  # noqa: S704


@bp.app_template_filter("change")
def change_filter(value: Decimal | None) -> Markup:
    """A change against last period: +1.5 (up), -2.0 (down), 0.0, or a muted dash. A filter,
    not a macro: the rankings page shows hundreds, and a macro call costs ten times more."""
    if value is None:
        return Markup('<span class="muted">—</span>')
    if value > 0:
        return Markup('<span class="up">+%.1f</span>') % value
    if value < 0:
        return Markup('<span class="down">%.1f</span>') % value
    return Markup("0.0")


def _labels() -> dict[str, str]:
    return {code: str(label) for code, label in BAND_LABELS.items()}


def _sub_branches() -> list[tuple[int, str, str]]:
    return [
        (s.id, s.code, s.name)
        for s in db.session.execute(
            select(SubBranch.id, SubBranch.code, SubBranch.name).order_by(SubBranch.code)
        )
    ]


@bp.get("/")
@head_office
def index():
    periods = service.periods_with_results(db.session)
    counts = service.ranked_counts(db.session)
    return render_template(
        "results/index.html",
        periods=[(p, counts.get(p.id, 0)) for p in periods],
    )


@bp.get("/<int:period_id>/")
@head_office
def rankings(period_id: int):
    period = _period(period_id)
    settings = _settings()
    sort = request.args.get("sort", "rank")
    if sort not in service.SORTS:
        sort = "rank"
    descending = request.args.get("desc") == "1"
    band = request.args.get("band") or None
    if band not in {b.code for b in settings.bands}:
        band = None
    sub_branch_id = _int_arg("sub_branch")
    query = request.args.get("q", "").strip()[:40]
    page = _int_arg("page") or 1
    ranked = service.rankings_page(
        db.session,
        period,
        settings,
        page=page,
        per_page=PER_PAGE,
        sort=sort,
        descending=descending,
        sub_branch_id=sub_branch_id,
        band=band,
        query=query,
    )
    pages = max(1, -(-ranked.outlet_total // PER_PAGE))
    if page > pages:
        raise Refused("not_found", 404)
    return render_template(
        "results/rankings.html",
        period=period,
        ranked=ranked,
        view={
            "sort": sort,
            "desc": descending,
            "band": band,
            "sub_branch": sub_branch_id,
            "q": query,
            "page": page,
            "pages": pages,
            "per_page": PER_PAGE,
            # what a link to another page of the same view keeps
            "args": {
                k: v
                for k, v in {
                    "sort": sort if sort != "rank" else None,
                    "desc": "1" if descending else None,
                    "band": band,
                    "sub_branch": sub_branch_id,
                    "q": query or None,
                }.items()
                if v is not None
            },
        },
        bands=[(b.code, band_label(b.code)) for b in settings.bands],
        sub_branches=_sub_branches(),
        labels=_labels(),
        # each failing band with the score it is below (the next band up's minimum)
        failing=[
            (b.code, band_label(b.code), settings.bands[n - 1].minimum)
            for n, b in enumerate(settings.bands)
            if not b.passing and n > 0
        ],
        red_band=next(b.code for b in settings.bands if b.red_line),
        has_exports="exports.download" in current_app.view_functions,
        top_band=settings.bands[0],
        periods=service.periods_with_results(db.session),
    )


@bp.get("/<int:period_id>/weak")
@head_office
def weak(period_id: int):
    period = _period(period_id)
    kind = request.args.get("kind", "mystery")
    if kind not in KIND_CHOICES:
        kind = "mystery"
    subs = _sub_branches()
    sub_branch_id = _int_arg("sub_branch")
    if sub_branch_id is not None and sub_branch_id not in {s[0] for s in subs}:
        raise Refused("not_found", 404)
    rows = service.weak_indicators(
        db.session,
        period,
        sub_branch_id=sub_branch_id,
        kinds=KIND_CHOICES[kind],
        locale=_locale(),
    )
    before = service.previous_period(db.session, period)
    chart = charts.weak_chart(
        rows,
        title=_("Weak indicators, %(period)s", period=period.code),
        desc=charts.weak_text(rows),
    )
    return render_template(
        "results/weak.html",
        period=period,
        rows=rows,
        kind=kind,
        sub_branches=subs,
        sub_branch_id=sub_branch_id,
        previous=before,
        chart=_svg(chart),
        form=ActionForm(),
        periods=service.periods_with_results(db.session),
    )


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "zh_CN")


@bp.post("/<int:period_id>/weak/draft")
@head_office
def reweight(period_id: int):
    """Start the next checklist version's draft with the ticked items' points raised."""
    period = _period(period_id)
    require_valid(ActionForm())
    chosen = []
    for value in request.form.getlist("item"):
        checklist, sep, item = value.partition(":")
        if not sep or not checklist or not item or len(value) > 90:
            raise Refused("reweight_bad_item")
        chosen.append((checklist, item))
    try:
        amount = Decimal(request.form.get("amount", "").strip() or "0")
    except InvalidOperation as exc:
        raise Refused("reweight_bad_amount", 400, limit=int(service.MAX_RAISE)) from exc
    done = service.reweight(db.session, current_user, chosen, amount)
    if done.raised:
        flash(
            ngettext(
                "%(num)d item's points raised by %(amount)s in the draft.",
                "%(num)d items' points raised by %(amount)s in the drafts.",
                len(done.raised),
                amount=amount,
            ),
            "info",
        )
    if done.missing:
        flash(
            _(
                "Not in the latest version any more, so left out: %(items)s.",
                items=", ".join(item for _c, item in done.missing),
            ),
            "error",
        )
    touched = [d for d in done.drafts if any(c == d.code for c, _i in done.raised)]
    if len(touched) == 1:
        return redirect(url_for("checklists.edit", draft_id=touched[0].id))
    if touched:
        return redirect(url_for("checklists.index"))
    return redirect(url_for(".weak", period_id=period.id))


@bp.get("/<int:period_id>/charts")
@head_office
def charts_page(period_id: int):
    period = _period(period_id)
    settings = _settings()
    s = db.session
    bins = service.distribution(s, period, settings)
    counted = sum(c for _l, _h, c in bins)
    across = service.distributions(s, settings)
    subs = _sub_branches()
    ranked = service.rankings_page(s, period, settings, per_page=1, sort="rank", descending=True)
    sub_branch_id = _int_arg("sub_branch")
    if sub_branch_id is None:
        sub_branch_id = (
            ranked.bottom[-1].sub_branch_id if ranked.bottom else (subs[0][0] if subs else None)
        )
    if sub_branch_id is not None and sub_branch_id not in {x[0] for x in subs}:
        raise Refused("not_found", 404)
    code = request.args.get("outlet", "").strip()[:40]
    outlet = None
    if code:
        outlet = s.scalar(select(Outlet).where(Outlet.code == code))
        if outlet is None:
            flash(_("No outlet has the code %(code)s.", code=code), "error")
    if outlet is None and ranked.outlets:
        outlet = s.get(Outlet, ranked.outlets[-1].outlet_id)
    outlet_points = service.outlet_trend(s, outlet.id, settings) if outlet else []
    sub_points = service.sub_branch_trend(s, sub_branch_id, settings) if sub_branch_id else []
    sub_name = next((f"{c} {n}" for i, c, n in subs if i == sub_branch_id), "")
    weak_rows = service.weak_indicators(s, period, locale=_locale())
    return render_template(
        "results/charts.html",
        period=period,
        periods=service.periods_with_results(s),
        bins=bins,
        counted=counted,
        across=across,
        distribution=_svg(
            charts.distribution_chart(
                bins,
                settings.bands,
                title=_("Score distribution, %(period)s", period=period.code),
                desc=charts.distribution_text(bins, counted),
            )
        ),
        outlet=outlet,
        outlet_points=outlet_points,
        outlet_chart=_svg(
            charts.trend_chart(
                outlet_points,
                settings.bands,
                title=_("Trend of outlet %(outlet)s", outlet=outlet.code if outlet else ""),
                desc=trend_text(outlet_points),
            )
        )
        if outlet
        else None,
        sub_branches=subs,
        sub_branch_id=sub_branch_id,
        sub_name=sub_name,
        sub_points=sub_points,
        sub_chart=_svg(
            charts.trend_chart(
                sub_points,
                settings.bands,
                title=_("Trend of sub-branch %(name)s", name=sub_name),
                desc=trend_text(sub_points),
            )
        )
        if sub_branch_id
        else None,
        weak_rows=weak_rows[:12],
        weak_chart=_svg(
            charts.weak_chart(
                weak_rows,
                title=_("Weak indicators, %(period)s", period=period.code),
                desc=charts.weak_text(weak_rows),
            )
        ),
        labels=_labels(),
    )


def trend_text(points) -> str:
    parts = [f"{p.period_code}: {'—' if p.score is None else p.score}" for p in points]
    return "; ".join(parts)


@bp.cli.command("rebuild")
def rebuild_command() -> None:
    """Recompute every period's stored results (after the bands or the video weight changed;
    frozen rankings stay as they were)."""
    import click

    stored = service.rebuild(db.session, settings=_settings())
    db.session.commit()
    click.echo(f"{stored} outlet results stored.")
