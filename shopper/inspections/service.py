"""Inspections: start, autosave answers, review, submit (then immutable), and who may see what.

Functions take the database session and the acting user, `flush()` and never
commit: the request (or CLI command) commits once.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Engine,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Select

from shopper.audit import service as audit
from shopper.auth.models import INSPECTING, LoginSession, Role, User
from shopper.auth.service import token_digest
from shopper.checklists import service as checklists
from shopper.checklists.models import ChecklistVersion
from shopper.core import checklist as core
from shopper.core import scoring
from shopper.db import change_if, utcnow
from shopper.inspections.models import (
    MAX_NOTE,
    Answer,
    AnswerConflict,
    ClientWrite,
    Inspection,
    InspectionChecklist,
    Mode,
    SectionScore,
    Status,
    Submission,
)
from shopper.org.models import Outlet
from shopper.periods.models import Assignment, AssignmentKind, Period, PeriodState
from shopper.photos.models import Photo
from shopper.refusals import Refused
from shopper.results import service as results


def current_period(session: Session) -> Period | None:
    return session.scalar(select(Period).where(Period.is_current.is_(True)))


def assignments_for(session: Session, inspector: User, period: Period) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment)
            .join(Outlet)
            .where(Assignment.inspector_id == inspector.id, Assignment.period_id == period.id)
            .order_by(Outlet.code, Assignment.kind, Assignment.seq, Assignment.id)
        )
    )


def inspections_by_assignment(session: Session, assignments: Sequence[Assignment]) -> dict:
    ids = [a.id for a in assignments]
    rows = session.scalars(select(Inspection).where(Inspection.assignment_id.in_(ids)))
    return {i.assignment_id: i for i in rows}


def fingerprint(kind: str, *parts: object) -> str:
    """What a client write asked for, so a reused UUID can be told from a retry."""
    return hashlib.sha256(json.dumps([kind, *parts], ensure_ascii=False).encode()).hexdigest()


def seen_write(session: Session, user: User, uuid: str, print_: str) -> bool:
    """True if this exact write was applied before; Refused if its UUID was used for another."""
    seen = session.get(ClientWrite, (user.id, uuid))
    if seen is None:
        return False
    if seen.fingerprint != print_:
        raise Refused("uuid_reused", 409)
    return True


def lock_draft(
    session: Session, inspection: Inspection, closed: str = "period_closed_change"
) -> None:
    """Take the inspection's row lock for this transaction; refuse once it is submitted, or
    (Refused(`closed`, 409)) once its period is closed: a draft of a closed period can never
    be submitted, so nothing in it changes either.

    Checking `status` on a row read earlier is not enough: a submit may commit in
    between. The conditional UPDATE waits for it (PostgreSQL) or fails (SQLite).
    """
    if not change_if(session, inspection, Inspection.status == Status.DRAFT, status=Status.DRAFT):
        raise Refused("already_submitted", 409)
    if inspection.period.state == PeriodState.CLOSED:
        raise Refused(closed, 409, period=inspection.period.code)


def start(
    session: Session,
    inspector: User,
    assignment_id: int,
    mode: str | None,
    order: Sequence[str] = (),
) -> Inspection:
    """Start the inspection of an assignment, pinning its period's checklist versions.

    The mode comes from the assignment's kind when `mode` is empty: a video check is done
    by video (asking for on site is refused), a mystery visit on site unless the agency's
    inspector chooses video. Items the outlet lacks a feature for, and items a video check
    cannot judge, are answered N/A at once, marked as such. Idempotent: an assignment
    already started returns its inspection unchanged. Raises Refused("not_found", 404) for
    someone else's assignment, Refused(409) unless its period is open.
    """
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.inspector_id != inspector.id:
        raise Refused("not_found", 404)
    state = assignment.period.state
    if state == PeriodState.PLANNED:
        raise Refused("period_not_started", 409)
    if state != PeriodState.OPEN or not assignment.period.is_current:
        raise Refused("period_closed", 409)
    existing = session.scalar(select(Inspection).where(Inspection.assignment_id == assignment.id))
    if existing is not None:
        return existing
    video_check = assignment.kind == AssignmentKind.VIDEO
    mode = mode or (Mode.VIDEO if video_check else Mode.ON_SITE)
    if mode not in set(Mode):
        raise Refused("bad_mode")
    if video_check and mode != Mode.VIDEO:
        raise Refused("video_check_by_video")
    # hold the period's row (PostgreSQL: FOR SHARE) so its versions cannot change under us
    session.execute(
        select(Period.id).where(Period.id == assignment.period_id).with_for_update(read=True)
    )
    versions = checklists.period_versions(session, assignment.period, order)
    if not versions:
        raise Refused("no_checklists", 409)
    inspection = Inspection(
        assignment=assignment,
        period_id=assignment.period_id,
        outlet_id=assignment.outlet_id,
        inspector_id=inspector.id,
        mode=mode,
        status=Status.DRAFT,
        checklists=[
            InspectionChecklist(version=v, position=n) for n, v in enumerate(versions, start=1)
        ],
    )
    session.add(inspection)
    session.flush()
    features = assignment.outlet.feature_codes
    for version in versions:
        preset = core.preset_na(version.checklist(), features, video=mode == Mode.VIDEO)
        session.add_all(
            Answer(
                inspection_id=inspection.id,
                checklist_version_id=version.id,
                item_code=code,
                result=scoring.Result.NA,
                note="",
                na_reason=reason,
            )
            for code, reason in preset.items()
        )
    session.flush()
    audit.record(
        session,
        inspector,
        "inspection.started",
        "inspection",
        inspection.id,
        {"assignment": assignment.id, "mode": mode, "versions": [v.id for v in versions]},
    )
    return inspection


def own_inspection(session: Session, inspector: User, inspection_id: int) -> Inspection:
    """The inspector's own inspection. Raises Refused("not_found", 404) for anyone else's."""
    inspection = session.get(Inspection, inspection_id)
    if inspection is None or inspection.inspector_id != inspector.id:
        raise Refused("not_found", 404)
    return inspection


@dataclass(frozen=True)
class Pinned:
    version: ChecklistVersion
    checklist: core.Checklist


def pinned(inspection: Inspection) -> list[Pinned]:
    return [Pinned(ic.version, ic.version.checklist()) for ic in inspection.checklists]


def find_item(inspection: Inspection, version_id: int, item_code: str) -> core.Item:
    for pin in inspection.checklists:  # only the one version asked for is loaded
        if pin.checklist_version_id == version_id:
            item = pin.version.checklist().item(item_code)
            if item is not None:
                return item
    raise Refused("unknown_item", 400, item=item_code)


@dataclass(frozen=True)
class Saved:
    """What an answer write did, and the item as the server now holds it."""

    applied: bool
    result: str | None
    note: str
    updated_at: datetime | None


def save_answer(
    session: Session,
    inspector: User,
    inspection: Inspection,
    *,
    version_id: int,
    item_code: str,
    result: str | None,
    note: str | None,
    client_uuid: str,
    changed_at: datetime | None = None,
) -> Saved:
    """Autosave one answer; a field given as None is left as it is.

    A tap on a result never touches the note, and a note never the result.
    Idempotent per `client_uuid` (a retry is not applied again). Two phones
    answering the same item: the change made latest (`changed_at`, the phone's
    clock, never later than the server's) wins; the losing write is recorded
    as an `AnswerConflict`, not applied.

    Raises Refused for a submitted inspection, an item not in its pinned versions,
    a result other than pass/fail/na, N/A where the item does not allow it, a long
    note, a note for an item with no result yet, or a write that changes nothing.
    """
    if result is None and note is None:
        raise Refused("bad_form", 400, fields="result, note")
    note = note.strip() if note is not None else None
    now = utcnow()
    changed_at = min(changed_at, now) if changed_at else now
    print_ = fingerprint("answer", inspection.id, version_id, item_code, result, note)
    if seen_write(session, inspector, client_uuid, print_):
        return _saved(session, inspection, version_id, item_code, applied=False)
    lock_draft(session, inspection)
    item = find_item(inspection, version_id, item_code)
    answer = _answer(session, inspection, version_id, item_code)
    if answer is not None and answer.na_reason:
        raise Refused(f"preset_na_{answer.na_reason}", 409, item=item_code)
    if result is not None and result not in set(scoring.Result):
        raise Refused("bad_result")
    if result == scoring.Result.NA and not item.na_allowed:
        raise Refused("na_not_allowed", 400, item=item_code)
    if note is not None and len(note) > MAX_NOTE:
        raise Refused("note_too_long", 400, limit=MAX_NOTE)
    session.add(
        ClientWrite(user_id=inspector.id, uuid=client_uuid, kind="answer", fingerprint=print_)
    )
    if answer is None:
        if result is None:
            raise Refused("result_first", 400, item=item_code)
        answer = Answer(
            inspection_id=inspection.id,
            checklist_version_id=version_id,
            item_code=item_code,
            note="",
        )
        session.add(answer)
    elif answer.changed_at is not None and changed_at < answer.changed_at:
        session.add(
            AnswerConflict(
                inspection_id=inspection.id,
                checklist_version_id=version_id,
                item_code=item_code,
                user_id=inspector.id,
                client_uuid=client_uuid,
                lost_result=result,
                lost_note=note,
                lost_changed_at=changed_at,
                kept_result=answer.result,
                kept_note=answer.note,
                kept_changed_at=answer.changed_at,
            )
        )
        session.flush()
        return _saved(session, inspection, version_id, item_code, applied=False)
    if result is not None:
        answer.result = result
    if note is not None:
        answer.note = note
    answer.changed_at = changed_at
    answer.updated_at = now
    try:
        session.flush()
    except IntegrityError as exc:  # the same item saved from two tabs at once
        raise Refused("conflict", 409) from exc
    given = {"result": result} if result is not None else {}
    if note is not None:
        given["note"] = note
    audit.record(
        session,
        inspector,
        "answer.saved",
        "inspection",
        inspection.id,
        {"version": version_id, "item": item_code, **given},
    )
    return Saved(True, answer.result, answer.note, answer.updated_at)


@dataclass(frozen=True)
class Autosaved:
    """An autosave's outcome, and the inspection's progress after it."""

    saved: Saved
    answered: int
    total: int


def autosave(
    session: Session,
    token: str,
    inspection_id: int,
    *,
    signed_in: Callable[[], User],
    version_id: int,
    item_code: str,
    result: str | None,
    note: str | None,
    client_uuid: str,
    changed_at: datetime | None = None,
) -> Autosaved:
    """The phone's autosave: `save_answer` on the signed-in inspector's own draft
    `inspection_id`, with its progress. `token` is the session cookie's sign-in token, not yet
    checked; `signed_in()` loads the signed-in user, refusing as every route's access check
    refuses (checks_sign_in_itself).

    The same promises, replies and refusals as `own_inspection`, `save_answer` and
    `progress` one after the other, which it falls back to (after `signed_in()`) for anything
    but a new write to the inspector's own draft. That common case takes two statements
    besides the audit record's: the client write is inserted only from a live session of an
    active inspecting account whose draft it is, pinning the version (taking the draft's row
    lock, as `lock_draft` does, against a racing submit), and only if the UUID is new; the
    answer is upserted only if it is not preset N/A and no later change has won. Either
    changing nothing sends it the long way, to say why.
    """
    fields = dict(
        version_id=version_id,
        item_code=item_code,
        result=result,
        note=note,
        client_uuid=client_uuid,
        changed_at=changed_at,
    )
    stripped = note.strip() if note is not None else None
    item = _version_item(session, version_id, item_code)
    if (
        item is None
        or (result is None and stripped is None)
        or (result is not None and result not in _RESULTS)
        or (result == scoring.Result.NA and not item.na_allowed)
        or (stripped is not None and len(stripped) > MAX_NOTE)
    ):
        return _autosave_slowly(session, signed_in(), inspection_id, **fields)
    now = utcnow()
    changed_at = min(changed_at, now) if changed_at else now
    print_ = fingerprint("answer", inspection_id, version_id, item_code, result, stripped)
    key = {"iid": inspection_id, "vid": version_id, "code": item_code}
    dialect = _dialect(session)
    connection = session.connection()
    claimed = connection.execute(
        _CLAIM[dialect],
        {
            **key,
            "token_hash": token_digest(token),
            "client_uuid": client_uuid,
            "print": print_,
            "at_now": now,
        },
    ).first()
    if claimed is None:  # signed out, not theirs, submitted, not pinned, or the UUID seen
        return _autosave_slowly(session, signed_in(), inspection_id, **fields)
    row = connection.execute(
        _UPSERT[dialect, stripped is not None] if result is not None else _NOTE_UPDATE,
        {**key, "new_result": result, "new_note": stripped, "at_now": now, "changed": changed_at},
    ).first()
    if row is None:  # preset N/A, no result to note yet, or a later change won
        lost = (result, stripped, changed_at)
        saved = _not_applied(
            session, claimed.user_id, inspection_id, version_id, item_code, lost, client_uuid
        )
        return Autosaved(saved, *_progress_of(session, inspection_id))
    audit.record(
        session,
        None,
        "answer.saved",
        "inspection",
        inspection_id,
        {
            "version": version_id,
            "item": item_code,
            **({"result": result} if result is not None else {}),
            **({"note": stripped} if stripped is not None else {}),
        },
        actor_id=claimed.user_id,
        actor_name=claimed.username,
    )
    total = sum(_pinned_size(session, int(v)) for v in str(claimed.pins).split(","))
    return Autosaved(Saved(True, row.result, row.note, now), row.others + 1, total)


_RESULTS = frozenset(scoring.Result)


def _autosave_slowly(
    session: Session, inspector: User, inspection_id: int, **fields: Any
) -> Autosaved:
    inspection = own_inspection(session, inspector, inspection_id)
    saved = save_answer(session, inspector, inspection, **fields)
    return Autosaved(saved, *progress(session, inspection))


def _not_applied(
    session: Session,
    user_id: int,
    inspection_id: int,
    version_id: int,
    item_code: str,
    lost: tuple[str | None, str | None, datetime],
    client_uuid: str,
) -> Saved:
    """The upsert changed nothing: refuse as `save_answer` would, or record the conflict."""
    answer = session.scalar(
        select(Answer).where(
            Answer.inspection_id == inspection_id,
            Answer.checklist_version_id == version_id,
            Answer.item_code == item_code,
        )
    )
    if answer is not None and answer.na_reason:
        raise Refused(f"preset_na_{answer.na_reason}", 409, item=item_code)
    if answer is None:
        raise Refused("result_first", 400, item=item_code)
    session.add(
        AnswerConflict(
            inspection_id=inspection_id,
            checklist_version_id=version_id,
            item_code=item_code,
            user_id=user_id,
            client_uuid=client_uuid,
            lost_result=lost[0],
            lost_note=lost[1],
            lost_changed_at=lost[2],
            kept_result=answer.result,
            kept_note=answer.note,
            kept_changed_at=answer.changed_at,
        )
    )
    session.flush()
    return Saved(False, answer.result, answer.note, answer.updated_at)


def _progress_of(session: Session, inspection_id: int) -> tuple[int, int]:
    inspection = session.get(Inspection, inspection_id)  # the claim found it theirs
    return progress(session, inspection) if inspection is not None else (0, 0)


# Published versions are immutable: their items are kept per engine (a test database reuses
# ids), by code, so an autosave finds its item and the inspection's size without a query.
_version_items: weakref.WeakKeyDictionary[Engine, dict[int, dict[str, core.Item]]] = (
    weakref.WeakKeyDictionary()
)


def _items_of(session: Session, version_id: int) -> dict[str, core.Item] | None:
    kept = _version_items.setdefault(session.get_bind(), {})  # type: ignore[arg-type]
    if version_id not in kept:
        version = session.get(ChecklistVersion, version_id)
        if version is None:
            return None  # not kept: a version with this id may be published later
        kept[version_id] = {item.code: item for item in version.checklist().items}
    return kept[version_id]


def _version_item(session: Session, version_id: int, code: str) -> core.Item | None:
    items = _items_of(session, version_id)
    return items.get(code) if items is not None else None


def _pinned_size(session: Session, version_id: int) -> int:
    return len(_items_of(session, version_id) or ())


def _dialect(session: Session) -> str:
    return "postgresql" if session.get_bind().dialect.name == "postgresql" else "sqlite"


def _claim(dialect: Any) -> Any:
    """INSERT the client write, only from a live session (`token_hash`) of an active
    inspecting account whose draft it is, in a period not closed, pinning the version (the
    draft's row locked FOR NO KEY UPDATE on PostgreSQL, as `lock_draft`'s UPDATE locks it;
    SQLite has one writer), only if the UUID is new; RETURNING the pinned version ids, the
    account's id and username."""
    writes = ClientWrite.__table__
    pinned_here = exists().where(
        InspectionChecklist.inspection_id == Inspection.id,
        InspectionChecklist.checklist_version_id == bindparam("vid"),
    )
    open_period = exists().where(
        Period.id == Inspection.period_id, Period.state != PeriodState.CLOSED
    )
    source = (
        select(
            Inspection.inspector_id,
            bindparam("client_uuid", type_=writes.c.uuid.type),
            literal("answer", writes.c.kind.type),
            bindparam("print", type_=writes.c.fingerprint.type),
            bindparam("at_now", type_=writes.c.created_at.type),
        )
        .join(LoginSession, LoginSession.user_id == Inspection.inspector_id)
        .join(User, User.id == Inspection.inspector_id)
        .where(
            Inspection.id == bindparam("iid"),
            Inspection.status == Status.DRAFT,
            pinned_here,
            open_period,
            LoginSession.token_hash == bindparam("token_hash"),
            LoginSession.expires_at > bindparam("at_now", type_=LoginSession.expires_at.type),
            User.active.is_(True),
            User.role.in_([role.value for role in INSPECTING]),
        )
        .with_for_update(key_share=True, of=Inspection)
    )
    pins = (
        select(func.aggregate_strings(cast(InspectionChecklist.checklist_version_id, String), ","))
        .where(InspectionChecklist.inspection_id == bindparam("iid"))
        .scalar_subquery()
        .label("pins")
    )
    username = (
        select(User.username)  # the session's account: the one whose write it is
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.token_hash == bindparam("token_hash"))
        .scalar_subquery()
        .label("username")
    )
    return (
        dialect.insert(writes)
        .from_select(["user_id", "uuid", "kind", "fingerprint", "created_at"], source)
        .on_conflict_do_nothing()
        .returning(pins, writes.c.user_id, username)
    )


