"""Issue every due notice of a period, rendering and signing on every CPU core.

The main process prepares each notice (number, context, HTML: it needs the app and the
database), worker processes turn HTML into signed PDFs (WeasyPrint and pyHanko, the bulk of the
cost), and the main process stores each PDF before its row. One failure never stops the rest.

Notices go in chunks. Each chunk first takes the period's numbering lock (its notice counter
row), then looks again which of its inspections still have no notice, prepares, signs and
records them, and then `checkpoint()` (a job commits there). So a run that dies, or a job
retried after its worker died, finds what was committed and issues only the rest; two runs at
once wait for each other's chunks and never issue a notice twice. Numbers are allocated inside
the chunk's transaction: a chunk that never commits used none.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from shopper.auth.models import User
from shopper.inspections.models import Inspection, Status
from shopper.notices import service, signing
from shopper.notices.models import Kind, Notice, NoticeCounter
from shopper.periods.models import Period
from shopper.photos.service import storage
from shopper.refusals import Refused

Progress = Callable[..., None]  # progress(done=, total=, made=, skipped=, failed=)


def due_inspections(session: Session, period: Period) -> tuple[list[Inspection], int]:
    """Released inspections of the period with no notice yet; and how many already have one."""
    released = (Inspection.period_id == period.id, Inspection.status == Status.RELEASED)
    has_notice = exists().where(Notice.inspection_id == Inspection.id)
    due = list(
        session.scalars(select(Inspection).where(*released, ~has_notice).order_by(Inspection.id))
    )
    skipped = session.scalar(
        select(func.count()).select_from(Inspection).where(*released, has_notice)
    )
    return due, skipped or 0


def lock_numbering(session: Session, prefix: str) -> None:
    """Take the write lock of `prefix`'s notice counter until the transaction ends (an UPDATE
    that changes nothing; the row is made at 0 if there is none). On PostgreSQL the row lock,
    on SQLite the database's write lock: what is read after it is what was committed."""
    bumped = session.execute(
        update(NoticeCounter)
        .where(NoticeCounter.prefix == prefix)
        .values(last=NoticeCounter.last)
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount == 0:
        session.add(NoticeCounter(prefix=prefix, last=0))
        session.flush()


def issue_period(
    session: Session,
    app: Flask,
    period_code: str,
    *,
    workers: int | None = None,
    user: User | None = None,
    progress: Progress | None = None,
    checkpoint: Callable[[], None] | None = None,
    chunk: int | None = None,
) -> tuple[int, int, list[tuple[str, str]]]:
    """(made, skipped, failed as (what, reason)). Raises LookupError for an unknown period.

    `workers`: signing processes (default: every CPU core; 0 signs in this process).
    `checkpoint` is called after each chunk (a job commits there); without it the caller
    commits once at the end. Idempotent: a notice already issued is skipped."""
    period = session.scalar(select(Period).where(Period.code == period_code))
    if period is None:
        raise LookupError(f"no period {period_code}")
    store = storage()
    settings = service.Settings.from_config(app.config)
    settings.ready()
    processes = (os.cpu_count() or 1) if workers is None else workers
    size = chunk or max(2 * processes, 2)
    report = progress or (lambda **_fields: None)
    due, skipped = due_inspections(session, period)
    ids = [inspection.id for inspection in due]
    branches = _branches_due(session, period)
    total = len(ids) + branches
    made, done = 0, 0
    failed: list[tuple[str, str]] = []

    def tell() -> None:
        report(done=done, total=total, made=made, skipped=skipped, failed=len(failed))

    tell()
    with _signer(processes) as pool:
        for part in _chunks(ids, size):
            lock_numbering(session, f"ZG-{period.code}")
            issued = set(
                session.scalars(select(Notice.inspection_id).where(Notice.inspection_id.in_(part)))
            )
            skipped += len(issued)
            jobs: list[tuple[str, service.Prepared]] = []
            query = select(Inspection).where(Inspection.id.in_(set(part) - issued))
            for inspection in session.scalars(query.order_by(Inspection.id)):
                what = f"outlet {inspection.outlet.code}"
                # one savepoint at a time, closed before the next opens: a failure undoes only
                # its own
                savepoint = session.begin_nested()
                try:
                    today = service.local_today(inspection.outlet.timezone)
                    if service.open_findings(session, inspection, settings, today):
                        prepared = service.prepare_outlet_notice(
                            session, store, inspection, settings
                        )
                        jobs.append((what, prepared))
                    savepoint.commit()
                except Exception as exc:  # noqa: BLE001 - reported, the rest go on
                    savepoint.rollback()
                    failed.append((what, _reason(exc)))
            made += _sign_and_record(session, store, user, pool, settings, jobs, failed)
            if checkpoint:
                checkpoint()
            done += len(part)
            tell()
        lock_numbering(session, f"ZGS-{period.code}")
        skipped += (
            session.scalar(
                select(func.count())
                .select_from(Notice)
                .where(Notice.kind == Kind.SUB_BRANCH, Notice.period_id == period.id)
            )
            or 0
        )
        jobs = []
        savepoint = session.begin_nested()
        try:
            span = service.Range(period.starts_on, period.ends_on, period)
            for prepared in service.prepare_sub_branch_notices(
                session, span, settings, skip_issued=True
            ):
                jobs.append((f"sub-branch {prepared.context['sub_branch']}", prepared))
            savepoint.commit()
        except Refused as exc:
            savepoint.rollback()
            if exc.code != "nothing_in_range":
                failed.append(("sub-branch notices", exc.code))
        made += _sign_and_record(session, store, user, pool, settings, jobs, failed)
        if checkpoint:
            checkpoint()
        done = total
        tell()
    return made, skipped, failed


def _branches_due(session: Session, period: Period) -> int:
    """Sub-branches with a released inspection in the period and no report of it yet (for
    the progress count; the notices themselves decide)."""
    from shopper.org.models import Outlet

    with_released = set(
        session.scalars(
            select(Outlet.sub_branch_id)
            .join(Inspection, Inspection.outlet_id == Outlet.id)
            .where(Inspection.period_id == period.id, Inspection.status == Status.RELEASED)
            .distinct()
        )
    )
    reported = set(
        session.scalars(
            select(Notice.sub_branch_id).where(
                Notice.kind == Kind.SUB_BRANCH, Notice.period_id == period.id
            )
        )
    )
    return len(with_released - reported)


def _chunks(ids: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


class _InProcess(Executor):
    """Signs in this process (a web request without a queue: no processes forked from a
    threaded server)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - the caller reads it from the future
            future.set_exception(exc)
        return future


@contextmanager
def _signer(processes: int) -> Iterator[Executor]:
    if processes <= 0:
        yield _InProcess()
        return
    with ProcessPoolExecutor(max_workers=processes) as pool:
        yield pool


def _sign_and_record(
    session: Session,
    store: Any,
    user: User | None,
    pool: Executor,
    settings: service.Settings,
    jobs: list[tuple[str, service.Prepared]],
    failed: list[tuple[str, str]],
) -> int:
    futures: list[Future[bytes] | None] = []
    for what, prepared in jobs:
        try:  # a notice that cannot be rendered fails alone
            html = prepared.html()
        except Exception as exc:  # noqa: BLE001 - reported, the rest go on
            failed.append((what, _reason(exc)))
            futures.append(None)
            continue
        futures.append(
            pool.submit(
                signing.pdf_and_sign_from_html,
                html,
                settings.signer_args,
                prepared.sign_kwargs(settings),
            )
        )
    made = 0
    for (what, prepared), future in zip(jobs, futures, strict=True):
        if future is None:
            continue
        savepoint = session.begin_nested()
        try:
            service.record_prepared(session, store, user, prepared, future.result())
            savepoint.commit()
            made += 1
        except Exception as exc:  # noqa: BLE001 - reported, the rest go on
            savepoint.rollback()
            failed.append((what, _reason(exc)))
    return made


def _reason(exc: Exception) -> str:
    if isinstance(exc, Refused):
        return exc.code
    return f"{type(exc).__name__}: {exc}"
