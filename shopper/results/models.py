"""Stored results: what rankings and weak indicators read, kept up to date on every release
and revision so that pages are queries over indexed columns, not recomputations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from shopper.db import Base, utcnow
from shopper.inspections.models import Inspection


class OutletResult(Base):
    """One outlet's released inspections in one period, as sums (means stay exact)."""

    __tablename__ = "outlet_results"
    __table_args__ = (Index("ix_outlet_results_sub_branch_period", "sub_branch_id", "period_id"),)

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), primary_key=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"), primary_key=True, index=True)
    # the outlet's sub-branch when this was recorded
    sub_branch_id: Mapped[int] = mapped_column(ForeignKey("sub_branches.id"))
    mystery_sum: Mapped[Decimal] = mapped_column(Numeric(9, 1))
    mystery_count: Mapped[int]
    mystery_red_line: Mapped[bool]
    video_sum: Mapped[Decimal] = mapped_column(Numeric(9, 1))
    video_count: Mapped[int]
    video_red_line: Mapped[bool]
    reinspection: Mapped[bool]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemResult(Base):
    """How often an item (by its stable code) applied and failed in a sub-branch's released
    inspections of one kind in a period; a finding withdrawn on dispute counts as passed."""

    __tablename__ = "item_results"

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), primary_key=True)
    sub_branch_id: Mapped[int] = mapped_column(ForeignKey("sub_branches.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # mystery | video
    checklist_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    item_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    applied: Mapped[int]
    failed: Mapped[int]


class FrozenResult(Base):
    """A closed period's rankings as they stood when it closed (plain data, JSON)."""

    __tablename__ = "frozen_results"

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), primary_key=True)
    frozen_at: Mapped[datetime] = mapped_column(default=utcnow)
    video_weight: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    # [[outlet_id, sub_branch_id, rank, score, band, red_line, reinspection, mystery_count,
    #   video_count], ...] and [[sub_branch_id, rank, score, band, outlets, red_lines], ...]
    outlets: Mapped[list] = mapped_column(JSON)
    sub_branches: Mapped[list] = mapped_column(JSON)


# what the results' own queries filter inspections by (record, rebuild, the baseline)
Index(
    "ix_inspections_period_status_mode",
    Inspection.period_id,
    Inspection.status,
    Inspection.mode,
)