_CLAIM = {"postgresql": _claim(postgresql), "sqlite": _claim(sqlite)}

_others = aliased(Answer)
# the inspection's other answers: the same count before and after this statement's change
_OTHERS = (
    select(func.count())
    .where(
        _others.inspection_id == bindparam("iid"),
        not_(
            and_(
                _others.checklist_version_id == bindparam("vid"),
                _others.item_code == bindparam("code"),
            )
        ),
    )
    .scalar_subquery()
    .label("others")
)
_APPLIES = and_(  # save_answer's rules: a preset N/A stays; the change made latest wins
    Answer.na_reason.is_(None),
    or_(Answer.changed_at.is_(None), Answer.changed_at <= bindparam("changed")),
)


def _upsert(dialect: Any, with_note: bool) -> Any:
    answers = Answer.__table__
    statement = dialect.insert(answers).values(
        inspection_id=bindparam("iid"),
        checklist_version_id=bindparam("vid"),
        item_code=bindparam("code"),
        result=bindparam("new_result"),
        note=bindparam("new_note") if with_note else literal(""),
        updated_at=bindparam("at_now", type_=answers.c.updated_at.type),
        changed_at=bindparam("changed", type_=answers.c.changed_at.type),
    )
    changes = {
        "result": statement.excluded.result,
        "updated_at": statement.excluded.updated_at,
        "changed_at": statement.excluded.changed_at,
    }
    if with_note:
        changes["note"] = statement.excluded.note
    return statement.on_conflict_do_update(
        index_elements=["inspection_id", "checklist_version_id", "item_code"],
        set_=changes,
        where=_APPLIES,
    ).returning(Answer.result, Answer.note, _OTHERS)


