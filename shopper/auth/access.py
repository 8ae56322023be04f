"""Every route declares who may use it; anything undeclared is refused.

`allow(...)` records the roles on the view function; one `before_request`
check enforces it for the whole app, so a forgotten declaration fails closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, abort, current_app, redirect, request, url_for
from flask_login import current_user

from shopper.auth.models import Role

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
    if not current_user.is_authenticated:
        if wants_json():
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if ANY_USER not in roles and current_user.role not in roles:
        abort(403)
    return None


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" or request.is_json


def init_app(app: Flask) -> None:
    app.before_request(enforce)
