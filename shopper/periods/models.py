"""Inspection periods and who inspects which outlet in them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopper.auth.models import User
from shopper.checklists.models import ChecklistVersion
from shopper.db import Base
from shopper.org.models import Outlet


class Period(Base):
    __tablename__ = "periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # e.g. 2026Q4
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    is_current: Mapped[bool] = mapped_column(default=False)

    checklists: Mapped[list[PeriodChecklist]] = relationship(
        order_by="PeriodChecklist.position", cascade="all, delete-orphan"
    )


class PeriodChecklist(Base):
    """The checklist versions a period's inspections pin when they start."""

    __tablename__ = "period_checklists"

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), primary_key=True)
    checklist_version_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_versions.id"), primary_key=True, index=True
    )
    position: Mapped[int]

    version: Mapped[ChecklistVersion] = relationship()


class Assignment(Base):
    """An inspector is sent to an outlet in a period."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("period_id", "outlet_id", "inspector_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    period: Mapped[Period] = relationship()
    outlet: Mapped[Outlet] = relationship()
    inspector: Mapped[User] = relationship()