_UPSERT = {
    (name, with_note): _upsert(dialect, with_note)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
    for with_note in (True, False)
}
_NOTE_UPDATE = (  # a note alone never creates an answer
    update(Answer)
    .where(
        Answer.inspection_id == bindparam("iid"),
        Answer.checklist_version_id == bindparam("vid"),
        Answer.item_code == bindparam("code"),
        _APPLIES,
    )
    .values(
        note=bindparam("new_note"),
        updated_at=bindparam("at_now", type_=Answer.__table__.c.updated_at.type),
        changed_at=bindparam("changed", type_=Answer.__table__.c.changed_at.type),
    )
    .returning(Answer.result, Answer.note, _OTHERS)
)


def _answer(session: Session, inspection: Inspection, version_id: int, code: str) -> Answer | None:
    return session.scalar(
        select(Answer).where(
            Answer.inspection_id == inspection.id,
            Answer.checklist_version_id == version_id,
            Answer.item_code == code,
        )
    )


def _saved(
    session: Session, inspection: Inspection, version_id: int, code: str, *, applied: bool
) -> Saved:
    answer = _answer(session, inspection, version_id, code)
    if answer is None:
        return Saved(applied, None, "", None)
    return Saved(applied, answer.result, answer.note, answer.updated_at)


def progress(session: Session, inspection: Inspection) -> tuple[int, int]:
    """(answered, total) items of the inspection's pinned checklists."""
    total = sum(len(p.checklist.items) for p in pinned(inspection))
    answered = session.scalar(
        select(func.count()).select_from(Answer).where(Answer.inspection_id == inspection.id)
    )
    return answered or 0, total


