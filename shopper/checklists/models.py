"""Published checklist versions: immutable content with its SHA-256."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

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

    def checklist(self) -> core.Checklist:
        return _parsed(self.sha256, self.content)


_cache: dict[str, core.Checklist] = {}


def _parsed(sha256: str, content: str) -> core.Checklist:
    # published content is immutable, so its parse can be kept by hash
    if sha256 not in _cache:
        _cache[sha256] = core.from_canonical(content)
    return _cache[sha256]
