"""Head office's outlet features: the list (add, rename, delete what nothing uses) and
the outlets' profiles, which decide the items answered N/A when an inspection starts."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField

from shopper.audit import service as audit
from shopper.auth.access import allow
from shopper.auth.models import Role
from shopper.extensions import db
from shopper.forms import require_valid
from shopper.org import features as service
from shopper.refusals import Refused

bp = Blueprint("org", __name__, url_prefix="/office/features")
head_office = allow(Role.ADMIN)


class FeatureForm(FlaskForm):
    code = StringField()
    name_zh = StringField()
    name_en = StringField()


class NamesForm(FlaskForm):
    name_zh = StringField()
    name_en = StringField()


class ActionForm(FlaskForm):
    """A button, or a matrix of checkboxes read with `request.form.getlist`: the CSRF token."""


def _back(anchor: str = "features"):
    return redirect(url_for(".index", _anchor=anchor))


@bp.get("")
@head_office
def index():
    locale = str(get_locale() or "zh_CN")
    counts = service.outlet_counts(db.session)
    needs = service.needed_by(db.session)
    features = [
        {
            "code": f.code,
            "name_zh": f.name_zh,
            "name_en": f.name_en,
            "name": f.name(locale),
            "outlets": counts.get(f.code, 0),
            "versions": [f"{v.code} v{v.version}" for v in needs.get(f.code, [])],
        }
        for f in service.all_features(db.session)
    ]
    groups: list[dict] = []
    for outlet in service.profiles(db.session):
        if not groups or groups[-1]["id"] != outlet.sub_branch_id:
            groups.append({"id": outlet.sub_branch_id, "name": outlet.sub_branch.name, "rows": []})
        codes = sorted(outlet.feature_codes)
        groups[-1]["rows"].append(
            {
                "id": outlet.id,
                "code": outlet.code,
                "name": outlet.name,
                "features": set(codes),
                "shown": f"{outlet.id}:{','.join(codes)}",
            }
        )
    return render_template("office/features.html", features=features, groups=groups)


@bp.post("")
@head_office
def add():
    form = FeatureForm()
    require_valid(form)
    feature = service.add(
        db.session, form.code.data or "", form.name_zh.data or "", form.name_en.data or ""
    )
    audit.record(
        db.session,
        current_user,
        "feature.added",
        "feature",
        feature.code,
        {"name_zh": feature.name_zh, "name_en": feature.name_en},
    )
    flash(_("Feature %(code)s added.", code=feature.code), "info")
    return _back()


@bp.post("/<code>/rename")
@head_office
def rename(code: str):
    feature = service.get(db.session, code)
    form = NamesForm()
    require_valid(form)
    service.rename(db.session, feature, form.name_zh.data or "", form.name_en.data or "")
    audit.record(
        db.session,
        current_user,
        "feature.renamed",
        "feature",
        feature.code,
        {"name_zh": feature.name_zh, "name_en": feature.name_en},
    )
    flash(_("Feature %(code)s renamed.", code=feature.code), "info")
    return _back()


@bp.post("/<code>/delete")
@head_office
def delete(code: str):
    feature = service.get(db.session, code)
    require_valid(ActionForm())
    service.delete(db.session, feature)
    audit.record(db.session, current_user, "feature.deleted", "feature", code)
    flash(_("Feature %(code)s deleted.", code=code), "info")
    return _back()


def _edits() -> list[service.ProfileEdit]:
    """Each outlet row the page showed (`shown` = "<outlet id>:<its codes>") and its ticks."""
    edits: list[service.ProfileEdit] = []
    seen: set[int] = set()
    for value in request.form.getlist("shown"):
        id_text, _colon, codes = value.partition(":")
        if not id_text.isdigit() or len(id_text) > 9 or int(id_text) in seen:
            raise Refused("bad_form", fields="shown")
        outlet_id = int(id_text)
        seen.add(outlet_id)
        edits.append(
            service.ProfileEdit(
                outlet_id,
                shown=frozenset(c for c in codes.split(",") if c),
                sent=frozenset(request.form.getlist(f"o{outlet_id}")),
            )
        )
    return edits


@bp.post("/profiles")
@head_office
def save_profiles():
    require_valid(ActionForm())
    written = service.save_profiles(db.session, _edits())
    for outlet in written:
        audit.record(
            db.session,
            current_user,
            "outlet.features_changed",
            "outlet",
            outlet.id,
            {"features": sorted(outlet.feature_codes)},
        )
    if written:
        flash(
            ngettext(
                "%(num)d outlet's features saved; they apply to inspections started from now on.",
                "%(num)d outlets' features saved; they apply to inspections started from now on.",
                len(written),
            ),
            "info",
        )
    else:
        flash(_("No outlet's features changed."), "info")
    return _back("profiles")
