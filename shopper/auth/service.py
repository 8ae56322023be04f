"""Signing in and out. Sessions live in the database so logging out ends them for good."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from shopper.auth.models import LoginSession, User
from shopper.db import utcnow

# checked when the username is unknown, so both cases take the same time
_DUMMY_HASH = "scrypt:32768:8:1$0000000000000000$" + "0" * 128


def token_digest(token: str) -> str:
    """What a session's row keeps of its token."""
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        from werkzeug.security import check_password_hash

        check_password_hash(_DUMMY_HASH, password)
        return None
    # the hash is checked even for a disabled account: a refusal takes as long either way
    correct = user.check_password(password)
    if not user.active or not correct:
        return None
    return user


def start_session(session: Session, user: User, lifetime: timedelta) -> str:
    """Open a server-side session for `user`; the token goes into the signed cookie."""
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + lifetime
    session.add(
        LoginSession(token_hash=token_digest(token), user_id=user.id, expires_at=expires_at)
    )
    session.flush()
    user.session_token = token
    return token


def load_session_user(session: Session, token: str) -> User | None:
    """The active user of a live session, in one query (the session row and its user)."""
    found = {"token_hash": token_digest(token), "now": utcnow()}
    user = session.scalars(_SESSION_USER, found).first()
    if user is not None:
        user.session_token = token
    return user


_SESSION_USER = (
    select(User)
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(
        LoginSession.token_hash == bindparam("token_hash"),
        LoginSession.expires_at > bindparam("now", type_=LoginSession.expires_at.type),
        User.active.is_(True),
    )
)


def end_session(session: Session, token: str) -> None:
    """Idempotent: a session already ended stays ended."""
    session.execute(delete(LoginSession).where(LoginSession.token_hash == token_digest(token)))
