"""Photo evidence: validate → normalise → store by content hash → record.

Files are written (atomically) before the row that points at them; a photo
uploaded twice is one set of files; a retried upload (same client UUID) is one row.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopper.auth.models import User
from shopper.inspections.models import Inspection
from shopper.inspections.service import find_item, lock_draft, visible_to
from shopper.photos import pipeline
from shopper.photos.models import Photo
from shopper.photos.storage import LocalStorage, Storage, photo_keys
from shopper.refusals import Refused

VARIANTS = ("main", "print", "thumb")
_STATUS = {"too_large": 413, "not_an_image": 415, "unsupported_type": 415}


def init_storage(app: Flask) -> None:
    app.extensions["shopper.storage"] = LocalStorage(Path(app.config["STORAGE_DIR"]))


def storage() -> Storage:
    return current_app.extensions["shopper.storage"]


def attach(
    session: Session,
    store: Storage,
    inspector: User,
    inspection: Inspection,
    *,
    version_id: int,
    item_code: str,
    data: bytes,
    client_uuid: str,
    max_pixels: int = pipeline.MAX_PIXELS,
) -> Photo:
    """Add a photo to an item of a draft inspection.

    Idempotent per (inspector, `client_uuid`): a retry returns the photo already
    recorded; the same UUID for another item is Refused("uuid_reused", 409).
    Raises Refused("photo_<reason>") for anything that is not a sound photo;
    nothing is written then.
    """
    existing = session.scalar(
        select(Photo).where(Photo.uploaded_by_id == inspector.id, Photo.client_uuid == client_uuid)
    )
    if existing is not None:
        same = (existing.inspection_id, existing.checklist_version_id, existing.item_code)
        if same != (inspection.id, version_id, item_code):
            raise Refused("uuid_reused", 409)
        return existing
    if inspection.submitted:
        raise Refused("already_submitted", 409)
    find_item(inspection, version_id, item_code)
    try:
        processed = pipeline.process(data, max_pixels=max_pixels)
    except pipeline.PhotoRejected as exc:
        raise Refused(f"photo_{exc.reason}", _STATUS.get(exc.reason, 400)) from exc
    keys = photo_keys(processed.sha256)
    for variant, rendition in zip(
        VARIANTS, (processed.main, processed.print_copy, processed.thumb), strict=True
    ):
        store.put(keys[variant], rendition.data)
    # locked only now, so the slow decoding above holds no database lock
    lock_draft(session, inspection)
    captured_at = processed.captured_at
    if captured_at is not None and captured_at.tzinfo is None:
        # EXIF without an offset is the phone's local time: the outlet's time zone
        captured_at = captured_at.replace(tzinfo=ZoneInfo(inspection.outlet.timezone))
    photo = Photo(
        client_uuid=client_uuid,
        inspection_id=inspection.id,
        checklist_version_id=version_id,
        item_code=item_code,
        sha256=processed.sha256,
        width=processed.main.width,
        height=processed.main.height,
        source_format=processed.source_format,
        captured_at=captured_at.astimezone(UTC) if captured_at else None,
        uploaded_by_id=inspector.id,
    )
    session.add(photo)
    session.flush()
    return photo


def remove(session: Session, inspection: Inspection, photo_id: int) -> None:
    """Take a photo off a draft inspection. The file stays: others may share its hash."""
    lock_draft(session, inspection)
    photo = session.get(Photo, photo_id)
    if photo is None or photo.inspection_id != inspection.id:
        raise Refused("not_found", 404)
    session.delete(photo)
    session.flush()


def by_item(session: Session, inspection: Inspection) -> dict[tuple[int, str], list[Photo]]:
    grouped: dict[tuple[int, str], list[Photo]] = defaultdict(list)
    for photo in session.scalars(
        select(Photo).where(Photo.inspection_id == inspection.id).order_by(Photo.id)
    ):
        grouped[(photo.checklist_version_id, photo.item_code)].append(photo)
    return grouped


def may_view(session: Session, user: User, sha256: str) -> bool:
    """True when the photo belongs to at least one inspection the user may open."""
    query = (
        visible_to(user)
        .join(Photo, Photo.inspection_id == Inspection.id)
        .where(Photo.sha256 == sha256)
        .limit(1)
    )
    return session.scalar(query) is not None
