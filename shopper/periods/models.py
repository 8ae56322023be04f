"""Inspection periods and who inspects which outlet in them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopper.auth.models import User
from shopper.checklists.models import ChecklistVersion
from shopper.db import Base
from shopper.org.models import Outlet


class PeriodState(StrEnum):
    PLANNED = "planned"  # being planned: its assignments are not shown to inspectors yet
    OPEN = "open"  # inspectors work in it
    CLOSED = "closed"  # over: its results are frozen


class Period(Base):
    __tablename__ = "periods"
    __table_args__ = (CheckConstraint("state IN ('planned', 'open', 'closed')", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # e.g. 2026Q4
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    # the open period the inspectors' phones show
    is_current: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(
        String(10), default=PeriodState.PLANNED, server_default=PeriodState.PLANNED
    )
    opened_at: Mapped[datetime | None]
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # opened although its plan broke a rule: why, in head office's words
    override_reason: Mapped[str | None] = mapped_column(Text)
    # the programme's thresholds where this period differs from the configured defaults
    coverage_share: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    video_checks_per_outlet: Mapped[int | None]
    reinspection_below: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))

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


class AssignmentKind(StrEnum):
    MYSTERY = "mystery"  # an agency's mystery-shopper visit
    VIDEO = "video"  # a bank checker's video check


class Assignment(Base):
    """An inspector is sent to an outlet in a period.

    An outlet may have several in a period (a mystery visit, two or more video checks);
    `seq` tells apart two checks of one outlet by the same checker.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("period_id", "outlet_id", "inspector_id", "kind", "seq"),
        CheckConstraint("kind IN ('mystery', 'video')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # by period: the unique constraint's index, which begins with period_id
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(
        String(10), default=AssignmentKind.MYSTERY, server_default=AssignmentKind.MYSTERY
    )
    # the outlet scored under the threshold last period: this visit re-inspects it
    reinspection: Mapped[bool] = mapped_column(default=False, server_default=false())
    seq: Mapped[int] = mapped_column(default=1, server_default="1")

    period: Mapped[Period] = relationship()
    outlet: Mapped[Outlet] = relationship()
    inspector: Mapped[User] = relationship()
