"""Photo evidence: validate → normalise → store by content hash → record.

Files are written (atomically) before the row that points at them; a photo
uploaded twice is one set of files; a retried upload (same client UUID) is one row.

Imports run one way: this module uses shopper.inspections, never the reverse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shopper.audit import service as audit
from shopper.auth.models import User
from shopper.inspections.models import Inspection
from shopper.inspections.service import find_item, lock_draft, visible_to
from shopper.photos import pipeline
from shopper.photos.models import Photo
from shopper.photos.storage import LocalStorage, Storage, photo_keys
from shopper.refusals import Refused

VARIANTS = ("main", "print", "thumb")
SOURCES = ("camera", "gallery")
_STATUS = {"too_large": 413, "too_many_pixels": 413, "not_an_image": 415, "unsupported_type": 415}
_FORMAT_NAMES = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "HEIF": "HEIC"}
# What the phone sends as captured_at: an ISO 8601 date and time, with or without an offset.
_CLIENT_MOMENT = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?"
)
_EARLIEST_CAPTURE = datetime(2000, 1, 1, tzinfo=UTC)
_CLOCK_SKEW = timedelta(days=1)  # a phone's clock may run ahead; more than a day is wrong


def init_storage(app: Flask) -> None:
    """The photo feature's per-process parts: the storage backend, and the gate that lets
    only PHOTO_LARGE_DECODES large photos decode at once."""
    app.extensions["shopper.storage"] = make_storage(app.config)
    app.extensions["shopper.decode_gate"] = pipeline.DecodeGate(
        app.config["PHOTO_LARGE_DECODES"],
        threshold=app.config["PHOTO_LARGE_DECODE_PIXELS"],
        timeout=app.config["PHOTO_DECODE_WAIT_SECONDS"],
    )


def make_storage(config: Mapping[str, Any]) -> Storage:
    """The S3 bucket when S3_BUCKET is set, else the files under STORAGE_DIR."""
    if config.get("S3_BUCKET"):
        from shopper.photos.s3 import S3Storage  # boto3 is imported only when it is used

        return S3Storage.from_config(dict(config))
    return LocalStorage(Path(config["STORAGE_DIR"]))


def storage() -> Storage:
    return current_app.extensions["shopper.storage"]


def decode_gate() -> pipeline.DecodeGate:
    return current_app.extensions["shopper.decode_gate"]


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
    captured_at: str | None = None,
    source: str | None = None,
    max_pixels: int = pipeline.MAX_PIXELS,
    max_pixels_by_format: Mapping[str, int] = pipeline.MAX_PIXELS_BY_FORMAT,
    gate: pipeline.DecodeGate | None = None,
) -> Photo:
    """Add a photo to an item of a draft inspection.

    The capture time is the file's EXIF DateTimeOriginal when it has one, else the phone's
    `captured_at` (ISO 8601; without an offset it is the outlet's local time), else unknown.
    `source` is "camera" or "gallery" as the phone reports it, or None.

    Idempotent per (inspector, `client_uuid`): a retry returns the photo already
    recorded (also when both arrive at once); the same UUID for another item is
    Refused("uuid_reused", 409).
    Raises Refused("photo_<reason>") for anything that is not a sound photo,
    Refused("photo_bad_captured_at") for a capture time that does not parse, lies more than
    a day ahead or before 2000, Refused("photo_bad_source") for another source, and
    Refused("photo_busy", 503) when too many large photos are being decoded; nothing is
    written then.
    """
    existing = _sent_before(session, inspector, client_uuid)
    if existing is not None:
        return _same_upload(existing, inspection, version_id, item_code)
    if inspection.submitted:
        raise Refused("already_submitted", 409)
    find_item(inspection, version_id, item_code)
    zone = ZoneInfo(inspection.outlet.timezone)
    client_captured_at = _client_capture_time(captured_at, zone)
    if source is not None and source not in SOURCES:
        raise Refused("photo_bad_source")
    processed = store_photo(
        store, data, max_pixels=max_pixels, max_pixels_by_format=max_pixels_by_format, gate=gate
    )
    # locked only now, so the slow decoding above holds no database lock
    lock_draft(session, inspection)
    taken = processed.captured_at or client_captured_at
    if taken is not None and taken.tzinfo is None:
        # EXIF without an offset is the phone's local time: the outlet's time zone
        taken = taken.replace(tzinfo=zone)
    photo = Photo(
        client_uuid=client_uuid,
        inspection_id=inspection.id,
        checklist_version_id=version_id,
        item_code=item_code,
        sha256=processed.sha256,
        width=processed.main.width,
        height=processed.main.height,
        source_format=processed.source_format,
        captured_at=taken.astimezone(UTC) if taken else None,
        source=source,
        uploaded_by_id=inspector.id,
    )
    try:
        with session.begin_nested():  # a savepoint: losing the race below leaves the rest
            session.add(photo)
            session.flush()
            audit.record(
                session,
                inspector,
                "photo.added",
                "inspection",
                inspection.id,
                {"photo": photo.id, "item": item_code, "sha256": processed.sha256},
            )
    except IntegrityError:
        # the same upload sent twice at once: its twin was recorded first; it is that photo
        twin = _sent_before(session, inspector, client_uuid)
        if twin is None:
            raise Refused("photo_conflict", 409) from None
        return _same_upload(twin, inspection, version_id, item_code)
    return photo


def _sent_before(session: Session, inspector: User, client_uuid: str) -> Photo | None:
    return session.scalar(
        select(Photo).where(Photo.uploaded_by_id == inspector.id, Photo.client_uuid == client_uuid)
    )


def _same_upload(existing: Photo, inspection: Inspection, version_id: int, code: str) -> Photo:
    """A photo already recorded under the upload's UUID: the retry's answer, unless the UUID
    was used for another item (Refused("uuid_reused", 409))."""
    same = (existing.inspection_id, existing.checklist_version_id, existing.item_code)
    if same != (inspection.id, version_id, code):
        raise Refused("uuid_reused", 409)
    return existing


def check_photo(
    data: bytes,
    *,
    max_pixels: int = pipeline.MAX_PIXELS,
    max_pixels_by_format: Mapping[str, int] = pipeline.MAX_PIXELS_BY_FORMAT,
    gate: pipeline.DecodeGate | None = None,
) -> pipeline.ProcessedPhoto:
    """Validate and normalise a photo (nothing is written). Raises Refused("photo_<reason>")
    or Refused("photo_busy", 503)."""
    try:
        return pipeline.process(
            data, max_pixels=max_pixels, max_pixels_by_format=max_pixels_by_format, gate=gate
        )
    except pipeline.PhotoRejected as exc:
        raise _refusal(exc) from exc
    except pipeline.DecodesBusy as exc:
        raise Refused("photo_busy", 503) from exc


def put_photo(store: Storage, processed: pipeline.ProcessedPhoto) -> None:
    """Write a checked photo's three renditions, before any row points at them."""
    keys = photo_keys(processed.sha256)
    for variant, rendition in zip(
        VARIANTS, (processed.main, processed.print_copy, processed.thumb), strict=True
    ):
        store.put(keys[variant], rendition.data)


def store_photo(store: Storage, data: bytes, **limits) -> pipeline.ProcessedPhoto:
    """check_photo, then put_photo: nothing is written for a refused photo."""
    processed = check_photo(data, **limits)
    put_photo(store, processed)
    return processed


def remove(session: Session, inspection: Inspection, photo_id: int) -> None:
    """Take a photo off a draft inspection. The file stays: others may share its hash."""
    lock_draft(session, inspection)
    photo = session.get(Photo, photo_id)
    if photo is None or photo.inspection_id != inspection.id:
        raise Refused("not_found", 404)
    session.delete(photo)
    session.flush()
    audit.record(
        session,
        inspection.inspector,
        "photo.removed",
        "inspection",
        inspection.id,
        {"photo": photo_id, "item": photo.item_code, "sha256": photo.sha256},
    )


def _client_capture_time(value: str | None, zone: ZoneInfo) -> datetime | None:
    """The phone's capture time, aware; None when not sent. Refused when it is not a date and
    time, or is absurd: more than a day ahead of our clock, or before 2000."""
    if not value:
        return None
    if not _CLIENT_MOMENT.fullmatch(value):
        raise Refused("photo_bad_captured_at")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:  # 2026-02-30 and the like
        raise Refused("photo_bad_captured_at") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if not _EARLIEST_CAPTURE <= moment <= datetime.now(UTC) + _CLOCK_SKEW:
        raise Refused("photo_bad_captured_at")
    return moment


def _refusal(exc: pipeline.PhotoRejected) -> Refused:
    if exc.reason == "too_many_pixels" and exc.limit and exc.source_format in _FORMAT_NAMES:
        return Refused(
            "photo_too_many_pixels_for_type",
            413,
            format=_FORMAT_NAMES[exc.source_format],
            megapixels=f"{exc.limit / 1_000_000:g}",
        )
    return Refused(f"photo_{exc.reason}", _STATUS.get(exc.reason, 400))


def may_view(session: Session, user: User, sha256: str) -> bool:
    """True when the photo belongs to at least one inspection the user may open."""
    query = (
        visible_to(user)
        .join(Photo, Photo.inspection_id == Inspection.id)
        .where(Photo.sha256 == sha256)
        .limit(1)
    )
    return session.scalar(query) is not None