def photo_counts(session: Session, inspection: Inspection) -> Counter:
    rows = session.execute(
        select(Photo.checklist_version_id, Photo.item_code).where(
            Photo.inspection_id == inspection.id
        )
    )
    return Counter((version_id, code) for version_id, code in rows)


def answer_map(session: Session, inspection: Inspection) -> dict[scoring.AnswerKey, scoring.Answer]:
    """Answers keyed by (checklist code, item code), as the pure core wants them."""
    code_of = {ic.checklist_version_id: ic.version.code for ic in inspection.checklists}
    photos = photo_counts(session, inspection)
    answers = session.scalars(select(Answer).where(Answer.inspection_id == inspection.id))
    return {
        (code_of[a.checklist_version_id], a.item_code): scoring.Answer(
            scoring.Result(a.result),
            a.note,
            photos[(a.checklist_version_id, a.item_code)],
            preset=a.na_reason is not None,
        )
        for a in answers
    }


def gaps(session: Session, inspection: Inspection) -> list[scoring.Gap]:
    return scoring.gaps([p.checklist for p in pinned(inspection)], answer_map(session, inspection))


def submit(
    session: Session,
    inspector: User,
    inspection: Inspection,
    bands: Sequence[scoring.Band],
    *,
    attested: bool,
    client_uuid: str | None = None,
) -> scoring.ScoreCard | None:
    """Score and freeze the inspection; afterwards nothing about it can change.

    `attested`: the inspector declared that what they recorded is what they observed.
    Idempotent per `client_uuid`: a replay of the submit that froze the inspection
    returns None (nothing to do) instead of a refusal, so an offline submit that reached
    the server but lost its answer can be sent again.
    Raises Refused("incomplete", 409, gaps=[...]) listing what is missing, then
    Refused("attestation_required", 400). Another submit of a submitted inspection
    raises Refused("already_submitted", 409).
    """
    print_ = fingerprint("submit", inspection.id)
    if client_uuid and seen_write(session, inspector, client_uuid, print_):
        return None
    lock_draft(session, inspection, closed="period_closed_submit")
    pins = pinned(inspection)
    checklists = [p.checklist for p in pins]
    answers = answer_map(session, inspection)
    missing = scoring.gaps(checklists, answers)
    if missing:
        raise Refused("incomplete", 409, gaps=missing)
    if not attested:
        raise Refused("attestation_required", 400)
    if client_uuid:
        session.add(
            ClientWrite(user_id=inspector.id, uuid=client_uuid, kind="submit", fingerprint=print_)
        )
    card = scoring.score(checklists, answers, bands)
    version_of = {p.checklist.code: p.version.id for p in pins}
    inspection.status = Status.SUBMITTED
    inspection.submitted_at = inspection.attested_at = utcnow()
    set_score(inspection, card, version_of)
    inspection.submissions.append(
        Submission(
            n=len(inspection.submissions) + 1,
            submitted_at=inspection.submitted_at,
            score=inspection.score,
            band=inspection.band,
            red_line_failed=inspection.red_line_failed,
        )
    )
    session.flush()
    audit.record(
        session,
        inspector,
        "inspection.submitted",
        "inspection",
        inspection.id,
        {"score": inspection.score, "band": inspection.band},
    )
    return card


