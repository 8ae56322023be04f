"""The audit trail: one append-only record per change of state, chained by SHA-256."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shopper.db import Base, utcnow

GENESIS = "0" * 64  # the "previous hash" of the first record


class AuditRecord(Base):
    """Who did what to which object, when, and what changed.

    Never updated or deleted (on PostgreSQL a trigger refuses both). `prev_hash` is the
    previous record's `hash`, and `hash` covers this record's content and `prev_hash`: an
    edited, inserted or removed record breaks the chain (`service.verify`).
    """

    __tablename__ = "audit_records"
    __table_args__ = (Index("ix_audit_records_object", "object_type", "object_id"),)

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # 1, 2, 3 …
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor: Mapped[str] = mapped_column(String(80))  # the username then, or "system"
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str] = mapped_column(String(64))
    changes: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's end, one row: taking its lock orders concurrent writers."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
