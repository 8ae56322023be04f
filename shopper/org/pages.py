"""Head office's organisation screens: one blueprint (/office/organisation) whose routes
live in org/views_org.py (sub-branches, outlets, agencies), org/accounts_views.py and
org/import_views.py; here the parts they share: sorted, filtered lists and forms that
come back with their problems."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_wtf import FlaskForm

from shopper import errors
from shopper.auth.access import allow
from shopper.auth.models import Role
from shopper.org.messages import MESSAGES
from shopper.refusals import Refused

bp = Blueprint("organisation", __name__, url_prefix="/office/organisation")
head_office = allow(Role.ADMIN)
PER_PAGE = 100


@bp.record_once
def _sentences(_state: Any) -> None:
    errors.REFUSALS.update(MESSAGES)


class ActionForm(FlaskForm):
    """A button: nothing but the CSRF token."""


def sentence(code: str, params: Mapping[str, Any] | None = None) -> str:
    template = MESSAGES.get(code) or errors.REFUSALS.get(code) or code
    values = {k: v for k, v in (params or {}).items() if isinstance(v, (str, int))}
    return str(template) % values if values else str(template)


def _sort_key(value: Any) -> tuple:
    if value is None or value == "":
        return (1, "")
    if isinstance(value, str):
        return (0, value.casefold())
    return (0, value)


def listing(
    rows: list[dict[str, Any]],
    columns: Iterable[str],
    default: str,
    searchable: Iterable[str],
) -> dict[str, Any]:
    """The rows filtered by ?q= (any searchable column contains it, case ignored), sorted
    by ?sort= (a column; ?dir=desc reverses) and cut to ?page= — as plain values."""
    columns, searchable = tuple(columns), tuple(searchable)
    q = (request.args.get("q") or "").strip()[:100]
    sort = request.args.get("sort") if request.args.get("sort") in columns else default
    desc = request.args.get("dir") == "desc"
    needle = q.casefold()
    found = [
        r
        for r in rows
        if not needle or any(needle in str(r.get(c) or "").casefold() for c in searchable)
    ]
    found.sort(key=lambda r: _sort_key(r.get(sort)), reverse=desc)
    pages = max(1, math.ceil(len(found) / PER_PAGE))
    page_text = request.args.get("page") or "1"
    page = min(int(page_text), pages) if page_text.isdigit() and int(page_text) > 0 else 1
    return {
        "rows": found[(page - 1) * PER_PAGE : page * PER_PAGE],
        "total": len(found),
        "all": len(rows),
        "sort": sort,
        "desc": desc,
        "q": q,
        "page": page,
        "pages": pages,
    }


def list_url(**changes: Any) -> str:
    """This list's URL with some arguments changed (None drops one)."""
    args = {k: v for k, v in request.args.items()}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint or ".index", **(request.view_args or {}), **args)


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"org_list_url": list_url, "org_sentence": sentence}


def form_again(
    template: str, refusal: Refused, values: dict[str, str] | None = None, **context: Any
):
    """The form once more, with what was typed, each field's problem and the sentence;
    the refusal's status (the request rolls back)."""
    problems: dict[str, str] = {}
    for p in getattr(refusal, "problems", []):
        problems.setdefault(p.field, sentence(p.code, p.params))
    message = errors.refusal_message(refusal)
    if values is None:  # what was typed, but never a password
        values = {
            k: v for k, v in request.form.items() if k != "csrf_token" and "password" not in k
        }
    page = render_template(template, values=values, problems=problems, refusal=message, **context)
    return page, refusal.status


def blueprint() -> Blueprint:
    """The blueprint with every organisation route on it."""
    from shopper.org import accounts_views, import_views, views_org  # noqa: F401  (routes)

    return bp
