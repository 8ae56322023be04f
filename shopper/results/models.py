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
    __table_args__ = (
        Index("ix_outlet_results_sub_branch_period", "sub_branch_id", "period_id"),
        Index("ix_outlet_results_rank", "period_id", "band_order", "score"),
    )

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
    # the ranking score and band from the sums (shopper.core.ranking.outlet_score) with the
    # configured video weight and bands; None when it had no released mystery visit
    score: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    band: Mapped[str | None] = mapped_column(String(30))
    band_order: Mapped[int | None]  # the band's place, best first: what ranks sort by first
    red_line: Mapped[bool]  # a counted inspection failed a red line
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
    """A closed period's rankings as they stood when it closed: this row, the sub-branches
    (plain data, JSON) and one FrozenOutlet per ranked outlet."""

    __tablename__ = "frozen_results"

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), primary_key=True)
    frozen_at: Mapped[datetime] = mapped_column(default=utcnow)
    video_weight: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    # [[sub_branch_id, rank, score, band, outlets, red_lines, review], ...]
    sub_branches: Mapped[list] = mapped_column(JSON)


class FrozenOutlet(Base):
    """One outlet's place in a closed period's frozen ranking."""

    __tablename__ = "frozen_outlets"
    __table_args__ = (Index("ix_frozen_outlets_rank", "period_id", "rank"),)

    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), primary_key=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"), primary_key=True)
    sub_branch_id: Mapped[int] = mapped_column(ForeignKey("sub_branches.id"))
    rank: Mapped[int]
    score: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    band: Mapped[str] = mapped_column(String(30))
    band_order: Mapped[int]
    red_line: Mapped[bool]
    reinspection: Mapped[bool]
    mystery_count: Mapped[int]
    video_count: Mapped[int]


# what the results' own queries filter inspections by (record, rebuild, the baseline)
Index(
    "ix_inspections_period_status_mode",
    Inspection.period_id,
    Inspection.status,
    Inspection.mode,
)
