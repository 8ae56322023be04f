"""Plain page data for inspection templates: no ORM objects reach a template."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopper.db import utcnow
from shopper.i18n import localized
from shopper.inspections import service
from shopper.inspections.models import Answer, Inspection
from shopper.photos.models import Photo


def local(moment: datetime | None, zone: str) -> datetime | None:
    """Times are stored in UTC and shown in the outlet's own time zone."""
    return moment.astimezone(ZoneInfo(zone)) if moment else None


def photo_data(photo, zone: str) -> dict[str, Any]:
    return {
        "id": photo.id,
        "thumb": url_for("photos.file", sha256=photo.sha256, variant="thumb"),
        "full": url_for("photos.file", sha256=photo.sha256, variant="main"),
        "captured_at": local(photo.captured_at, zone),
        "uploaded_at": local(photo.uploaded_at, zone),
        "source": photo.source,  # "camera", "gallery" or None (not reported)
    }


def photo_json(photo) -> dict[str, Any]:
    data = photo_data(photo, "UTC")
    for key in ("captured_at", "uploaded_at"):
        data[key] = data[key].isoformat() if data[key] else None
    return data


def photos_by_item(session: Session, inspection: Inspection) -> dict[tuple[int, str], list[Photo]]:
    """The inspection's photos by (checklist version id, item code), oldest first."""
    grouped: dict[tuple[int, str], list[Photo]] = defaultdict(list)
    for photo in session.scalars(
        select(Photo).where(Photo.inspection_id == inspection.id).order_by(Photo.id)
    ):
        grouped[(photo.checklist_version_id, photo.item_code)].append(photo)
    return grouped


def header(inspection: Inspection) -> dict[str, Any]:
    zone = inspection.outlet.timezone
    return {
        "id": inspection.id,
        "outlet": inspection.outlet.name,
        "outlet_code": inspection.outlet.code,
        "sub_branch": inspection.outlet.sub_branch.name,
        "period": inspection.period.code,
        "mode": inspection.mode,
        "status": inspection.status,
        "inspector": inspection.inspector.display_name,
        "agency": inspection.inspector.agency.name if inspection.inspector.agency else "",
        "started_at": local(inspection.started_at, zone),
        "submitted_at": local(inspection.submitted_at, zone),
        "score": inspection.score,
        "band": inspection.band,
        "red_line_failed": inspection.red_line_failed,
        "earned": inspection.points_earned,
        "applicable": inspection.points_applicable,
    }


def checklists(session: Session, inspection: Inspection) -> list[dict[str, Any]]:
    """Every pinned checklist with its sections, items, answers and photos."""
    answers = {
        (a.checklist_version_id, a.item_code): a
        for a in session.scalars(select(Answer).where(Answer.inspection_id == inspection.id))
    }
    photo_map = photos_by_item(session, inspection)
    section_scores = {
        (s.checklist_version_id, s.section_code): s for s in inspection.section_scores
    }
    result = []
    for pin in service.pinned(inspection):
        version_id = pin.version.id
        sections = []
        for section in pin.checklist.sections:
            items = []
            for item in section.items:
                answer: Answer | None = answers.get((version_id, item.code))
                items.append(
                    {
                        "code": item.code,
                        "text": localized(item.text),
                        "guidance": localized(item.guidance),
                        "points": item.points,
                        "red_line": item.red_line,
                        "na_allowed": item.na_allowed,
                        "photo_required": item.photo_required_on_fail,
                        "result": answer.result if answer else None,
                        # "outlet" / "video": answered N/A at the start, not by the inspector
                        "preset": answer.na_reason if answer else None,
                        "note": answer.note if answer else "",
                        "updated_at": answer.updated_at if answer else None,
                        "photos": [
                            photo_data(p, inspection.outlet.timezone)
                            for p in photo_map.get((version_id, item.code), [])
                        ],
                    }
                )
            scored = section_scores.get((version_id, section.code))
            sections.append(
                {
                    "code": section.code,
                    "title": localized(section.title),
                    "items": items,
                    "earned": scored.earned if scored else None,
                    "applicable": scored.applicable if scored else None,
                    "score": scored.score if scored else None,
                }
            )
        result.append(
            {
                "version_id": version_id,
                "code": pin.checklist.code,
                "version": pin.version.version,
                "sha256": pin.version.sha256,
                "title": localized(pin.checklist.title),
                "sections": sections,
            }
        )
    return result


def fill_state(lists: list[dict[str, Any]]) -> dict[str, Any]:
    """The server's state of every answered item, for the phone to merge with its queue."""
    items: dict[str, Any] = {}
    for checklist in lists:
        for section in checklist["sections"]:
            for item in section["items"]:
                if not (item["result"] or item["photos"]):
                    continue
                items[f"{checklist['version_id']}:{item['code']}"] = {
                    "r": item["result"],
                    "n": item["note"],
                    "u": item["updated_at"].isoformat() if item["updated_at"] else None,
                    "p": [
                        {"id": p["id"], "thumb": p["thumb"], "full": p["full"]}
                        for p in item["photos"]
                    ],
                }
    return {"items": items, "rendered_at": utcnow().isoformat()}
