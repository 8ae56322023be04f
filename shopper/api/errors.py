"""The API's errors: always JSON `{"error": sentence, "code": …}` in the reader's language
(Accept-Language), whatever the client accepts; the session rolls back first."""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Flask, jsonify, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from shopper import errors
from shopper.api.cursor import MAX_ID
from shopper.api.tokens import Rejected
from shopper.db import database_unavailable, release_session
from shopper.refusals import Refused

log = logging.getLogger(__name__)

MESSAGES = {
    # ---- API tokens: the API's 401s ----
    "api_token_missing": _l(
        "Send an API token in the Authorization header: the word Bearer, a space, then the token."
    ),
    "api_token_unknown": _l(
        "This API token is not valid. Check that it was copied whole, or ask head office for "
        "a new one."
    ),
    "api_token_revoked": _l("This API token has been revoked. Ask head office for a new one."),
    "api_token_expired": _l(
        "This API token expired at %(date)s (UTC). Ask head office for a new one."
    ),
    # ---- the API's 400s and 404 ----
    "api_bad_parameters": _l("Some parameters are not valid: %(names)s."),
    "api_bad_cursor": _l(
        "The cursor is not one this API gave out for this list. Start again without a cursor."
    ),
    "api_not_found": _l("There is nothing here, or this token may not see it."),
    # ---- head office's token screen ----
    "api_token_name_required": _l("Give the token a name that says who uses it and what for."),
    "api_token_name_too_long": _l("The name is too long: at most %(limit)s characters."),
    "api_token_bad_scope": _l(
        "Choose what the token may read: everything, one sub-branch or one outlet."
    ),
    "api_token_bad_expiry": _l("Choose when the token expires."),
}

_WHOLE_NUMBER = re.compile(r"\s*[+-]?\d+\s*")


def _sentence(code: str, **params) -> str:
    template = MESSAGES.get(code) or errors.STATUS_MESSAGES.get(400, "")
    return str(template) % params if params else str(template)


def _json(status: int, message: str, code: str, headers=None, **extra):
    release_session()
    response = jsonify(error=message, code=code, **extra)
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


def _oversized_numbers() -> list[str]:
    """The query parameters holding a whole number beyond any id (the app refuses those
    before any view, as a 404 on the web; to the API they are a bad parameter)."""
    return sorted(
        {
            name
            for name, values in request.args.lists()
            for value in values
            if _WHOLE_NUMBER.fullmatch(value) and (len(value) > 40 or abs(int(value)) > MAX_ID)
        }
    )


def rejected(exc: Rejected):
    params = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in exc.params.items()}
    challenge = 'Bearer realm="api"'
    if exc.code != "api_token_missing":  # RFC 6750: a token was sent and is no good
        challenge += ', error="invalid_token"'
    return _json(401, _sentence(exc.code, **params), exc.code, {"WWW-Authenticate": challenge})


def refused(exc: Refused):
    if exc.code == "not_found" and exc.status == 404:
        oversized = _oversized_numbers()
        if oversized:
            return _json(
                400,
                _sentence("api_bad_parameters", names=", ".join(oversized)),
                "api_bad_parameters",
                details={name: ["Too large to be an id."] for name in oversized},
            )
        return _json(404, _sentence("api_not_found"), "not_found")
    if exc.code in MESSAGES:
        return _json(exc.status, _sentence(exc.code, **exc.params), exc.code)
    return _json(exc.status, errors.refusal_message(exc), exc.code)


def http_error(exc: HTTPException):
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if messages:  # webargs: the parameters marshmallow refused, by location
        details = {name: why for found in messages.values() for name, why in found.items()}
        names = ", ".join(sorted(details))
        return _json(
            400, _sentence("api_bad_parameters", names=names), "api_bad_parameters", details=details
        )
    if status == 404:
        return _json(404, _sentence("api_not_found"), "not_found")
    original = getattr(exc, "original_exception", None)
    if original is not None and database_unavailable(original):
        return unavailable(original)
    if status >= 500:
        log.error("API server error: %r", original or exc)
    message = errors.STATUS_MESSAGES.get(status) or exc.description or ""
    allowed = getattr(exc, "valid_methods", None)
    headers = {"Allow": ", ".join(allowed)} if allowed else None
    return _json(status, str(message), str(status), headers)


def unavailable(exc: BaseException):
    log.error("database unavailable: %s", exc)
    return _json(
        503,
        str(errors.UNAVAILABLE),
        "unavailable",
        {"Retry-After": str(errors.RETRY_UNAVAILABLE_SECONDS)},
    )


def database_error(exc: SQLAlchemyError):
    if database_unavailable(exc):
        return unavailable(exc)
    log.error("API database error: %r", exc)
    return _json(500, str(errors.STATUS_MESSAGES[500]), "500")


def unrouted(prefix: str):
    """A before_request for the app: a URL under `prefix` that no route matches (an unknown
    path, an id that is not a number, a method the API lacks) is answered in JSON too,
    rather than by the web's error page (routing errors reach no blueprint's handler)."""

    def answer():
        exc = request.routing_exception
        if (
            isinstance(exc, HTTPException)
            and not isinstance(exc, RequestRedirect)
            and (request.path == prefix or request.path.startswith(prefix + "/"))
        ):
            return http_error(exc)
        return None

    return answer


def init_blueprint(bp: Blueprint) -> None:
    bp.register_error_handler(Rejected, rejected)
    bp.register_error_handler(Refused, refused)
    bp.register_error_handler(HTTPException, http_error)
    bp.register_error_handler(SQLAlchemyError, database_error)


def init_app(app: Flask) -> None:
    # the token screen's refusals speak through the app's own handler
    errors.REFUSALS.update(
        {code: message for code, message in MESSAGES.items() if code.startswith("api_token_")}
    )
