"""The visit record (what a paper scoresheet has) and the proof of the visit.

The record: arrival and departure, the queue ticket and when it was called, customers
waiting, windows open of all windows, the business transacted, and the teller's window
and badge number (the teller-seven-steps items are about that one person). The proof: an
optional check-in from the phone's location, of which only a distance band is kept, and
flags on photos taken outside the visit or picked from the gallery (shown to head office).

Functions take the database session, `flush()` and never commit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopper.auth.models import User
from shopper.core import geo
from shopper.db import utcnow
from shopper.inspections.models import ClientWrite, Inspection, Mode
from shopper.inspections.service import fingerprint, lock_draft, seen_write
from shopper.photos.models import Photo
from shopper.refusals import Refused

TIME_FIELDS = ("arrived_at", "departed_at", "ticket_at", "called_at")
COUNT_LIMITS = {"customers_waiting": 999, "windows_open": 99, "windows_total": 99}
TEXT_LIMITS = {"business": 200, "teller_window": 20, "teller_badge": 20}
FIELDS = TIME_FIELDS + tuple(COUNT_LIMITS) + tuple(TEXT_LIMITS)
# the phone's clock and the server's may differ a little; a visit is never in the future
CLOCK_SLACK = timedelta(minutes=5)
# a photo taken just before walking in or just after leaving still belongs to the visit
PHOTO_MARGIN = timedelta(minutes=15)
UNKNOWN = "unknown"  # checked in, but the outlet's location is not on file
TELLER_CHECKLIST = "teller_seven_steps"  # its items are about one window, one member of staff

_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?$")
_COUNT = re.compile(r"^[+-]?\d{1,6}$")


def visit_day(inspection: Inspection) -> date:
    """The day the times of the visit are on: the day, at the outlet, the inspection began."""
    return inspection.started_at.astimezone(ZoneInfo(inspection.outlet.timezone)).date()


def _time(value: str, day: date, zone: str) -> datetime:
    match = _TIME.match(value)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise Refused("visit_bad_time", 400)
    local = datetime.combine(day, time(int(match[1]), int(match[2])), tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC)


def _count(name: str, value: str) -> int:
    if not _COUNT.match(value):
        raise Refused("visit_bad_count", 400)
    number = int(value)
    limit = COUNT_LIMITS[name]
    if not 0 <= number <= limit:
        code = "visit_customers_range" if name == "customers_waiting" else "visit_windows_range"
        raise Refused(code, 400, limit=limit)
    return number


def _text(name: str, value: str) -> str:
    limit = TEXT_LIMITS[name]
    if len(value) > limit:
        code = "visit_business_too_long" if name == "business" else "visit_number_too_long"
        raise Refused(code, 400, limit=limit)
    return value


def _validated(inspection: Inspection, given: Mapping[str, str], now: datetime) -> dict[str, Any]:
    """The new values of the given fields; Refused for the first rule they break."""
    day, zone = visit_day(inspection), inspection.outlet.timezone
    values: dict[str, Any] = {}
    for name, raw in given.items():
        if not raw:
            values[name] = None  # an empty field clears what was recorded
        elif name in TIME_FIELDS:
            values[name] = _time(raw, day, zone)
        elif name in COUNT_LIMITS:
            values[name] = _count(name, raw)
        else:
            values[name] = _text(name, raw)
    merged = {name: values.get(name, getattr(inspection, name)) for name in FIELDS}
    times = [merged[name] for name in TIME_FIELDS if merged[name] is not None]
    if any(moment > now + CLOCK_SLACK for moment in times):
        raise Refused("visit_time_future", 400)
    arrived, departed = merged["arrived_at"], merged["departed_at"]
    ticket, called = merged["ticket_at"], merged["called_at"]
    if arrived and departed and departed <= arrived:
        raise Refused("visit_departure_order", 400)
    if ticket and called and called < ticket:
        raise Refused("visit_called_order", 400)
    queue = [moment for moment in (ticket, called) if moment]
    if (arrived and any(m < arrived for m in queue)) or (
        departed and any(m > departed for m in queue)
    ):
        raise Refused("visit_queue_outside", 400)
    open_, total = merged["windows_open"], merged["windows_total"]
    if open_ is not None and total is not None and open_ > total:
        raise Refused("visit_windows_open", 400)
    return values


def save_visit(
    session: Session,
    inspector: User,
    inspection: Inspection,
    fields: Mapping[str, str | None],
    client_uuid: str,
    *,
    now: datetime | None = None,
) -> bool:
    """Record the visit's facts on a draft inspection. Returns False for a retried write.

    `fields` maps field names (see FIELDS) to what the inspector typed: times as HH:MM on
    the visit's day in the outlet's time zone, counts as whole numbers, "" to clear a
    field; a field not given is left as it is. Idempotent per `client_uuid`.
    Raises Refused("visit_…", 400) for a value or an order of times the rules refuse,
    Refused("already_submitted", 409) once submitted; nothing is written then.
    """
    given = {name: (fields[name] or "").strip() for name in FIELDS if name in fields}
    print_ = fingerprint("visit", inspection.id, given)
    if seen_write(session, inspector, client_uuid, print_):
        return False
    lock_draft(session, inspection)
    values = _validated(inspection, given, now or utcnow())
    session.add(
        ClientWrite(user_id=inspector.id, uuid=client_uuid, kind="visit", fingerprint=print_)
    )
    for name, value in values.items():
        setattr(inspection, name, value)
    session.flush()
    return True


def outlet_point(latitude: Decimal | None, longitude: Decimal | None) -> geo.Point | None:
    if latitude is None or longitude is None:
        return None
    return geo.Point(float(latitude), float(longitude))


def check_in(
    session: Session,
    inspector: User,
    inspection: Inspection,
    *,
    latitude: str,
    longitude: str,
    accuracy: str,
    client_uuid: str,
    near_metres: float,
) -> str:
    """Compare the phone's position with the outlet's; keep only the band and the time.

    Returns the band now on record: "near", "far", or "unknown" (the outlet's location is
    not on file). A "near" check-in proves the visit and is kept; until then each check-in
    replaces the last. The coordinates are never stored, not even in the write's
    fingerprint. Idempotent per `client_uuid`. Raises Refused("checkin_video", 409) for a
    video inspection, Refused("bad_coordinates", 400) for a position that is not one.
    """
    if inspection.mode != Mode.ON_SITE:
        raise Refused("checkin_video", 409)
    try:
        phone = geo.parse_point(latitude, longitude)
        geo.parse_accuracy(accuracy)
    except ValueError as exc:
        raise Refused("bad_coordinates", 400) from exc
    outlet = inspection.outlet
    found = geo.band(phone, outlet_point(outlet.latitude, outlet.longitude), near_metres)
    band = found.value if found else UNKNOWN
    print_ = fingerprint("checkin", inspection.id, band)
    if seen_write(session, inspector, client_uuid, print_):
        return inspection.checkin_band or band
    lock_draft(session, inspection)
    session.add(
        ClientWrite(user_id=inspector.id, uuid=client_uuid, kind="checkin", fingerprint=print_)
    )
    if inspection.checkin_band != geo.Band.NEAR:
        inspection.checkin_band = band
        inspection.checkin_at = utcnow()
    session.flush()
    return inspection.checkin_band or band


def _minutes(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds() // 60)


def visit_data(inspection: Inspection) -> dict[str, Any]:
    """The visit record as plain data: input values as strings ("HH:MM", "3", ""), the
    waiting time and the visit's length in minutes, and the check-in band."""
    zone = ZoneInfo(inspection.outlet.timezone)

    def hhmm(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%H:%M") if moment else ""

    data: dict[str, Any] = {name: hhmm(getattr(inspection, name)) for name in TIME_FIELDS}
    for name in COUNT_LIMITS:
        value = getattr(inspection, name)
        data[name] = "" if value is None else str(value)
    for name in TEXT_LIMITS:
        data[name] = getattr(inspection, name) or ""
    data.update(
        day=visit_day(inspection).isoformat(),
        waiting_minutes=_minutes(inspection.ticket_at, inspection.called_at),
        visit_minutes=_minutes(inspection.arrived_at, inspection.departed_at),
        recorded=any(getattr(inspection, name) not in (None, "") for name in FIELDS),
        checkin_enabled=inspection.mode == Mode.ON_SITE,
        checkin_band=inspection.checkin_band,
        checkin_at=hhmm(inspection.checkin_at),
        teller_checklist=TELLER_CHECKLIST,
    )
    return data


def visit_window(inspection: Inspection, now: datetime) -> tuple[datetime, datetime]:
    """When the visit happened, as well as the record tells: arrival to departure where
    given, else the inspection's start to its submission (or now, for a draft)."""
    start = inspection.arrived_at or inspection.started_at
    end = inspection.departed_at or inspection.submitted_at or now
    if end < start:  # only one of arrival/departure given, on the far side of the other bound
        start, end = inspection.started_at, inspection.submitted_at or now
    return start, end


def photo_flags(
    session: Session, inspection: Inspection, *, now: datetime | None = None
) -> dict[int, list[str]]:
    """Photo id → what head office should look at: "outside_visit" (taken more than 15
    minutes before or after the visit) and "gallery" (picked rather than taken)."""
    start, end = visit_window(inspection, now or utcnow())
    start, end = start - PHOTO_MARGIN, end + PHOTO_MARGIN
    flags: dict[int, list[str]] = {}
    rows = session.execute(
        select(Photo.id, Photo.captured_at, Photo.source).where(
            Photo.inspection_id == inspection.id
        )
    )
    for photo_id, captured_at, source in rows:
        found = []
        if captured_at is not None and not start <= captured_at <= end:
            found.append("outside_visit")
        if source == "gallery":
            found.append("gallery")
        if found:
            flags[photo_id] = found
    return flags


def mark_photos(checklists: list[dict[str, Any]], flags: Mapping[int, list[str]]) -> None:
    """Put each photo's flags into the page data of `pages.checklists`."""
    for checklist in checklists:
        for section in checklist["sections"]:
            for item in section["items"]:
                for photo in item["photos"]:
                    photo["flags"] = flags.get(photo["id"], [])
