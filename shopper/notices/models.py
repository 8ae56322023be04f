"""Rectification notices, the findings they carry and the outlet's answers (整改台账).

A notice's PDF is stored by content hash before its row; a notice is never regenerated:
a correction is a reissue under a new number that names the notice it supersedes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopper.auth.models import User
from shopper.db import Base, utcnow
from shopper.org.models import Outlet, SubBranch
from shopper.periods.models import Period


class Kind(StrEnum):
    OUTLET = "outlet"  # 整改通知书, to the outlet
    SUB_BRANCH = "sub_branch"  # 检查整改书, to the sub-branch


class FindingStatus(StrEnum):
    OPEN = "open"  # waiting for the outlet's answer (again, after a rejection)
    ANSWERED = "answered"  # rectified, waiting for head office
    DISPUTED = "disputed"  # 申诉, waiting for head office
    ACCEPTED = "accepted"  # closed: the fix was accepted
    WITHDRAWN = "withdrawn"  # closed: a dispute was upheld


CLOSED = (FindingStatus.ACCEPTED, FindingStatus.WITHDRAWN)


class ResponseKind(StrEnum):
    RECTIFIED = "rectified"
    DISPUTED = "disputed"


class Decision(StrEnum):
    ACCEPTED = "accepted"  # a rectification is accepted
    REJECTED = "rejected"  # a rectification is not enough: answer again
    UPHELD = "upheld"  # a dispute is upheld: the finding is withdrawn
    DISMISSED = "dismissed"  # a dispute is dismissed: rectify


class NoticeCounter(Base):
    """The last number used per prefix (e.g. "ZG-2026Q4"): numbers are never reused."""

    __tablename__ = "notice_counters"

    prefix: Mapped[str] = mapped_column(String(30), primary_key=True)
    last: Mapped[int]


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (CheckConstraint("kind IN ('outlet', 'sub_branch')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    sub_branch_id: Mapped[int] = mapped_column(ForeignKey("sub_branches.id"), index=True)
    outlet_id: Mapped[int | None] = mapped_column(ForeignKey("outlets.id"), index=True)
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"), index=True)
    period_id: Mapped[int | None] = mapped_column(ForeignKey("periods.id"), index=True)
    # a sub-branch notice covers a period or any date range head office picks
    range_start: Mapped[date | None]
    range_end: Mapped[date | None]
    lang: Mapped[str] = mapped_column(String(10))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    deadline: Mapped[date | None]
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int]
    storage_key: Mapped[str] = mapped_column(String(200))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), unique=True)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]

    sub_branch: Mapped[SubBranch] = relationship()
    outlet: Mapped[Outlet | None] = relationship()
    period: Mapped[Period | None] = relationship()
    supersedes: Mapped[Notice | None] = relationship(
        remote_side="Notice.id", foreign_keys=[supersedes_id]
    )


class Finding(Base):
    """A failed item of a released inspection, until it is accepted or withdrawn."""

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("inspection_id", "checklist_version_id", "item_code"),
        CheckConstraint(
            "status IN ('open', 'answered', 'disputed', 'accepted', 'withdrawn')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), index=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"), index=True)
    checklist_version_id: Mapped[int] = mapped_column(ForeignKey("checklist_versions.id"))
    item_code: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(10), default=FindingStatus.OPEN, index=True)
    deadline: Mapped[date]
    dispute_deadline: Mapped[date]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    responses: Mapped[list[FindingResponse]] = relationship(
        order_by="FindingResponse.id", back_populates="finding"
    )


class FindingResponse(Base):
    """The outlet's answer to a finding (整改回执 or 申诉) and head office's decision."""

    __tablename__ = "finding_responses"
    __table_args__ = (
        CheckConstraint("kind IN ('rectified', 'disputed')", name="kind"),
        UniqueConstraint("by_id", "client_uuid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text)
    client_uuid: Mapped[str] = mapped_column(String(36))
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(10))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]

    finding: Mapped[Finding] = relationship(back_populates="responses")
    by: Mapped[User] = relationship(foreign_keys=[by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    photos: Mapped[list[ResponsePhoto]] = relationship(order_by="ResponsePhoto.id")
    comments: Mapped[list[ResponseComment]] = relationship(order_by="ResponseComment.id")


class ResponsePhoto(Base):
    """Evidence of a fix or of a dispute; files in storage by hash, like inspection photos."""

    __tablename__ = "response_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("finding_responses.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    width: Mapped[int]
    height: Mapped[int]
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ResponseComment(Base):
    """The sub-branch's supervision: a comment on an outlet's answer."""

    __tablename__ = "response_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("finding_responses.id"), index=True)
    by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(Text)

    by: Mapped[User] = relationship()


class NoticeEvent(Base):
    """The timeline of a notice and its inspection: who did what, when."""

    __tablename__ = "notice_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"), index=True)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), index=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"))
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User | None] = relationship()


class ScoreRevision(Base):
    """An upheld dispute revises a released score; the original stays beside it."""

    __tablename__ = "score_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), index=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"))
    score_before: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    band_before: Mapped[str | None] = mapped_column(String(30))
    score_after: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    band_after: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    decided_by: Mapped[User] = relationship()
