"""Plain page data for the notice screens: no ORM object reaches a template."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import url_for
from sqlalchemy.orm import Session

from shopper.auth.models import Role, User
from shopper.core import rectification as machine
from shopper.i18n import localized
from shopper.inspections import service as inspections
from shopper.inspections.models import Inspection
from shopper.inspections.pages import local
from shopper.notices import service
from shopper.notices.models import Finding, Kind, Notice


def _item_texts(inspection: Inspection) -> dict[tuple[int, str], dict[str, str]]:
    texts = {}
    for pin in inspections.pinned(inspection):
        for section in pin.checklist.sections:
            for item in section.items:
                texts[(pin.version.id, item.code)] = {
                    "text": localized(item.text),
                    "section": localized(section.title),
                    "guidance": localized(item.guidance),
                }
    return texts


def notice_row(session: Session, notice: Notice, today: date) -> dict[str, Any]:
    status = service.notice_status(session, notice)
    findings = service.findings_of(session, notice.inspection_id) if notice.inspection_id else []
    overdue = any(machine.is_overdue(f.status, f.deadline, today) for f in findings)
    zone = notice.outlet.timezone if notice.outlet else "Asia/Shanghai"
    return {
        "id": notice.id,
        "number": notice.number,
        "kind": notice.kind,
        "outlet": notice.outlet.name if notice.outlet else "",
        "sub_branch": notice.sub_branch.name,
        "period": notice.period.code if notice.period else "",
        "range": (
            f"{notice.range_start} – {notice.range_end}"
            if notice.range_start and not notice.period
            else ""
        ),
        "issued_at": local(notice.issued_at, zone),
        "deadline": notice.deadline,
        "status": status,
        "overdue": overdue and status not in ("closed", "superseded"),
        "open": sum(f.status not in machine.CLOSED for f in findings),
        "findings": len(findings),
        "inspection_id": notice.inspection_id,
    }


def _thumbs(response) -> list[dict[str, str]]:
    return [
        {
            "thumb": url_for("photos.file", sha256=p.sha256, variant="thumb"),
            "full": url_for("photos.file", sha256=p.sha256, variant="main"),
        }
        for p in response.photos
    ]


def finding_data(
    finding: Finding, texts: dict, user: User, today: date, zone: str, current: bool
) -> dict[str, Any]:
    text = texts.get((finding.checklist_version_id, finding.item_code), {})
    responses = []
    for r in finding.responses:
        responses.append(
            {
                "id": r.id,
                "kind": r.kind,
                "note": r.note,
                "by": r.by.display_name,
                "at": local(r.at, zone),
                "photos": _thumbs(r),
                "decision": r.decision,
                "reason": r.decision_reason,
                "decided_by": r.decided_by.display_name if r.decided_by else "",
                "decided_at": local(r.decided_at, zone),
                "comments": [
                    {"by": c.by.display_name, "at": local(c.at, zone), "text": c.text}
                    for c in r.comments
                ],
                "decisions": machine.DECISIONS[r.kind]
                if r.decision is None and user.role == Role.ADMIN
                else (),
                "may_comment": user.role == Role.SUB_BRANCH_MANAGER,
            }
        )
    return {
        "id": finding.id,
        "code": finding.item_code,
        "text": text.get("text", finding.item_code),
        "section": text.get("section", ""),
        "action": text.get("guidance", ""),
        "status": finding.status,
        "deadline": finding.deadline,
        "dispute_deadline": finding.dispute_deadline,
        "overdue": machine.is_overdue(finding.status, finding.deadline, today),
        "responses": responses,
        "may_answer": current and user.role == Role.OUTLET_MANAGER and finding.status == "open",
        "may_dispute": today <= finding.dispute_deadline,
    }


def notice_page(session: Session, notice: Notice, user: User) -> dict[str, Any]:
    zone = notice.outlet.timezone if notice.outlet else "Asia/Shanghai"
    today = service.local_today(zone)
    data = notice_row(session, notice, today)
    newer = service.successor(session, notice)
    data.update(
        supersedes=notice.supersedes.number if notice.supersedes else None,
        supersedes_id=notice.supersedes_id,
        superseded_by=newer.number if newer else None,
        superseded_by_id=newer.id if newer else None,
        sha256=notice.sha256,
        size=notice.size,
        acknowledged_at=local(notice.acknowledged_at, zone),
        may_acknowledge=(
            user.role == Role.OUTLET_MANAGER
            and notice.kind == Kind.OUTLET
            and notice.acknowledged_at is None
            and newer is None
        ),
        findings=[],
        revisions=[],
        timeline=[
            {
                "kind": e.kind,
                "by": e.user.display_name if e.user else "",
                "at": local(e.at, zone),
                "detail": e.detail,
            }
            for e in service.timeline(session, notice)
            # head office's check of the agency's report is not the outlet's business
            if user.role == Role.ADMIN or e.kind not in ("returned",)
        ],
    )
    if notice.inspection_id is not None:
        inspection = session.get(Inspection, notice.inspection_id)
        assert inspection is not None
        texts = _item_texts(inspection)
        data["findings"] = [
            finding_data(f, texts, user, today, zone, newer is None)
            for f in service.findings_of(session, inspection.id)
        ]
        data["score"] = inspection.score
        data["band"] = inspection.band
        data["revisions"] = [
            {
                "before": r.score_before,
                "after": r.score_after,
                "band_before": r.band_before,
                "band_after": r.band_after,
                "reason": r.reason,
                "by": r.decided_by.display_name,
                "at": local(r.at, zone),
            }
            for r in service.revisions_of(session, inspection.id)
        ]
    return data
