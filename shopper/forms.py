"""What every blueprint does with a posted form, and what no request may carry at all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, request
from flask_wtf import FlaskForm

from shopper.refusals import Refused

# the largest id a column holds (PostgreSQL's integer); a query number beyond it finds nothing
MAX_ID = 2**31 - 1
# the largest whole number a form field may mean: the phone's clock in ms, until the year 2286
MAX_FORM_NUMBER = 10**13
_WHOLE_NUMBER = re.compile(r"\s*[+-]?[\d_]+\s*")


def require_valid(form: FlaskForm) -> None:
    """Refuse (400, naming the fields) a form that is not valid or lacks its CSRF token."""
    if not form.validate_on_submit():
        raise Refused("bad_form", 400, fields=", ".join(sorted(form.errors)))


def _texts(value: Any) -> Iterator[str]:
    """Every string in a JSON value (keys too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(key)
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _form_values() -> Iterator[str]:
    if request.method in ("POST", "PUT", "PATCH"):
        for values in request.form.listvalues():
            yield from values


def _request_texts() -> Iterator[str]:
    yield request.path
    for key, values in request.args.lists():
        yield key
        yield from values
    if request.method in ("POST", "PUT", "PATCH"):
        yield from request.form.keys()
        yield from _form_values()
        if request.is_json:
            yield from _texts(request.get_json(silent=True))


def _beyond(value: str, limit: int) -> bool:
    """A value that reads as a whole number (as `type=int` and IntegerField read it) beyond
    `limit` either way."""
    if len(value) > 40:  # int() would read digits this long, slowly: no need to
        return bool(_WHOLE_NUMBER.fullmatch(value))
    try:
        return abs(int(value)) > limit
    except ValueError:
        return False


def refuse_unstorable_input() -> None:
    """Once, for every request, before any view: a NUL character anywhere (PostgreSQL's text
    cannot hold one, so a phone's retry would fail forever) is a 400 sentence; a number in the
    query string beyond any id (?page=, ?period=, ?outlet=…) is not found (404), and one in a
    form beyond any time or id a field can mean is a 400 sentence."""
    if any("\x00" in text for text in _request_texts()):
        raise Refused("nul_character", 400)
    if any(_beyond(value, MAX_ID) for values in request.args.listvalues() for value in values):
        raise Refused("not_found", 404)
    if any(_beyond(value, MAX_FORM_NUMBER) for value in _form_values()):
        raise Refused("number_out_of_range", 400)


def init_app(app: Flask) -> None:
    app.before_request(refuse_unstorable_input)
