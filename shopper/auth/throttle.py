"""Sign-in throttling with Flask-Limiter: failed sign-ins are counted per account and per
address; past the limit a sign-in is refused (429) until the window has passed, whatever the
password, or until head office lifts the account's lock.

Counts live in Flask-Limiter's storage (RATELIMIT_STORAGE_URI): memory:// counts in each
server process; a shared store (redis://…) makes every process count, and lift, together.
With SHOPPER_REDIS_URL set and no other store named, the counts live in that Redis.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, current_app, request
from flask.wrappers import Response
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse

SIGN_IN = "auth.login"  # the one route with limits
ACCOUNT = "sign-in-account"
ADDRESS = "sign-in-address"

limiter = Limiter(key_func=get_remote_address)


def _account() -> str:
    """The account a sign-in names (as typed, so an unknown name is counted the same way)."""
    return (request.form.get("username") or "").strip()[:80] or "-"


def _failed(response: Response) -> bool:
    return response.status_code == 401


per_account = limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    scope=ACCOUNT,
    key_func=_account,
    methods=["POST"],
    deduct_when=_failed,
)
per_address = limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    scope=ADDRESS,
    key_func=get_remote_address,
    methods=["POST"],
    deduct_when=_failed,
)


@dataclass(frozen=True)
class Lock:
    username: str
    until: datetime


def _identifiers(username: str) -> list[str]:
    """The storage key of an account's count, composed as Flask-Limiter composes it."""
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX")
    return [prefix, username, ACCOUNT] if prefix else [username, ACCOUNT]


def locks(usernames: Iterable[str]) -> list[Lock]:
    """The accounts among `usernames` that may not sign in now, and until when."""
    item = parse(current_app.config["LOGIN_LIMIT_PER_ACCOUNT"])
    found = []
    for name in usernames:
        stats = limiter.limiter.get_window_stats(item, *_identifiers(name))
        if stats.remaining <= 0:
            found.append(Lock(name, datetime.fromtimestamp(stats.reset_time, UTC)))
    return found


def lift(username: str) -> None:
    """Forget the account's failed sign-ins: it may sign in at once. Idempotent."""
    item = parse(current_app.config["LOGIN_LIMIT_PER_ACCOUNT"])
    limiter.limiter.clear(item, *_identifiers(username))


def retry_after() -> tuple[str, int]:
    """For a refused sign-in: which limit refused it (ACCOUNT or ADDRESS) and in how many
    seconds the next attempt may succeed."""
    breached = limiter.current_limit
    if breached is None:
        return ACCOUNT, 60
    scope = ADDRESS if ADDRESS in breached.request_args else ACCOUNT
    return scope, max(1, math.ceil(breached.window.reset_time - time.time()))


def init_app(app: Flask) -> None:
    if app.config.get("REDIS_URL") and app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        # several hosts: every one counts, and a lift lifts, in the same Redis
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    limiter.init_app(app)


@limiter.request_filter
def _not_a_sign_in() -> bool:
    """Only sign-ins are counted: every other request (an autosave many times a minute) skips
    Flask-Limiter's work of resolving limits for its route."""
    return request.endpoint != SIGN_IN