def set_score(inspection: Inspection, card: scoring.ScoreCard, version_of: dict) -> None:
    """Store a score card on the inspection: what rankings and results read."""
    inspection.score = card.score
    inspection.band = card.band.code if card.band else None
    inspection.red_line_failed = bool(card.red_line_failures)
    inspection.points_earned = card.earned
    inspection.points_applicable = card.applicable
    inspection.section_scores = [
        SectionScore(
            checklist_version_id=version_of[s.checklist],
            section_code=s.section,
            earned=s.earned,
            applicable=s.applicable,
            score=s.score,
        )
        for s in card.sections
    ]


def _move(session: Session, inspection: Inspection, before: Status, after: Status) -> None:
    """Change the status only from `before`, under the row's lock (a racing click loses)."""
    if not change_if(session, inspection, Inspection.status == before, status=after):
        raise Refused("not_waiting_for_release", 409)


def release(session: Session, user: User | None, inspection: Inspection) -> None:
    """Head office's check passed: the inspection counts and its outlet sees it.
    `user` is None for a release on submit (SHOPPER_AUTO_RELEASE).

    Raises Refused("not_waiting_for_release", 409) unless it is submitted and not released.
    """
    _move(session, inspection, Status.SUBMITTED, Status.RELEASED)
    inspection.released_at = utcnow()
    inspection.released_by_id = user.id if user else None
    session.flush()
    results.record(session, inspection)


