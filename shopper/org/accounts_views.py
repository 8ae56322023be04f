"""Head office's accounts screens: list, create, change, disable / enable, reset password.
The rules are in shopper.auth.accounts; a generated password is shown once, on the page
the POST answers (never in a redirect's flash, which the cookie would carry)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField

from shopper.audit import service as audit
from shopper.auth import accounts
from shopper.auth.models import Role, User
from shopper.extensions import db
from shopper.forms import require_valid
from shopper.org import service
from shopper.org.pages import ActionForm, bp, form_again, head_office, listing
from shopper.org.service import Invalid


class AccountForm(FlaskForm):
    username = StringField()
    display_name = StringField()
    role = StringField()
    agency_id = StringField()
    outlet_id = StringField()
    sub_branch_id = StringField()
    password = PasswordField()


class PasswordForm(FlaskForm):
    password = PasswordField()


def _scope(user: User) -> str:
    if user.agency is not None:
        return user.agency.name
    if user.outlet is not None:
        return f"{user.outlet.code} {user.outlet.name}"
    if user.sub_branch is not None:
        return f"{user.sub_branch.code} {user.sub_branch.name}"
    return _("Head office") if user.role in (Role.ADMIN, Role.BANK_CHECKER) else ""


@bp.get("/accounts")
@head_office
def accounts_list():
    role = request.args.get("role") or ""
    active = request.args.get("active") or ""
    sessions = accounts.session_counts(db.session)
    rows = [
        {
            "id": u.id,
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "scope": _scope(u),
            "active": u.active,
            "sessions": sessions.get(u.id, 0),
            "created": u.created_at.strftime("%Y-%m-%d") if u.created_at else "",
        }
        for u in accounts.accounts(db.session)
        if (not role or u.role == role) and (not active or u.active == (active == "yes"))
    ]
    columns = ("username", "display_name", "role", "scope", "active", "sessions", "created")
    page = listing(rows, columns, "username", ("username", "display_name", "scope"))
    return render_template(
        "org/accounts.html", tab="accounts", list=page, role=role, active=active, roles=list(Role)
    )


def _account_page(user: User | None = None, **context: Any) -> dict[str, Any]:
    return {
        "tab": "accounts",
        "account": user,
        "roles": list(Role),
        "agencies": [(a.id, a.name) for a in service.agencies(db.session)],
        "outlets": [(o.id, f"{o.code} {o.name}") for o in service.outlets(db.session)],
        "sub_branches": [(s.id, f"{s.code} {s.name}") for s in service.sub_branches(db.session)],
        "is_self": user is not None and user.id == current_user.id,
        "sessions": accounts.session_counts(db.session).get(user.id, 0) if user else 0,
        "password_min": accounts.PASSWORD_MIN,
        **context,
    }


def _values(user: User) -> dict[str, str]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": str(user.role),
        "agency_id": str(user.agency_id or ""),
        "outlet_id": str(user.outlet_id or ""),
        "sub_branch_id": str(user.sub_branch_id or ""),
    }


def _shown_once(user: User, password: str, what: str):
    return render_template(
        "org/password_once.html", tab="accounts", account=user, password=password, what=what
    )


@bp.get("/accounts/new")
@head_office
def new_account():
    return render_template("org/account_form.html", values={}, problems={}, **_account_page())


@bp.post("/accounts")
@head_office
def create_account():
    form = AccountForm()
    require_valid(form)
    try:
        data = accounts.account_data(db.session, request.form.to_dict())
        user, generated = accounts.create(db.session, data, form.password.data or None)
    except Invalid as refusal:
        return form_again("org/account_form.html", refusal, **_account_page())
    audit.record(
        db.session,
        current_user,
        "account.created",
        "user",
        user.id,
        {
            "username": user.username,
            "role": user.role,
            "password": "generated" if generated else "typed",
        },
    )
    if generated:
        return _shown_once(user, generated, "created")
    flash(_("Account %(username)s created.", username=user.username), "info")
    return redirect(url_for(".accounts_list"))


@bp.get("/accounts/<int:user_id>")
@head_office
def edit_account(user_id: int):
    user = service.get(db.session, User, user_id)
    return render_template(
        "org/account_form.html", values=_values(user), problems={}, **_account_page(user)
    )


@bp.post("/accounts/<int:user_id>")
@head_office
def save_account(user_id: int):
    user = service.get(db.session, User, user_id)
    require_valid(AccountForm())
    try:
        data = accounts.account_data(db.session, request.form.to_dict(), username=user.username)
        changes = accounts.update(db.session, current_user, user, data)
    except Invalid as refusal:
        return form_again("org/account_form.html", refusal, **_account_page(user))
    if changes:
        audit.record(db.session, current_user, "account.changed", "user", user.id, changes)
        flash(_("Account %(username)s saved.", username=user.username), "info")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for(".accounts_list"))


@bp.post("/accounts/<int:user_id>/disable")
@head_office
def disable_account(user_id: int):
    user = service.get(db.session, User, user_id)
    require_valid(ActionForm())
    ended = accounts.disable(db.session, current_user, user)
    audit.record(
        db.session, current_user, "account.disabled", "user", user.id, {"sessions_ended": ended}
    )
    flash(
        ngettext(
            "Account %(username)s disabled; %(num)d session ended.",
            "Account %(username)s disabled; %(num)d sessions ended.",
            ended,
            username=user.username,
        ),
        "info",
    )
    return redirect(url_for(".edit_account", user_id=user.id))


@bp.post("/accounts/<int:user_id>/enable")
@head_office
def enable_account(user_id: int):
    user = service.get(db.session, User, user_id)
    require_valid(ActionForm())
    accounts.enable(db.session, user)
    audit.record(db.session, current_user, "account.enabled", "user", user.id)
    flash(_("Account %(username)s may sign in again.", username=user.username), "info")
    return redirect(url_for(".edit_account", user_id=user.id))


@bp.post("/accounts/<int:user_id>/password")
@head_office
def reset_password(user_id: int):
    user = service.get(db.session, User, user_id)
    form = PasswordForm()
    require_valid(form)
    try:
        generated, ended = accounts.reset_password(db.session, user, form.password.data or None)
    except Invalid as refusal:
        return form_again("org/account_form.html", refusal, _values(user), **_account_page(user))
    audit.record(
        db.session,
        current_user,
        "account.password_reset",
        "user",
        user.id,
        {"password": "generated" if generated else "typed", "sessions_ended": ended},
    )
    if generated:
        return _shown_once(user, generated, "reset")
    flash(
        _("The password of %(username)s was changed; its sessions ended.", username=user.username),
        "info",
    )
    return redirect(url_for(".edit_account", user_id=user.id))
