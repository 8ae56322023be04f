"""Shopper: mystery-shopper inspections of bank outlets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.routing import IntegerConverter

from shopper import config as config_module

ROOT = config_module.ROOT


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(config_module.load(Path(app.instance_path), config))
    if app.config["BEHIND_PROXY"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    register_extensions(app)
    register_blueprints(app)
    register_request_cycle(app)
    register_errorhandlers(app)
    register_cli(app)
    return app


def register_extensions(app: Flask) -> None:
    from shopper import assets, forms, i18n
    from shopper.auth import access, throttle
    from shopper.auth.views import init_login
    from shopper.extensions import csrf, db, login_manager
    from shopper.photos.service import init_storage

    db.init_app(app)
    csrf.init_app(app)
    forms.init_app(app)  # before any view: input no column can hold is refused
    login_manager.init_app(app)
    init_login(login_manager)
    throttle.init_app(app)
    i18n.init_app(app)
    access.init_app(app)
    init_storage(app)
    assets.init_app(app)


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: ids beyond what the database holds are simply not found
    (a 404), never an overflow deep in the driver (a 500)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    from shopper.assets import bp as assets
    from shopper.audit.views import bp as audit
    from shopper.auth.views import bp as auth
    from shopper.branch.views import bp as branch
    from shopper.checklists.views import bp as checklists
    from shopper.inspections.views import bp as inspect
    from shopper.inspections.views import shared as inspections
    from shopper.notices.ledger_views import bp as ledger
    from shopper.notices.views import bp as notices
    from shopper.notices.views import verify_bp as verify
    from shopper.office.views import bp as office
    from shopper.org.views import bp as org
    from shopper.periods.views import bp as periods
    from shopper.photos.views import bp as photos

    for blueprint in (
        assets,
        auth,
        inspect,
        inspections,
        photos,
        office,
        branch,
        notices,
        verify,
        periods,
        org,
    ):
        app.register_blueprint(blueprint)
    app.register_blueprint(ledger)
    app.register_blueprint(checklists)
    app.register_blueprint(audit)
    from shopper.results.views import bp as results  # rankings, weak indicators, charts

    app.register_blueprint(results)
    from shopper.org.pages import blueprint as organisation  # sub-branches … accounts, import

    app.register_blueprint(organisation())
    from shopper.results.export_views import bp as exports  # results' exports and report

    app.register_blueprint(exports)
    from shopper import api  # /api/v1 (bearer tokens, OpenAPI) and /office/api-tokens

    api.init_app(app)
    from shopper import jobs  # /office/jobs and `flask jobs` (queue jobs, issue 17)

    jobs.init_app(app)


class SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def register_request_cycle(app: Flask) -> None:
    """One transaction per request: commit once if the response is a success."""
    from shopper.extensions import db

    app.session_interface = SessionInterface()

    @app.after_request
    def commit_or_roll_back(response):
        if "_db_session" in g:
            if response.status_code < 400:
                db.session.commit()
            else:
                db.session.rollback()
        return response

    @app.after_request
    def private_pages(response):
        # a shared phone's Back button must not show a signed-out user's pages
        if "Cache-Control" not in response.headers and request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # the phone's camera (photo capture) and location (check-in); nothing else
        response.headers.setdefault(
            "Permissions-Policy",
            "camera=(self), geolocation=(self), microphone=(), payment=(), usb=()",
        )
        if request.is_secure:  # only over HTTPS, so a plain-HTTP test install is not locked out
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
            "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        )
        return response


def register_errorhandlers(app: Flask) -> None:
    from shopper import errors

    errors.init_app(app)


def register_cli(app: Flask) -> None:
    from shopper import cli

    cli.init_app(app)
