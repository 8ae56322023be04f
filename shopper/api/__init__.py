"""The JSON API for the bank's systems (/api/v1, bearer tokens, an OpenAPI 3.1 document)
and head office's screen that makes and revokes its tokens (/office/api-tokens)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from shopper.api import errors, office, views
    from shopper.extensions import csrf

    csrf.exempt(views.bp)  # a bearer token, not a session cookie: nothing to forge
    views.init_app(app)
    errors.init_app(app)
    app.register_blueprint(office.bp)
