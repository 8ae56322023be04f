"""Head office's sub-branches, outlets and agencies: lists, create, edit, delete what
nothing uses. Each route: load → (access is the blueprint's) → one service call → page."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField

from shopper.audit import service as audit
from shopper.extensions import db
from shopper.forms import require_valid
from shopper.org import service
from shopper.org.features import all_features
from shopper.org.models import Agency, Outlet, SubBranch
from shopper.org.pages import ActionForm, bp, form_again, head_office, listing
from shopper.org.service import Invalid


class SubBranchForm(FlaskForm):
    code = StringField()
    name = StringField()


class AgencyForm(FlaskForm):
    name = StringField()


class OutletForm(FlaskForm):
    code = StringField()
    name = StringField()
    sub_branch_id = StringField()
    address = StringField()
    timezone = StringField()
    language = StringField()
    latitude = StringField()
    longitude = StringField()


@bp.get("")
@head_office
def index():
    return redirect(url_for(".sub_branches"))


def _uses(table: str, row_id: int) -> str:
    return service.describe_uses(service.uses(db.session, table, row_id))


# ---- sub-branches ----


@bp.get("/sub-branches")
@head_office
def sub_branches():
    counts = service.outlet_counts(db.session)
    rows = [
        {"id": s.id, "code": s.code, "name": s.name, "outlets": counts.get(s.id, 0)}
        for s in service.sub_branches(db.session)
    ]
    page = listing(rows, ("code", "name", "outlets"), "code", ("code", "name"))
    return render_template("org/sub_branches.html", tab="sub_branches", list=page)


def _sub_branch_page(sub_branch: SubBranch | None = None, **context: Any) -> dict[str, Any]:
    uses = _uses("sub_branches", sub_branch.id) if sub_branch else ""
    return {"tab": "sub_branches", "sub_branch": sub_branch, "uses": uses, **context}


@bp.get("/sub-branches/new")
@head_office
def new_sub_branch():
    return render_template("org/sub_branch_form.html", values={}, problems={}, **_sub_branch_page())


@bp.post("/sub-branches")
@head_office
def create_sub_branch():
    form = SubBranchForm()
    require_valid(form)
    try:
        data = service.sub_branch_data(form.code.data, form.name.data)
        sub_branch, changes = service.save_sub_branch(db.session, data)
    except Invalid as refusal:
        return form_again("org/sub_branch_form.html", refusal, **_sub_branch_page())
    audit.record(
        db.session, current_user, "sub_branch.created", "sub_branch", sub_branch.id, changes
    )
    flash(_("Sub-branch %(code)s created.", code=sub_branch.code), "info")
    return redirect(url_for(".sub_branches"))


@bp.get("/sub-branches/<int:sub_branch_id>")
@head_office
def edit_sub_branch(sub_branch_id: int):
    sub_branch = service.get(db.session, SubBranch, sub_branch_id)
    values = {"code": sub_branch.code, "name": sub_branch.name}
    return render_template(
        "org/sub_branch_form.html", values=values, problems={}, **_sub_branch_page(sub_branch)
    )


@bp.post("/sub-branches/<int:sub_branch_id>")
@head_office
def save_sub_branch(sub_branch_id: int):
    sub_branch = service.get(db.session, SubBranch, sub_branch_id)
    form = SubBranchForm()
    require_valid(form)
    try:
        data = service.sub_branch_data(form.code.data, form.name.data)
        changes = service.save_sub_branch(db.session, data, sub_branch)[1]
    except Invalid as refusal:
        return form_again("org/sub_branch_form.html", refusal, **_sub_branch_page(sub_branch))
    if changes:
        audit.record(
            db.session, current_user, "sub_branch.changed", "sub_branch", sub_branch.id, changes
        )
        flash(_("Sub-branch %(code)s saved.", code=sub_branch.code), "info")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for(".sub_branches"))


@bp.post("/sub-branches/<int:sub_branch_id>/delete")
@head_office
def delete_sub_branch(sub_branch_id: int):
    sub_branch = service.get(db.session, SubBranch, sub_branch_id)
    require_valid(ActionForm())
    code = sub_branch.code
    service.delete_sub_branch(db.session, sub_branch)
    audit.record(
        db.session, current_user, "sub_branch.deleted", "sub_branch", sub_branch_id, {"code": code}
    )
    flash(_("Sub-branch %(code)s deleted.", code=code), "info")
    return redirect(url_for(".sub_branches"))


# ---- outlets ----


@bp.get("/outlets")
@head_office
def outlets():
    sub_branch = request.args.get("sub_branch") or ""
    rows = [
        {
            "id": o.id,
            "code": o.code,
            "name": o.name,
            "sub_branch": o.sub_branch.code,
            "sub_branch_name": o.sub_branch.name,
            "address": o.address,
            "timezone": o.timezone,
            "language": o.language,
            "location": f"{o.latitude}, {o.longitude}" if o.latitude is not None else "",
            "features": len(o.features),
        }
        for o in service.outlets(db.session)
        if not sub_branch or o.sub_branch.code == sub_branch
    ]
    columns = ("code", "name", "sub_branch", "address", "timezone", "language", "features")
    page = listing(
        rows, columns, "code", ("code", "name", "sub_branch", "sub_branch_name", "address")
    )
    choices = [(s.code, s.name) for s in service.sub_branches(db.session)]
    return render_template(
        "org/outlets.html", tab="outlets", list=page, sub_branches=choices, sub_branch=sub_branch
    )


def _outlet_page(outlet: Outlet | None = None, **context: Any) -> dict[str, Any]:
    locale = str(get_locale() or "zh_CN")
    return {
        "tab": "outlets",
        "outlet": outlet,
        "uses": _uses("outlets", outlet.id) if outlet else "",
        "sub_branches": [(s.id, s.code, s.name) for s in service.sub_branches(db.session)],
        "features": [(f.code, f.name(locale)) for f in all_features(db.session)],
        "timezones": sorted(service.timezones()),
        **context,
    }


def _outlet_form_values() -> dict[str, str]:
    return {k: v for k, v in request.form.items() if k not in ("csrf_token", "features")}


@bp.get("/outlets/new")
@head_office
def new_outlet():
    values = {"timezone": service.DEFAULT_TIMEZONE, "language": "zh_CN"}
    return render_template(
        "org/outlet_form.html", values=values, problems={}, chosen=set(), **_outlet_page()
    )


@bp.post("/outlets")
@head_office
def create_outlet():
    require_valid(OutletForm())
    chosen = request.form.getlist("features")
    try:
        data = service.outlet_data(db.session, _outlet_form_values(), chosen)
        assert data is not None
        outlet, changes = service.save_outlet(db.session, data)
    except Invalid as refusal:
        return form_again("org/outlet_form.html", refusal, chosen=set(chosen), **_outlet_page())
    audit.record(db.session, current_user, "outlet.created", "outlet", outlet.id, changes)
    flash(_("Outlet %(code)s created.", code=outlet.code), "info")
    return redirect(url_for(".outlets"))


@bp.get("/outlets/<int:outlet_id>")
@head_office
def edit_outlet(outlet_id: int):
    outlet = service.get(db.session, Outlet, outlet_id)
    values = {k: ("" if v is None else str(v)) for k, v in service.outlet_values(outlet).items()}
    return render_template(
        "org/outlet_form.html",
        values=values,
        problems={},
        chosen=set(outlet.feature_codes),
        **_outlet_page(outlet),
    )


@bp.post("/outlets/<int:outlet_id>")
@head_office
def save_outlet(outlet_id: int):
    outlet = service.get(db.session, Outlet, outlet_id)
    require_valid(OutletForm())
    chosen = request.form.getlist("features")
    try:
        data = service.outlet_data(db.session, _outlet_form_values(), chosen)
        assert data is not None
        changes = service.save_outlet(db.session, data, outlet)[1]
    except Invalid as refusal:
        return form_again(
            "org/outlet_form.html", refusal, chosen=set(chosen), **_outlet_page(outlet)
        )
    if changes:
        audit.record(db.session, current_user, "outlet.changed", "outlet", outlet.id, changes)
        flash(_("Outlet %(code)s saved.", code=outlet.code), "info")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for(".outlets"))


@bp.post("/outlets/<int:outlet_id>/delete")
@head_office
def delete_outlet(outlet_id: int):
    outlet = service.get(db.session, Outlet, outlet_id)
    require_valid(ActionForm())
    code = outlet.code
    service.delete_outlet(db.session, outlet)
    audit.record(db.session, current_user, "outlet.deleted", "outlet", outlet_id, {"code": code})
    flash(_("Outlet %(code)s deleted.", code=code), "info")
    return redirect(url_for(".outlets"))


# ---- agencies ----


@bp.get("/agencies")
@head_office
def agencies():
    rows = []
    for a in service.agencies(db.session):
        found = service.uses(db.session, "agencies", a.id)
        rows.append({"id": a.id, "name": a.name, "accounts": found.get("users", 0)})
    page = listing(rows, ("name", "accounts"), "name", ("name",))
    return render_template("org/agencies.html", tab="agencies", list=page)


def _agency_page(agency: Agency | None = None) -> dict[str, Any]:
    return {
        "tab": "agencies",
        "agency": agency,
        "uses": _uses("agencies", agency.id) if agency else "",
    }


@bp.get("/agencies/new")
@head_office
def new_agency():
    return render_template("org/agency_form.html", values={}, problems={}, **_agency_page())


@bp.post("/agencies")
@head_office
def create_agency():
    form = AgencyForm()
    require_valid(form)
    try:
        agency, changes = service.save_agency(db.session, service.agency_data(form.name.data))
    except Invalid as refusal:
        return form_again("org/agency_form.html", refusal, **_agency_page())
    audit.record(db.session, current_user, "agency.created", "agency", agency.id, changes)
    flash(_("Agency %(name)s created.", name=agency.name), "info")
    return redirect(url_for(".agencies"))


@bp.get("/agencies/<int:agency_id>")
@head_office
def edit_agency(agency_id: int):
    agency = service.get(db.session, Agency, agency_id)
    return render_template(
        "org/agency_form.html", values={"name": agency.name}, problems={}, **_agency_page(agency)
    )


@bp.post("/agencies/<int:agency_id>")
@head_office
def save_agency(agency_id: int):
    agency = service.get(db.session, Agency, agency_id)
    form = AgencyForm()
    require_valid(form)
    try:
        changes = service.save_agency(db.session, service.agency_data(form.name.data), agency)[1]
    except Invalid as refusal:
        return form_again("org/agency_form.html", refusal, **_agency_page(agency))
    if changes:
        audit.record(db.session, current_user, "agency.changed", "agency", agency.id, changes)
        flash(_("Agency %(name)s saved.", name=agency.name), "info")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for(".agencies"))


@bp.post("/agencies/<int:agency_id>/delete")
@head_office
def delete_agency(agency_id: int):
    agency = service.get(db.session, Agency, agency_id)
    require_valid(ActionForm())
    name = agency.name
    service.delete_agency(db.session, agency)
    audit.record(db.session, current_user, "agency.deleted", "agency", agency_id, {"name": name})
    flash(_("Agency %(name)s deleted.", name=name), "info")
    return redirect(url_for(".agencies"))
