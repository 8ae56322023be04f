"""Rows as the API shows them: plain dicts for the response schemas to dump."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shopper.api.service import NoticeView
from shopper.inspections import service as inspections
from shopper.inspections.models import Inspection

VISIT_FIELDS = (
    "arrived_at",
    "departed_at",
    "ticket_at",
    "called_at",
    "customers_waiting",
    "windows_open",
    "windows_total",
    "business",
    "teller_window",
    "teller_badge",
    "checkin_band",
)


def inspection(row: Inspection, changed_at: datetime) -> dict[str, Any]:
    """An inspection with its visit record, section scores and answers, in checklist order."""
    order: dict[tuple[int, str], int] = {}
    for pin in inspections.pinned(row):
        for item in pin.checklist.items:
            order.setdefault((pin.version.id, item.code), len(order))
    answers = sorted(
        row.answers,
        key=lambda a: (order.get((a.checklist_version_id, a.item_code), len(order)), a.id),
    )
    return {
        "id": row.id,
        "period_id": row.period_id,
        "period_code": row.period.code,
        "outlet_id": row.outlet_id,
        "outlet_code": row.outlet.code,
        "sub_branch_id": row.outlet.sub_branch_id,
        "mode": row.mode,
        "status": row.status,
        "started_at": row.started_at,
        "submitted_at": row.submitted_at,
        "released_at": row.released_at,
        "changed_at": changed_at,
        "score": row.score,
        "band": row.band,
        "red_line_failed": row.red_line_failed,
        "points_earned": row.points_earned,
        "points_applicable": row.points_applicable,
        "checklist_version_ids": [c.checklist_version_id for c in row.checklists],
        "visit": {name: getattr(row, name) for name in VISIT_FIELDS},
        "section_scores": sorted(
            row.section_scores, key=lambda s: (s.checklist_version_id, s.section_code)
        ),
        "answers": answers,
    }


def notice(view: NoticeView) -> dict[str, Any]:
    n = view.notice
    return {
        "id": n.id,
        "number": n.number,
        "kind": n.kind,
        "status": view.status,
        "sub_branch_id": n.sub_branch_id,
        "outlet_id": n.outlet_id,
        "inspection_id": n.inspection_id,
        "period_id": n.period_id,
        "range_start": n.range_start,
        "range_end": n.range_end,
        "issued_at": n.issued_at,
        "deadline": n.deadline,
        "sha256": n.sha256,
        "supersedes_id": n.supersedes_id,
        "superseded_by_id": view.superseded_by_id,
        "acknowledged_at": n.acknowledged_at,
        "closed_at": n.closed_at,
        "findings": view.findings,
    }
