"""Head office's accounts: create, change role and scope, disable and enable, reset a
password. Flushes, never commits.

Disabling an account or resetting its password ends every login session it has at once
(the rows go; its next request finds none). A disabled account's sign-in is refused after
the same password check a wrong password gets (shopper.auth.service.authenticate).
There is always one active head-office account, and nobody disables or demotes themselves.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shopper.auth.models import INSPECTING, LoginSession, Role, User
from shopper.db import utcnow
from shopper.org.models import Agency, Outlet, SubBranch
from shopper.org.service import Collector, FieldError, Invalid, Problem, clean_name
from shopper.periods.models import Assignment
from shopper.refusals import Refused

USERNAME = re.compile(r"[A-Za-z0-9_.@\-]{1,80}")
# the sign-in form takes at most 200 characters; a password shorter than 10 is refused here
PASSWORD_MIN = 10
PASSWORD_MAX = 200
# which of agency / outlet / sub-branch each role needs (True), may have (None) or lacks
SCOPES: dict[Role, dict[str, bool | None]] = {
    Role.ADMIN: {"agency": False, "outlet": False, "sub_branch": False},
    Role.INSPECTOR: {"agency": True, "outlet": False, "sub_branch": False},
    Role.OUTLET_MANAGER: {"agency": False, "outlet": True, "sub_branch": False},
    Role.SUB_BRANCH_MANAGER: {"agency": False, "outlet": False, "sub_branch": True},
    Role.BANK_CHECKER: {"agency": False, "outlet": False, "sub_branch": None},
}


@dataclass(frozen=True)
class AccountData:
    username: str
    display_name: str
    role: Role
    agency_id: int | None = None
    outlet_id: int | None = None
    sub_branch_id: int | None = None


def clean_username(text: str | None) -> str:
    value = (text or "").strip()
    if not value:
        raise FieldError("account_username_required")
    if not USERNAME.fullmatch(value):
        raise FieldError("account_bad_username")
    return value


def clean_role(text: str | None) -> Role:
    try:
        return Role((text or "").strip())
    except ValueError:
        raise FieldError("account_bad_role") from None


def clean_password(password: str, username: str) -> str:
    """The rule every password head office types must meet (10–200 characters, not the
    username inside it, not one character repeated)."""
    if len(password) < PASSWORD_MIN:
        raise FieldError("account_password_short", limit=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        raise FieldError("account_password_long", limit=PASSWORD_MAX)
    if (username and username.lower() in password.lower()) or len(set(password)) == 1:
        raise FieldError("account_password_weak")
    return password


def generate_password() -> str:
    """16 URL-safe characters (96 random bits), easy to read out and type."""
    return secrets.token_urlsafe(12)


def check_scope(
    c: Collector,
    role: Role | None,
    agency_id: int | None,
    outlet_id: int | None,
    sub_branch_id: int | None,
) -> None:
    """The combinations the users table allows (ck_users_role_scope), as sentences."""
    if role is None:
        return
    given = {"agency": agency_id, "outlet": outlet_id, "sub_branch": sub_branch_id}
    for scope, rule in SCOPES[role].items():
        if rule is True and given[scope] is None:
            c.add(f"{scope}_id", f"account_{scope}_required")
        elif rule is False and given[scope] is not None:
            c.add(f"{scope}_id", f"account_no_{scope}")


def _id(session: Session, model: type, text: str | None) -> int | None:
    raw = (text or "").strip()
    if raw.isdigit() and len(raw) < 10 and session.get(model, int(raw)) is not None:
        return int(raw)
    return None


def account_data(
    session: Session, values: dict[str, str], username: str | None = None
) -> AccountData:
    """An account's fields from the form (scope as ids; blank or unknown ids are none).
    `username` given: an existing account's, which does not change. Raises Invalid."""
    c = Collector()
    name = (
        username
        if username is not None
        else c.take("username", clean_username, values.get("username"))
    )
    display = c.take("display_name", clean_name, values.get("display_name"))
    role = c.take("role", clean_role, values.get("role"))
    ids = {
        "agency_id": _id(session, Agency, values.get("agency_id")),
        "outlet_id": _id(session, Outlet, values.get("outlet_id")),
        "sub_branch_id": _id(session, SubBranch, values.get("sub_branch_id")),
    }
    # a scope picked for a role that has none is dropped: the form shows every select
    if role is not None:
        for scope, rule in SCOPES[role].items():
            if rule is False:
                ids[f"{scope}_id"] = None
    check_scope(c, role, **ids)
    c.check()
    return AccountData(name, display, role, **ids)


