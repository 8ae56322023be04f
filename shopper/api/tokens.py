"""API tokens: made by head office, shown once, kept only as a SHA-256.

Each token has a scope (head office: everything; a sub-branch: its outlets; an outlet: that
outlet), an expiry, and can be revoked. The API sees exactly what a user of the matching
role sees on the web: `viewer()` turns a scope into that user, for the web's own rules.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from shopper.audit import service as audit
from shopper.auth.models import Role, User
from shopper.db import Base, utcnow
from shopper.org.models import Outlet, SubBranch
from shopper.refusals import Refused

PREFIX = "shp_"
MAX_NAME = 100
EXPIRY_DAYS = (30, 90, 180, 365)
# last_used_at is written at most this often: a busy client must not make every read a write
USE_RESOLUTION = timedelta(minutes=5)


class Scope(StrEnum):
    HEAD_OFFICE = "head_office"
    SUB_BRANCH = "sub_branch"
    OUTLET = "outlet"


# the web role whose visibility rule a scope mirrors
ROLE_OF_SCOPE = {
    Scope.HEAD_OFFICE: Role.ADMIN,
    Scope.SUB_BRANCH: Role.SUB_BRANCH_MANAGER,
    Scope.OUTLET: Role.OUTLET_MANAGER,
}


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("scope IN ('head_office', 'sub_branch', 'outlet')", name="scope"),
        CheckConstraint(
            "(scope = 'sub_branch') = (sub_branch_id IS NOT NULL)"
            " AND (scope = 'outlet') = (outlet_id IS NOT NULL)",
            name="scope_target",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME))  # what it is for, e.g. "data warehouse"
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(12))  # its first characters, to tell tokens apart
    scope: Mapped[str] = mapped_column(String(12))
    sub_branch_id: Mapped[int | None] = mapped_column(ForeignKey("sub_branches.id"), index=True)
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None]

    sub_branch: Mapped[SubBranch | None] = relationship()
    outlet: Mapped[Outlet | None] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])

    def state(self, now: datetime) -> str:
        """ "revoked", "expired" or "active"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"


def digest(secret: str) -> str:
    """What is stored: the token is 256 random bits, so a plain SHA-256 cannot be reversed."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Issued:
    token: ApiToken
    secret: str  # shown to head office once, never stored


def create(
    session: Session,
    user: User,
    *,
    name: str,
    scope: str,
    target_id: int | None,
    days: int,
) -> Issued:
    """Make a token for `scope` (with its sub-branch or outlet id) valid for `days` days.

    Raises Refused("api_token_name_required" | "api_token_name_too_long" |
    "api_token_bad_scope" | "api_token_bad_expiry"); nothing is stored then.
    """
    name = (name or "").strip()
    if not name:
        raise Refused("api_token_name_required")
    if len(name) > MAX_NAME:
        raise Refused("api_token_name_too_long", 400, limit=MAX_NAME)
    if days not in EXPIRY_DAYS:
        raise Refused("api_token_bad_expiry")
    token = ApiToken(name=name, scope=scope, created_by_id=user.id)
    if scope == Scope.SUB_BRANCH and target_id and session.get(SubBranch, target_id):
        token.sub_branch_id = target_id
    elif scope == Scope.OUTLET and target_id and session.get(Outlet, target_id):
        token.outlet_id = target_id
    elif scope != Scope.HEAD_OFFICE or target_id is not None:
        raise Refused("api_token_bad_scope")
    secret = PREFIX + secrets.token_urlsafe(32)
    token.token_hash = digest(secret)
    token.hint = secret[:10]
    token.created_at = utcnow()
    token.expires_at = token.created_at + timedelta(days=days)
    session.add(token)
    session.flush()
    audit.record(
        session,
        user,
        "api_token.created",
        "api_token",
        token.id,
        {
            "name": name,
            "scope": scope,
            "sub_branch_id": token.sub_branch_id,
            "outlet_id": token.outlet_id,
            "expires_at": token.expires_at.isoformat(),
        },
    )
    return Issued(token, secret)


def revoke(session: Session, user: User, token: ApiToken) -> bool:
    """Revoke the token at once. Idempotent: False if it was revoked already."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    token.revoked_by_id = user.id
    session.flush()
    audit.record(session, user, "api_token.revoked", "api_token", token.id, {"name": token.name})
    return True


def every_token(session: Session) -> list[ApiToken]:
    """Newest first, revoked and expired ones too (with whom and what they were for)."""
    query = select(ApiToken).options(
        selectinload(ApiToken.created_by),
        selectinload(ApiToken.sub_branch),
        selectinload(ApiToken.outlet),
    )
    return list(session.scalars(query.order_by(ApiToken.id.desc())))


class Rejected(Exception):
    """The request's token is missing, unknown, expired or revoked (a 401)."""

    def __init__(self, code: str, **params: object):
        self.code = code
        self.params = params
        super().__init__(code)


def bearer(header: str | None) -> str:
    """The token of an `Authorization: Bearer …` header. Raises Rejected("api_token_missing")."""
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Rejected("api_token_missing")
    return value.strip()


def authenticate(session: Session, header: str | None, now: datetime | None = None) -> ApiToken:
    """The live token the header carries, its use noted. Raises Rejected
    ("api_token_missing" | "api_token_unknown" | "api_token_revoked" | "api_token_expired")."""
    now = now or utcnow()
    secret = bearer(header)
    token = None
    if secret.startswith(PREFIX) and len(secret) < 100:
        token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None:
        raise Rejected("api_token_unknown")
    state = token.state(now)
    if state == "revoked":
        raise Rejected("api_token_revoked")
    if state == "expired":
        raise Rejected("api_token_expired", date=token.expires_at)
    if token.last_used_at is None or now - token.last_used_at > USE_RESOLUTION:
        token.last_used_at = now
        session.flush()
    return token


def viewer(token: ApiToken) -> User:
    """The user (never stored) whose web visibility the token has: the API applies the same
    rules (`shopper.inspections.service.visible_to` and the notices' rules) to it."""
    return User(
        id=None,
        username=f"api-token-{token.id}",
        role=ROLE_OF_SCOPE[Scope(token.scope)],
        sub_branch_id=token.sub_branch_id,
        outlet_id=token.outlet_id,
    )
