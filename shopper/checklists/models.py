"""Published checklist versions: immutable content with its SHA-256."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shopper.core import checklist as core
from shopper.db import Base, utcnow


class ChecklistVersion(Base):
    __tablename__ = "checklist_versions"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int]
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)  # canonical JSON, never edited
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # a reverted file repeats one
    source: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # withdrawn: no longer offered to new periods; never deleted, so its codes stay taken
    withdrawn_at: Mapped[datetime | None]

    def checklist(self) -> core.Checklist:
        return _parsed(self.sha256, self.content)


class ChecklistDraft(Base):
    """Head office's work in progress on the next version: plain data, valid or not yet.

    Saved as it is typed; `revision` counts saves, so a second open tab cannot
    silently overwrite the first one's work.
    """

    __tablename__ = "checklist_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_versions.id"))
    data: Mapped[str] = mapped_column(Text)  # JSON in the file format's shape
    revision: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    based_on: Mapped[ChecklistVersion | None] = relationship()


_cache: dict[str, core.Checklist] = {}


def _parsed(sha256: str, content: str) -> core.Checklist:
    # published content is immutable, so its parse can be kept by hash
    if sha256 not in _cache:
        _cache[sha256] = core.from_canonical(content)
    return _cache[sha256]