def _taken(session: Session, username: str) -> bool:
    return (
        session.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
        is not None
    )


def create(session: Session, data: AccountData, password: str | None) -> tuple[User, str | None]:
    """A new active account. `password` None or empty: one is generated and returned (shown
    once, never stored in clear). Raises Invalid for a taken username (409) or a password
    that breaks the rule."""
    if _taken(session, data.username):
        raise Invalid(
            [Problem("username", "account_username_taken", {"username": data.username})], 409
        )
    generated = None
    if password:
        try:
            clean_password(password, data.username)
        except FieldError as error:
            raise Invalid([Problem("password", error.code, error.params)]) from None
    else:
        password = generated = generate_password()
    user = User(
        username=data.username,
        display_name=data.display_name,
        role=data.role.value,
        agency_id=data.agency_id,
        outlet_id=data.outlet_id,
        sub_branch_id=data.sub_branch_id,
        active=True,
    )
    user.set_password(password)
    session.add(user)
    session.flush()
    return user, generated


def _active_admins(session: Session) -> list[int]:
    # locked on PostgreSQL, so two head-office users cannot each remove the other at once
    return list(
        session.scalars(
            select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)).with_for_update()
        )
    )


def guard_admin(session: Session, actor: User, user: User, *, stays_admin: bool) -> None:
    """Refuse taking an active head-office account out of head office (disabling it or
    giving it another role) when it is the actor's own, or the last one."""
    if user.role != Role.ADMIN or not user.active or stays_admin:
        return
    if user.id == actor.id:
        raise Refused("account_self", 409)
    if not [i for i in _active_admins(session) if i != user.id]:
        raise Refused("account_last_admin", 409)


def assignments_of(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).where(Assignment.inspector_id == user.id)) or 0


def values_of(user: User) -> dict[str, Any]:
    return {
        "display_name": user.display_name,
        "role": str(user.role),
        "agency_id": user.agency_id,
        "outlet_id": user.outlet_id,
        "sub_branch_id": user.sub_branch_id,
    }


def update(session: Session, actor: User, user: User, data: AccountData) -> dict[str, list[Any]]:
    """New display name, role and scope (the username stays). Returns what changed; a
    changed role or scope ends the account's sessions, so it starts afresh. Refused for
    the actor's own or the last head-office role, and for moving an inspector with
    assignments to a role that does not inspect."""
    guard_admin(session, actor, user, stays_admin=data.role == Role.ADMIN)
    if user.role in INSPECTING and data.role not in INSPECTING:
        count = assignments_of(session, user)
        if count:
            raise Refused("account_has_assignments", 409, username=user.username, count=count)
    old = values_of(user)
    new = {
        "display_name": data.display_name,
        "role": data.role.value,
        "agency_id": data.agency_id,
        "outlet_id": data.outlet_id,
        "sub_branch_id": data.sub_branch_id,
    }
    changes = {k: [old[k], v] for k, v in new.items() if old[k] != v}
    for key, value in new.items():
        setattr(user, key, value)
    session.flush()
    if set(changes) - {"display_name"}:
        end_sessions(session, user)
    return changes


def end_sessions(session: Session, user: User) -> int:
    """Delete every login session of the account: each browser is signed out on its next
    request. Returns how many there were."""
    result = session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def disable(session: Session, actor: User, user: User) -> int:
    """The account can no longer sign in and is signed out everywhere now; returns the
    sessions ended. Idempotent. Refused for oneself and the last head-office account."""
    if user.id == actor.id:
        raise Refused("account_self", 409)
    guard_admin(session, actor, user, stays_admin=False)
    user.active = False
    session.flush()
    return end_sessions(session, user)


def enable(session: Session, user: User) -> None:
    """The account may sign in again with its password. Idempotent."""
    user.active = True
    session.flush()


def reset_password(session: Session, user: User, password: str | None) -> tuple[str | None, int]:
    """A new password (typed, checked by the rule; or generated and returned) and every
    session ended. Returns (the generated password or None, the sessions ended)."""
    generated = None
    if password:
        try:
            clean_password(password, user.username)
        except FieldError as error:
            raise Invalid([Problem("password", error.code, error.params)]) from None
    else:
        password = generated = generate_password()
    user.set_password(password)
    session.flush()
    return generated, end_sessions(session, user)


def accounts(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def session_counts(session: Session) -> dict[int, int]:
    """Live login sessions per account (expired ones no longer sign anyone in)."""
    rows = session.execute(
        select(LoginSession.user_id, func.count())
        .where(LoginSession.expires_at > utcnow())
        .group_by(LoginSession.user_id)
    )
    return {key: count for key, count in rows}
