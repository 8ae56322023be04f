"""Making API tokens and calling the API, for the API's tests and the access matrix."""

from __future__ import annotations

from sqlalchemy import select

from shopper.api import tokens
from shopper.auth.models import Role, User
from shopper.extensions import db


def make_token(
    app, scope: str = tokens.Scope.HEAD_OFFICE, target: int | None = None, *, days: int = 90
) -> tuple[int, str]:
    """(id, secret) of a new token made by the world's head office user, committed."""
    with app.app_context():
        admin = db.session.scalars(select(User).where(User.role == Role.ADMIN)).first()
        issued = tokens.create(
            db.session,
            admin,
            name=f"{scope} {target or ''}",
            scope=scope,
            target_id=target,
            days=days,
        )
        db.session.commit()
        return issued.token.id, issued.secret


def api_get(app, url: str, secret: str | None, **params):
    """GET an API URL with the token (English sentences, as the other tests read)."""
    headers = {"Accept-Language": "en"}
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    return app.test_client().get(url, headers=headers, query_string=params or None)


def walk(app, url: str, secret: str, **params) -> list[dict]:
    """Every item of a list, following next_cursor to the end (from `cursor`, if given)."""
    items, cursor = [], params.pop("cursor", None)
    while True:
        page = api_get(app, url, secret, **params, **({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.get_data(as_text=True)
        body = page.get_json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def matrix_objects(app) -> dict[str, int]:
    """What the access matrix's API rows name: a token to revoke, a checklist version."""
    from shopper.checklists.models import ChecklistVersion

    token_id, _secret = make_token(app)
    with app.app_context():
        version = db.session.scalars(select(ChecklistVersion.id)).first()
    return {"api_token": token_id, "checklist_version": version}
