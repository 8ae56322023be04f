"""Photo evidence attached to an inspection's item; the files live in storage by hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shopper.db import Base, utcnow


class Photo(Base):
    __tablename__ = "photos"
    __table_args__ = (
        UniqueConstraint("uploaded_by_id", "client_uuid"),
        ForeignKeyConstraint(
            ["inspection_id", "checklist_version_id"],
            ["inspection_checklists.inspection_id", "inspection_checklists.checklist_version_id"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[str] = mapped_column(String(36))
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspections.id"), index=True)
    checklist_version_id: Mapped[int] = mapped_column(ForeignKey("checklist_versions.id"))
    item_code: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    width: Mapped[int]
    height: Mapped[int]
    source_format: Mapped[str] = mapped_column(String(10))
    captured_at: Mapped[datetime | None]
    # "camera" or "gallery" as the phone reported it; None when unknown (no JavaScript)
    source: Mapped[str | None] = mapped_column(String(10))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
