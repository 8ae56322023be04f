"""Inspections, the checklist versions they pin, answers and stored scores."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopper.auth.models import User
from shopper.checklists.models import ChecklistVersion
from shopper.db import Base, utcnow
from shopper.org.models import Outlet
from shopper.periods.models import Assignment, Period

MAX_NOTE = 2000


class Mode(StrEnum):
    ON_SITE = "on_site"
    VIDEO = "video"


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"  # waiting for head office's check
    RELEASED = "released"  # checked: visible to the outlet, counts in results


class Inspection(Base):
    __tablename__ = "inspections"
    __table_args__ = (
        CheckConstraint("mode IN ('on_site', 'video')", name="mode"),
        CheckConstraint("status IN ('draft', 'submitted', 'released')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), unique=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    mode: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=Status.DRAFT)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    # stored at submission so rankings are queries, not recomputations
    score: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    band: Mapped[str | None] = mapped_column(String(30), index=True)
    red_line_failed: Mapped[bool | None]
    points_earned: Mapped[Decimal | None] = mapped_column(Numeric(7, 1))
    points_applicable: Mapped[Decimal | None] = mapped_column(Numeric(7, 1))
    # the visit record: what a paper scoresheet has (all optional until submission)
    arrived_at: Mapped[datetime | None]
    departed_at: Mapped[datetime | None]
    ticket_at: Mapped[datetime | None]  # the queue ticket's time
    called_at: Mapped[datetime | None]  # when that ticket was called: the waiting time
    customers_waiting: Mapped[int | None]
    windows_open: Mapped[int | None]
    windows_total: Mapped[int | None]
    business: Mapped[str | None] = mapped_column(String(200))
    # the teller items are about one window and one member of staff: kept as data
    teller_window: Mapped[str | None] = mapped_column(String(20))
    teller_badge: Mapped[str | None] = mapped_column(String(20))
    # proof of the visit: only a distance band is kept, never the phone's coordinates
    checkin_band: Mapped[str | None] = mapped_column(String(10))
    checkin_at: Mapped[datetime | None]
    attested_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    assignment: Mapped[Assignment] = relationship()
    period: Mapped[Period] = relationship()
    outlet: Mapped[Outlet] = relationship()
    inspector: Mapped[User] = relationship(foreign_keys=[inspector_id])
    checklists: Mapped[list[InspectionChecklist]] = relationship(
        order_by="InspectionChecklist.position", cascade="all, delete-orphan"
    )
    answers: Mapped[list[Answer]] = relationship(cascade="all, delete-orphan")
    section_scores: Mapped[list[SectionScore]] = relationship(cascade="all, delete-orphan")

    submissions: Mapped[list[Submission]] = relationship(
        order_by="Submission.n", cascade="all, delete-orphan"
    )

    @property
    def submitted(self) -> bool:
        """Frozen: submitted and waiting for the check, or released."""
        return self.status in (Status.SUBMITTED, Status.RELEASED)

    @property
    def released(self) -> bool:
        return self.status == Status.RELEASED


class Submission(Base):
    """Each time the inspector submitted, with its score; a return to the inspector keeps it."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("inspection_id", "n"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), index=True)
    n: Mapped[int]
    submitted_at: Mapped[datetime]
    score: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    band: Mapped[str | None] = mapped_column(String(30))
    red_line_failed: Mapped[bool | None]
    returned_at: Mapped[datetime | None]
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    return_reason: Mapped[str | None] = mapped_column(Text)

    returned_by: Mapped[User | None] = relationship()


class InspectionChecklist(Base):
    """The exact checklist version an inspection uses, fixed when it starts."""

    __tablename__ = "inspection_checklists"

    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), primary_key=True)
    checklist_version_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_versions.id"), primary_key=True
    )
    position: Mapped[int]

    version: Mapped[ChecklistVersion] = relationship()


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("inspection_id", "checklist_version_id", "item_code"),
        ForeignKeyConstraint(
            ["inspection_id", "checklist_version_id"],
            ["inspection_checklists.inspection_id", "inspection_checklists.checklist_version_id"],
        ),
        CheckConstraint("result IN ('pass', 'fail', 'na')", name="result"),
        CheckConstraint("na_reason IN ('outlet', 'video')", name="na_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), index=True)
    checklist_version_id: Mapped[int] = mapped_column(ForeignKey("checklist_versions.id"))
    item_code: Mapped[str] = mapped_column(String(40))
    result: Mapped[str] = mapped_column(String(4))
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # when the phone made the change: two phones answering one item, the latest wins
    changed_at: Mapped[datetime | None]
    # set when the start answered it N/A (the outlet lacks a feature it needs, or a video
    # check cannot judge it): not the inspector's answer, and not theirs to change
    na_reason: Mapped[str | None] = mapped_column(String(10))


class AnswerConflict(Base):
    """A write that lost to a later change of the same item (made on another phone)."""

    __tablename__ = "answer_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), index=True)
    checklist_version_id: Mapped[int] = mapped_column(ForeignKey("checklist_versions.id"))
    item_code: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    client_uuid: Mapped[str] = mapped_column(String(36))
    lost_result: Mapped[str | None] = mapped_column(String(4))
    lost_note: Mapped[str | None] = mapped_column(Text)
    lost_changed_at: Mapped[datetime | None]
    kept_result: Mapped[str] = mapped_column(String(4))
    kept_note: Mapped[str] = mapped_column(Text)
    kept_changed_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class SectionScore(Base):
    __tablename__ = "section_scores"

    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), primary_key=True)
    checklist_version_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_versions.id"), primary_key=True
    )
    section_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    earned: Mapped[Decimal] = mapped_column(Numeric(7, 1))
    applicable: Mapped[Decimal] = mapped_column(Numeric(7, 1))
    score: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))


class ClientWrite(Base):
    """Every write a phone makes carries a UUID; one seen before is not applied again.

    The fingerprint is a hash of what the write asked for, so a UUID reused for a
    different write is refused rather than silently ignored.
    """

    __tablename__ = "client_writes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
