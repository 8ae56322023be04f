"""Head office's API tokens: the list, a new token (shown once, on the page that made it),
and revoking one."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from shopper.api import tokens
from shopper.api.forms import RevokeForm, TokenForm
from shopper.auth.access import allow
from shopper.auth.models import Role
from shopper.db import utcnow
from shopper.extensions import db
from shopper.forms import require_valid
from shopper.org.models import Outlet, SubBranch
from shopper.refusals import Refused

bp = Blueprint("api_tokens", __name__, url_prefix="/office/api-tokens")
head_office = allow(Role.ADMIN)


def _scope_choices() -> list[SelectChoice]:
    everything = _("Everything (head office)")
    choices = [SelectChoice(tokens.Scope.HEAD_OFFICE.value, everything)]
    group = _("One sub-branch and its outlets")
    for sb in db.session.scalars(select(SubBranch).order_by(SubBranch.code)):
        value = f"{tokens.Scope.SUB_BRANCH.value}:{sb.id}"
        choices.append(SelectChoice(value, f"{sb.code} {sb.name}", optgroup=group))
    group = _("One outlet")
    for o in db.session.scalars(select(Outlet).order_by(Outlet.code)):
        value = f"{tokens.Scope.OUTLET.value}:{o.id}"
        choices.append(SelectChoice(value, f"{o.code} {o.name}", optgroup=group))
    return choices


def _form(**kwargs) -> TokenForm:
    form = TokenForm(**kwargs)
    form.scope.choices = _scope_choices()
    return form


def _when(value) -> str:
    return format_datetime(value, "short") if value else "—"


def _scope_label(token: tokens.ApiToken) -> str:
    if token.sub_branch is not None:
        return _("Sub-branch %(name)s", name=f"{token.sub_branch.code} {token.sub_branch.name}")
    if token.outlet is not None:
        return _("Outlet %(name)s", name=f"{token.outlet.code} {token.outlet.name}")
    return _("Everything (head office)")


def _rows() -> list[dict]:
    now = utcnow()
    return [
        {
            "id": t.id,
            "name": t.name,
            "hint": t.hint,
            "scope": _scope_label(t),
            "created": _when(t.created_at),
            "created_by": t.created_by.display_name,
            "expires": _when(t.expires_at),
            "last_used": _when(t.last_used_at),
            "state": t.state(now),
        }
        for t in tokens.every_token(db.session)
    ]


def _page(form: TokenForm, issued: tokens.Issued | None = None, status: int = 200):
    shown = {"secret": issued.secret, "name": issued.token.name} if issued else None
    page = render_template(
        "office/api_tokens.html", rows=_rows(), form=form, revoke=RevokeForm(), issued=shown
    )
    return page, status


@bp.get("")
@head_office
def index():
    return _page(_form())


@bp.post("")
@head_office
def create():
    """Make a token and show it on this page, once: it is stored only as its hash."""
    form = _form()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            raise Refused("bad_form", 400, fields="csrf_token")
        return _page(form, status=400)
    kind, _sep, target = (form.scope.data or "").partition(":")
    issued = tokens.create(
        db.session,
        current_user,
        name=form.name.data or "",
        scope=kind,
        target_id=int(target) if target.isdigit() and len(target) < 10 else None,
        days=form.days.data,
    )
    return _page(_form(formdata=None), issued)  # a blank form under the new token


@bp.post("/<int:token_id>/revoke")
@head_office
def revoke(token_id: int):
    require_valid(RevokeForm())
    token = db.session.get(tokens.ApiToken, token_id)
    if token is None:
        raise Refused("not_found", 404)
    if tokens.revoke(db.session, current_user, token):
        message = _("Token “%(name)s” is revoked: it no longer opens the API.", name=token.name)
        flash(message, "info")
    return redirect(url_for(".index"))
