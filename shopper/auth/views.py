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
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from shopper.auth import service
from shopper.auth.access import public, signed_in
from shopper.auth.forms import LoginForm
from shopper.auth.models import Role
from shopper.extensions import db

bp = Blueprint("auth", __name__)

HOME = {
    Role.ADMIN: "office.inspections",
    Role.INSPECTOR: "inspect.assignments",
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
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = service.authenticate(db.session, form.username.data, form.password.data)
        if user is None:
            flash(_("Wrong username or password."), "error")
            return render_template("auth/login.html", form=form), 401
        lifetime = timedelta(hours=current_app.config["SESSION_HOURS"])
        service.start_session(db.session, user, lifetime)
        _fresh_session()
        login_user(user)
        return redirect(_safe_next(request.args.get("next")) or url_for("auth.home"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@signed_in
def logout():
    service.end_session(db.session, current_user.session_token)
    logout_user()
    _fresh_session()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


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
