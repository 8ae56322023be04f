"""Opaque page cursors: the sort key of the last row a page held, for keyset pagination.

A cursor is base64url JSON naming its list, so one list's cursor is refused by another;
whatever a client sends, `decode` either returns a well-formed key or raises BadCursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

MAX_ID = 2**31 - 1
MAX_LENGTH = 200


class BadCursor(ValueError):
    """The cursor is not one this API gave out for this list."""


def _pack(value: list[object]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unpack(text: str) -> list[object]:
    if not text or len(text) > MAX_LENGTH:
        raise BadCursor(text)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise BadCursor(text) from exc
    if not isinstance(value, list):
        raise BadCursor(text)
    return value


def _id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise BadCursor(repr(value))
    return value


def encode_id(kind: str, last_id: int) -> str:
    return _pack([kind, last_id])


def decode_id(kind: str, text: str) -> int:
    """The id after which the page starts. Raises BadCursor."""
    value = _unpack(text)
    if len(value) != 2 or value[0] != kind:
        raise BadCursor(text)
    return _id(value[1])


def encode_time_id(kind: str, at: datetime, last_id: int) -> str:
    return _pack([kind, at.astimezone(UTC).isoformat(timespec="microseconds"), last_id])


def decode_time_id(kind: str, text: str) -> tuple[datetime, int]:
    """The (time, id) after which the page starts, the time in UTC. Raises BadCursor."""
    value = _unpack(text)
    if len(value) != 3 or value[0] != kind or not isinstance(value[1], str):
        raise BadCursor(text)
    try:
        at = datetime.fromisoformat(value[1])
    except ValueError as exc:
        raise BadCursor(text) from exc
    if at.tzinfo is None or at.utcoffset():
        raise BadCursor(text)  # we only give out UTC
    return at, _id(value[2])
