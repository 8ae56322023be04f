"""Every route declares who may use it; anything undeclared is refused.

`allow(...)` records the roles on the view function; one `before_request`
check enforces it for the whole app, so a forgotten declaration fails closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, abort, current_app, g, redirect, request, session, url_for
from flask_login import current_user
from sqlalchemy import inspect as inspect_row
from sqlalchemy.exc import SQLAlchemyError

from shopper.auth.models import Role, User

F = TypeVar("F", bound=Callable)
PUBLIC = "public"
ANY_USER = "any_user"


def allow(*roles: Role | str) -> Callable[[F], F]:
    def mark(view: F) -> F:
        view.access = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return mark


public = allow(PUBLIC)
signed_in = allow(ANY_USER)


def checks_sign_in_itself(view: F) -> F:
    """For a view answered many times a minute (the phone's autosave): while its request
    carries a sign-in token, the access check leaves the token unchecked and loads nobody; the
    view's first statement checks it (`session_token()`, a live session of an active account
    allowed here), and anything that statement refuses goes through `require_access()`, which
    refuses as the access check would have. The view keeps its `allow(...)` declaration."""
    view.checks_sign_in = True  # type: ignore[attr-defined]
    return view


def session_token() -> str | None:
    """The sign-in token the session cookie carries (Flask-Login's user id), unchecked."""
    token = session.get("_user_id")
    return token if isinstance(token, str) else None


def access_of(app: Flask, endpoint: str) -> frozenset[str] | None:
    if endpoint == "static":
        return frozenset({PUBLIC})
    return getattr(app.view_functions.get(endpoint), "access", None)


def enforce() -> None:
    if request.endpoint is None:
        return  # 404/405: let the error handlers speak
    roles = access_of(current_app, request.endpoint)
    if roles is None:
        abort(403)  # undeclared: fail closed
    if PUBLIC in roles:
        return
    view = current_app.view_functions[request.endpoint]
    if getattr(view, "checks_sign_in", False) and session_token() is not None:
        return None  # the view checks it in its first statement (checks_sign_in_itself)
    return require_access(roles)


def require_access(roles: frozenset[str]) -> None:
    """The signed-in user may use a route allowed to `roles`: else 401 for a phone's request
    (a redirect to sign in for a page), 403 for a signed-in user of another role."""
    if not current_user.is_authenticated:
        if wants_json():
            abort(401)
        abort(redirect(url_for("auth.login", next=request.full_path.rstrip("?"))))
    if ANY_USER not in roles and current_user.role not in roles:
        abort(403)
    return None


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" or request.is_json


def viewer() -> dict[str, str] | None:
    """Who a page is for, as plain values (name, role), or None when nobody is signed in.

    The layout reads this, never `current_user` itself: an error page sets `g.viewer` from
    what was loaded before the error, so rendering it needs no database.
    """
    if "viewer" in g:
        return g.viewer
    if not current_user.is_authenticated:
        return None
    return {"name": current_user.display_name, "role": current_user.role}


def loaded_viewer() -> dict[str, str] | None:
    """`viewer()` from the signed-in user already in memory, without any I/O (None when no
    user was loaded, or its name was expired by a rollback)."""
    user = g.get("_login_user")
    if not (isinstance(user, User) and user.is_authenticated):
        return None
    values = inspect_row(user).dict  # what was loaded, without refreshing anything
    if "display_name" in values and "role" in values:
        return {"name": values["display_name"], "role": values["role"]}
    return None


def settle_viewer(*, may_query: bool) -> dict[str, str] | None:
    """Fix who an error page is for, so that rendering it needs no database: the signed-in
    user in memory; when none was loaded and `may_query`, one guarded attempt to load it;
    otherwise nobody (Flask-Login is told so, or its template context would query)."""
    found = loaded_viewer()
    if found is not None or isinstance(g.get("_login_user"), User):
        return found
    if g.get("_login_user") is None and may_query:
        try:
            return viewer()
        except SQLAlchemyError:
            pass
    g._login_user = current_app.login_manager.anonymous_user()
    return None


def init_app(app: Flask) -> None:
    app.before_request(enforce)
    app.jinja_env.globals["viewer"] = viewer
