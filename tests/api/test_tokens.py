"""API tokens: head office makes one (shown once, stored as a hash), it opens the API until it
is revoked or expires; anything else is a 401 with a sentence."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from sqlalchemy import select

from shopper.api.tokens import ApiToken, Scope
from shopper.audit.models import AuditRecord
from shopper.db import utcnow
from shopper.extensions import db
from tests.api.helpers import api_get, make_token

TOKEN = re.compile(r'value="(shp_[A-Za-z0-9_-]{43})"')


def test_head_office_makes_a_token_that_is_shown_once_and_stored_only_as_its_hash(
    app, login, world
):
    admin = login("admin")
    made = admin.post(
        "/office/api-tokens",
        {"name": "Data warehouse", "scope": f"sub_branch:{world.sub_branch_ids[0]}", "days": 30},
    )
    assert made.status_code == 200
    secret = TOKEN.search(made.get_data(as_text=True)).group(1)
    with app.app_context():
        token = db.session.scalars(select(ApiToken)).one()
        assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in repr([getattr(token, c.key) for c in ApiToken.__table__.columns])
        assert token.scope == Scope.SUB_BRANCH and token.sub_branch_id == world.sub_branch_ids[0]
        assert timedelta(days=29) < token.expires_at - token.created_at <= timedelta(days=30)
        audited = db.session.scalars(
            select(AuditRecord.action).where(AuditRecord.object_type == "api_token")
        ).all()
        assert audited == ["api_token.created"]
    listing = admin.get("/office/api-tokens").get_data(as_text=True)
    assert "Data warehouse" in listing and secret not in listing and secret[:10] in listing
    assert api_get(app, "/api/v1/periods", secret).status_code == 200


def test_a_revoked_token_is_refused_at_once(app, login, world):
    token_id, secret = make_token(app)
    assert api_get(app, "/api/v1/outlets", secret).status_code == 200
    admin = login("admin")
    assert admin.post(f"/office/api-tokens/{token_id}/revoke").status_code == 302
    refused = api_get(app, "/api/v1/outlets", secret)
    assert refused.status_code == 401
    assert refused.get_json()["code"] == "api_token_revoked"
    assert "revoked" in refused.get_json()["error"]
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    # revoking again changes nothing
    assert admin.post(f"/office/api-tokens/{token_id}/revoke").status_code == 302
    with app.app_context():
        actions = db.session.scalars(
            select(AuditRecord.action).where(AuditRecord.object_type == "api_token")
        ).all()
    assert actions == ["api_token.created", "api_token.revoked"]


def test_an_expired_token_is_refused(app, world):
    token_id, secret = make_token(app, days=30)
    with app.app_context():
        db.session.get(ApiToken, token_id).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    refused = api_get(app, "/api/v1/inspections", secret)
    assert refused.status_code == 401
    body = refused.get_json()
    assert body["code"] == "api_token_expired" and "expired at" in body["error"]


def test_a_missing_or_unknown_token_is_a_401_sentence(app, world):
    for header in (
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic YWRtaW46cGFzcw==",
        "Bearer shp_" + "A" * 43,  # well formed, never made
        "Bearer not-a-token",
        "Bearer " + "x" * 5000,
    ):
        headers = {"Accept-Language": "en"}
        if header is not None:
            headers["Authorization"] = header
        for url in ("/api/v1/periods", "/api/v1/inspections/1"):
            refused = app.test_client().get(url, headers=headers)
            assert refused.status_code == 401, header
            assert refused.content_type == "application/json"
            body = refused.get_json()
            assert body["code"] in ("api_token_missing", "api_token_unknown"), header
            assert body["error"].endswith(".")
            assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_browser_does_not_open_the_api(login):
    assert login("admin").get("/api/v1/periods").status_code == 401


def test_the_token_screen_refuses_a_form_without_name_or_with_an_unknown_scope(app, login):
    admin = login("admin")
    assert (
        admin.post(
            "/office/api-tokens", {"name": "", "scope": "head_office", "days": 90}
        ).status_code
        == 400
    )
    assert (
        admin.post(
            "/office/api-tokens", {"name": "x", "scope": "outlet:999", "days": 90}
        ).status_code
        == 400
    )
    assert (
        admin.post(
            "/office/api-tokens", {"name": "x", "scope": "head_office", "days": 7}
        ).status_code
        == 400
    )
    assert (
        admin.post("/office/api-tokens", {"name": "x", "days": 90}, csrf=False).status_code == 400
    )
    with app.app_context():
        assert db.session.scalars(select(ApiToken)).all() == []


def test_a_token_notes_when_it_was_last_used(app, world):
    token_id, secret = make_token(app)
    assert api_get(app, "/api/v1/periods", secret).status_code == 200
    with app.app_context():
        used = db.session.get(ApiToken, token_id).last_used_at
    assert used is not None and utcnow() - used < timedelta(minutes=1)
