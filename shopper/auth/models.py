"""Accounts, roles and server-side login sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from shopper.db import Base, utcnow
from shopper.org.models import Agency, Outlet, SubBranch


class Role(StrEnum):
    ADMIN = "admin"  # head office
    INSPECTOR = "inspector"  # third-party agency
    OUTLET_MANAGER = "outlet_manager"
    SUB_BRANCH_MANAGER = "sub_branch_manager"
    # bank staff who do video checks: head office's (no sub-branch) or one sub-branch's
    BANK_CHECKER = "bank_checker"


# the roles that inspect outlets (the phone's screens)
INSPECTING = (Role.INSPECTOR, Role.BANK_CHECKER)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "(role = 'inspector') = (agency_id IS NOT NULL)"
            " AND (role = 'outlet_manager') = (outlet_id IS NOT NULL)"
            " AND (role <> 'sub_branch_manager' OR sub_branch_id IS NOT NULL)"
            " AND (sub_branch_id IS NULL OR role IN ('sub_branch_manager', 'bank_checker'))",
            name="role_scope",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(default=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"))
    sub_branch_id: Mapped[int | None] = mapped_column(ForeignKey("sub_branches.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agency: Mapped[Agency | None] = relationship()
    outlet: Mapped[Outlet | None] = relationship()
    sub_branch: Mapped[SubBranch | None] = relationship()

    # the login session this object was loaded through (see shopper.auth.service)
    session_token = None  # type: str | None

    def set_password(self, password: str, method: str = "scrypt") -> None:
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return self.session_token is not None

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.session_token


class LoginSession(Base):
    """One row per signed-in browser; deleting it ends that session everywhere."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    user: Mapped[User] = relationship()