MAX_REASON = 2000


def return_to_inspector(session: Session, user: User, inspection: Inspection, reason: str) -> None:
    """Send a submitted (not yet released) inspection back to its inspector as a draft.

    The submission and its score stay in the history with the reason. Raises
    Refused("reason_required") for an empty reason, Refused("reason_too_long"), and
    Refused("not_waiting_for_release", 409) once released or while a draft.
    """
    reason = (reason or "").strip()
    if not reason:
        raise Refused("reason_required")
    if len(reason) > MAX_REASON:
        raise Refused("reason_too_long", 400, limit=MAX_REASON)
    _move(session, inspection, Status.SUBMITTED, Status.DRAFT)
    latest = inspection.submissions[-1] if inspection.submissions else None
    if latest is not None:
        latest.returned_at = utcnow()
        latest.returned_by_id = user.id
        latest.return_reason = reason
    inspection.submitted_at = inspection.attested_at = None
    inspection.score = inspection.band = inspection.red_line_failed = None
    inspection.points_earned = inspection.points_applicable = None
    inspection.section_scores = []
    session.flush()


def returned(inspection: Inspection) -> Submission | None:
    """The latest submission if head office returned it and the inspector has not resubmitted."""
    latest = inspection.submissions[-1] if inspection.submissions else None
    if latest is not None and latest.returned_at and inspection.status == Status.DRAFT:
        return latest
    return None


