"""Sign in, sign out, choose the language, and the home page that sends each role on."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from shopper.audit import service as audit
from shopper.auth import service, throttle
from shopper.auth.access import allow, public, signed_in
from shopper.auth.forms import LiftForm, LoginForm
from shopper.auth.models import Role, User
from shopper.extensions import db
from shopper.forms import require_valid
from shopper.refusals import Refused

bp = Blueprint("auth", __name__)

HOME = {
    Role.ADMIN: "office.inspections",
    Role.INSPECTOR: "inspect.assignments",
    Role.BANK_CHECKER: "inspect.assignments",  # video checks, on the inspector's screens
    Role.OUTLET_MANAGER: "branch.inspections",
    Role.SUB_BRANCH_MANAGER: "branch.inspections",
}


def _safe_next(target: str | None) -> str | None:
    """A path on this site to return to, or None: never another host."""
    if not target or any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _fresh_session() -> None:
    """Drop everything from the old cookie except the chosen language."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


@bp.get("/")
@signed_in
def home():
    return redirect(url_for(HOME[Role(current_user.role)]))


@bp.route("/login", methods=["GET", "POST"])
@public
@throttle.per_account
@throttle.per_address
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = service.authenticate(db.session, form.username.data, form.password.data)
        if user is None:
            # the refusal rolls the request back: its audit record is committed on its own
            audit.record(
                db.session, None, "sign_in.failed", "user", "-", actor_name=form.username.data
            )
            db.session.commit()
            flash(_("Wrong username or password."), "error")
            return render_template("auth/login.html", form=form), 401
        lifetime = timedelta(hours=current_app.config["SESSION_HOURS"])
        service.start_session(db.session, user, lifetime)
        audit.record(db.session, user, "sign_in", "user", user.id)
        _fresh_session()
        login_user(user)
        return redirect(_safe_next(request.args.get("next")) or url_for("auth.home"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@signed_in
def logout():
    service.end_session(db.session, current_user.session_token)
    audit.record(db.session, current_user, "sign_out", "user", current_user.id)
    logout_user()
    _fresh_session()
    flash(_("You have signed out."), "info")
    response = redirect(url_for("auth.login"))
    # photos sit in the browser's cache (private, immutable): a shared phone drops them now.
    # Not "storage": the outbox of writes not yet sent must outlive a sign-out.
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.get("/office/sign-in-locks")
@allow(Role.ADMIN)
def sign_in_locks():
    """Head office: the accounts locked by failed sign-ins, each with a button to lift it."""
    users = {u.username: u.display_name for u in db.session.scalars(select(User))}
    rows = [
        {
            "username": lock.username,
            "name": users[lock.username],
            "until": format_datetime(lock.until, "short"),
        }
        for lock in throttle.locks(sorted(users))
    ]
    return render_template("office/sign_in_locks.html", rows=rows, form=LiftForm())


@bp.post("/office/sign-in-locks/<username>/lift")
@allow(Role.ADMIN)
def lift_sign_in_lock(username: str):
    require_valid(LiftForm())
    if db.session.scalar(select(User.id).where(User.username == username)) is None:
        raise Refused("not_found", 404)
    throttle.lift(username)
    audit.record(db.session, current_user, "sign_in.lock_lifted", "user", username)
    flash(_("%(username)s may sign in again.", username=username), "info")
    return redirect(url_for("auth.sign_in_locks"))


@bp.get("/language/<code>")
@public
def language(code: str):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["locale"] = code
    return redirect(_safe_next(request.args.get("next")) or url_for("auth.home"))


def init_login(manager) -> None:
    manager.login_view = "auth.login"
    manager.session_protection = "basic"

    @manager.user_loader
    def load_user(token: str):
        return service.load_session_user(db.session, token)
