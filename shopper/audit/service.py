"""Appending to the audit trail (one function, `record`) and proving it is whole (`verify`).

Every change of state in the app calls `record` inside the request's own transaction, so a
change and its record commit or roll back together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.orm import Session

from shopper.audit.models import GENESIS, AuditHead, AuditRecord
from shopper.auth.models import User
from shopper.db import utcnow


def _canonical(changes: Mapping[str, Any]) -> str:
    return json.dumps(
        changes, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    )


def _digest(
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    changes: str,
    prev_hash: str,
) -> str:
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields = [str(seq), stamp, str(actor_id or ""), actor, action, object_type, object_id]
    body = "\x1f".join([*fields, changes, prev_hash])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def record(
    session: Session,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: object,
    changes: Mapping[str, Any] | None = None,
    *,
    actor_name: str | None = None,
) -> AuditRecord:
    """Append one record: `actor` (None: the system, or an anonymous sign-in attempt named
    by `actor_name`) did `action` to the object, changing `changes` (plain values).

    Three statements: the chain's end is taken with an UPDATE (its row lock orders
    concurrent writers on PostgreSQL; SQLite has one writer), the record is inserted and
    the end moved on to it.
    """
    head = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash)
    ).one_or_none()
    if head is None:  # the first record of an installation
        session.add(AuditHead(id=1, seq=1, hash=GENESIS))
        session.flush()
        seq, prev = 1, GENESIS
    else:
        seq, prev = head
    at = utcnow()
    name = actor.username if actor is not None else (actor_name or "system")
    body = _canonical(changes or {})
    entry = AuditRecord(
        seq=seq,
        at=at,
        actor_id=actor.id if actor is not None else None,
        actor=name[:80],
        action=action,
        object_type=object_type,
        object_id=str(object_id)[:64],
        changes=body,
        prev_hash=prev,
    )
    entry.hash = _digest(
        seq, at, entry.actor_id, entry.actor, action, object_type, entry.object_id, body, prev
    )
    session.add(entry)
    session.flush()
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=entry.hash))
    return entry


@dataclass(frozen=True)
class Verdict:
    ok: bool
    records: int
    broken_seq: int | None = None
    reason: str = ""


def _walk(session: Session) -> Iterator[AuditRecord]:
    query = select(AuditRecord).order_by(AuditRecord.seq).execution_options(yield_per=1000)
    yield from session.scalars(query)


def verify(session: Session) -> Verdict:
    """Check the whole chain; name the first record that does not fit.

    Catches a record edited (its hash no longer matches its content), removed (a gap in
    the sequence, or a broken link), inserted or reordered (a broken link), and the last
    records removed (the chain's end no longer matches the last record).
    """
    prev, expected, count = GENESIS, 1, 0
    for entry in _walk(session):
        count += 1
        if entry.seq != expected:
            return Verdict(False, count, expected, f"record {expected} is missing")
        if entry.prev_hash != prev:
            return Verdict(False, count, entry.seq, "does not follow the record before it")
        digest = _digest(
            entry.seq,
            entry.at,
            entry.actor_id,
            entry.actor,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.changes,
            entry.prev_hash,
        )
        if digest != entry.hash:
            return Verdict(False, count, entry.seq, "its content was changed")
        prev, expected = entry.hash, expected + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != expected - 1 or head.hash != prev):
        return Verdict(False, count, expected, "records after the last one were removed")
    if head is None and count:
        return Verdict(False, count, None, "the chain's end is missing")
    return Verdict(True, count)


def trail_of(
    session: Session,
    objects: list[tuple[str, list[int]]],
    actor_id: int | None = None,
    limit: int = 5000,
) -> list[AuditRecord]:
    """Records about any of `objects` ((type, ids) pairs), or by `actor_id`, newest first."""
    terms = [
        and_(AuditRecord.object_type == kind, AuditRecord.object_id.in_([str(i) for i in ids]))
        for kind, ids in objects
        if ids
    ]
    if actor_id is not None:
        terms.append(AuditRecord.actor_id == actor_id)
    query = select(AuditRecord).where(or_(*terms)).order_by(AuditRecord.seq.desc()).limit(limit)
    return list(session.scalars(query))


def trail(
    session: Session,
    object_type: str | None = None,
    object_id: str | None = None,
    actor_id: int | None = None,
    limit: int = 1000,
) -> list[AuditRecord]:
    """Records about one object (or by one account), newest first."""
    query: Select = select(AuditRecord)
    if object_type:
        query = query.where(AuditRecord.object_type == object_type)
    if object_id:
        query = query.where(AuditRecord.object_id == object_id)
    if actor_id:
        query = query.where(AuditRecord.actor_id == actor_id)
    return list(session.scalars(query.order_by(AuditRecord.seq.desc()).limit(limit)))