def visible_to(user: User) -> Select:
    """Inspections `user` may open: the one rule every list and page goes through."""
    query = select(Inspection)
    role = Role(user.role)
    if role is Role.ADMIN:
        return query
    if role in INSPECTING:  # an agency's inspector or a bank checker: their own
        return query.where(Inspection.inspector_id == user.id)
    released = query.where(Inspection.status == Status.RELEASED)
    if role is Role.OUTLET_MANAGER:
        return released.where(Inspection.outlet_id == user.outlet_id)
    return released.join(Outlet, Inspection.outlet_id == Outlet.id).where(
        Outlet.sub_branch_id == user.sub_branch_id
    )


def get_visible(session: Session, user: User, inspection_id: int) -> Inspection:
    """Raises Refused("not_found", 404) when the user may not see it: no data leaks."""
    inspection = session.scalar(visible_to(user).where(Inspection.id == inspection_id))
    if inspection is None:
        raise Refused("not_found", 404)
    return inspection


@dataclass(frozen=True)
class Filters:
    period_id: int | None = None
    sub_branch_id: int | None = None
    outlet_id: int | None = None
    band: str | None = None
    status: str | None = None
    by_rank: bool = False  # best first by band, then score (scoring.rank_key); else newest


def rank_order(bands: Sequence[scoring.Band]) -> tuple[Any, ...]:
    """ORDER BY terms ranking as `scoring.rank_key` does: band first, then score, the
    unscored last; so a 95 whose red line failed never ranks above a clean 86."""
    band_rank = case(
        {b.code: n for n, b in enumerate(bands)}, value=Inspection.band, else_=len(bands)
    )
    return (band_rank, Inspection.score.desc().nulls_last(), Inspection.id)


def search(
    session: Session,
    user: User,
    filters: Filters,
    *,
    limit: int = 50,
    offset: int = 0,
    bands: Sequence[scoring.Band] = (),
) -> tuple[list[Inspection], int]:
    """Inspections `user` may see that match `filters`, newest first (or by rank, which
    needs `bands`), with the total count."""
    query = visible_to(user)
    if filters.period_id:
        query = query.where(Inspection.period_id == filters.period_id)
    if filters.outlet_id:
        query = query.where(Inspection.outlet_id == filters.outlet_id)
    if filters.sub_branch_id:
        query = query.where(
            Inspection.outlet_id.in_(
                select(Outlet.id).where(Outlet.sub_branch_id == filters.sub_branch_id)
            )
        )
    if filters.band:
        query = query.where(Inspection.band == filters.band)
    if filters.status:
        query = query.where(Inspection.status == filters.status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = (
        rank_order(bands)
        if filters.by_rank
        else (Inspection.submitted_at.desc().nulls_last(), Inspection.id.desc())
    )
    rows = session.scalars(query.order_by(*order).limit(limit).offset(offset))
    return list(rows), total
