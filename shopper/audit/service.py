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

from sqlalchemy import Select, String, and_, bindparam, cast, insert, or_, select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from shopper.audit.models import GENESIS, AuditHead, AuditRecord
from shopper.auth.models import User
from shopper.db import sha256_hex, utcnow


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
    actor_id: int | None = None,
) -> AuditRecord:
    """Append one record: `actor` (None: the system, an anonymous sign-in attempt named by
    `actor_name`, or the account `actor_id` named `actor_name` when it was not loaded) did
    `action` to the object, changing `changes` (plain values).

    The record is inserted from the chain's end, read FOR UPDATE (its row lock orders
    concurrent writers on PostgreSQL; SQLite has one writer) and hashed in the same
    statement, and the end is moved on to it: one statement on PostgreSQL (the insert a
    WITH of the update), two on SQLite. Anything pending is flushed first.
    """
    session.flush()
    at = utcnow()
    name = (actor.username if actor is not None else (actor_name or "system"))[:80]
    actor_id = actor.id if actor is not None else actor_id
    object_key = str(object_id)[:64]
    body = _canonical(changes or {})
    values = {
        "at": at,
        "actor_id": actor_id,
        "actor": name,
        "action": action,
        "object_type": object_type,
        "object_id": object_key,
        "changes": body,
        # what _digest hashes between the sequence number and the previous hash
        "between": _SEP.join(["", _stamp(at), str(actor_id or ""), name, action, ""])
        + _SEP.join([object_type, object_key, body, ""]),
    }
    connection = session.connection()
    one_statement = connection.dialect.name == "postgresql"
    append = _APPEND_AND_MOVE if one_statement else _APPEND
    appended = connection.execute(append, values).first()
    if appended is None:  # the first record of an installation: the chain starts
        connection.execute(insert(AuditHead).values(id=1, seq=0, hash=GENESIS))
        appended = connection.execute(append, values).one()
    seq, prev, digest = appended
    if not one_statement:
        connection.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": digest})
    entry = AuditRecord(
        seq=seq,
        at=at,
        actor_id=actor_id,
        actor=name,
        action=action,
        object_type=object_type,
        object_id=object_key,
        changes=body,
        prev_hash=prev,
        hash=digest,
    )
    make_transient_to_detached(entry)
    session.add(entry)  # in the session as the row it is, without another INSERT
    return entry


_SEP = "\x1f"


def _stamp(at: datetime) -> str:  # as _digest writes the time
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _append() -> Any:
    """INSERT the next record FROM the chain's end, hashed as `_digest` hashes it."""
    next_seq = AuditHead.seq + 1
    between = bindparam("between", type_=String)
    head = (
        select(
            next_seq,
            *(
                bindparam(column, type_=AuditRecord.__table__.c[column].type)
                for column in ("at", "actor_id", "actor", "action", "object_type", "object_id")
            ),
            bindparam("changes", type_=AuditRecord.__table__.c.changes.type),
            AuditHead.hash,
            sha256_hex(cast(next_seq, String) + between + AuditHead.hash),
        )
        .where(AuditHead.id == 1)
        .with_for_update()
    )
    columns = ["seq", "at", "actor_id", "actor", "action", "object_type", "object_id"]
    return (
        insert(AuditRecord)
        .from_select([*columns, "changes", "prev_hash", "hash"], head)
        .returning(AuditRecord.seq, AuditRecord.prev_hash, AuditRecord.hash)
    )


_APPEND = _append()
_MOVE_HEAD = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)
_appended = _APPEND.cte("appended")
_APPEND_AND_MOVE = (  # PostgreSQL: WITH appended AS (INSERT … RETURNING) UPDATE the end
    update(AuditHead)
    # true of the end read and of a newer one that committed meanwhile: the row is updated
    # as it is now (READ COMMITTED re-reads it), and the lock taken above is this statement's
    .where(AuditHead.id == 1, AuditHead.seq < _appended.c.seq)
    .values(seq=_appended.c.seq, hash=_appended.c.hash)
    .returning(_appended.c.seq, _appended.c.prev_hash, _appended.c.hash)
)


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
    query: Select[tuple[AuditRecord]] = select(AuditRecord)
    if object_type:
        query = query.where(AuditRecord.object_type == object_type)
    if object_id:
        query = query.where(AuditRecord.object_id == object_id)
    if actor_id:
        query = query.where(AuditRecord.actor_id == actor_id)
    return list(session.scalars(query.order_by(AuditRecord.seq.desc()).limit(limit)))
