"""Issue every due notice of a period, rendering and signing on every CPU core.

The main process prepares each notice (number, context, HTML: it needs the app and the
database), worker processes turn HTML into signed PDFs (WeasyPrint and pyHanko, the bulk of the
cost), and the main process stores each PDF before its row. One failure never stops the rest.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from shopper.inspections.models import Inspection, Status
from shopper.notices import service, signing
from shopper.notices.models import Kind, Notice
from shopper.periods.models import Period
from shopper.photos.service import storage
from shopper.refusals import Refused


def due_inspections(session: Session, period: Period) -> tuple[list[Inspection], int]:
    """Released inspections of the period with a failed item and no notice yet; and how many
    already have one."""
    due, skipped = [], 0
    query = select(Inspection).where(
        Inspection.period_id == period.id, Inspection.status == Status.RELEASED
    )
    for inspection in session.scalars(query.order_by(Inspection.id)):
        if session.scalar(select(Notice.id).where(Notice.inspection_id == inspection.id)):
            skipped += 1
        else:
            due.append(inspection)
    return due, skipped


def issue_period(
    session: Session, app: Flask, period_code: str, *, workers: int | None = None
) -> tuple[int, int, list[tuple[str, str]]]:
    """(made, skipped, failed as (what, reason)). Raises LookupError for an unknown period.
    The caller commits."""
    period = session.scalar(select(Period).where(Period.code == period_code))
    if period is None:
        raise LookupError(f"no period {period_code}")
    store = storage()
    settings = service.Settings.from_config(app.config)
    settings.ready()
    failed: list[tuple[str, str]] = []
    jobs: list[tuple[str, service.Prepared]] = []
    due, skipped = due_inspections(session, period)
    for inspection in due:
        what = f"outlet {inspection.outlet.code}"
        # one savepoint at a time, closed before the next opens: a failure undoes only its own
        savepoint = session.begin_nested()
        try:
            today = service.local_today(inspection.outlet.timezone)
            if service.open_findings(session, inspection, settings, today):
                jobs.append(
                    (what, service.prepare_outlet_notice(session, store, inspection, settings))
                )
            savepoint.commit()
        except Exception as exc:  # noqa: BLE001 - reported, the rest go on
            savepoint.rollback()
            failed.append((what, _reason(exc)))
    has_branch_notice = session.scalar(
        select(func.count())
        .select_from(Notice)
        .where(Notice.kind == Kind.SUB_BRANCH, Notice.period_id == period.id)
    )
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
    skipped += has_branch_notice or 0
    htmls = [(prepared.html(), prepared.sign_kwargs(settings)) for _what, prepared in jobs]
    made = 0
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        futures = [
            pool.submit(signing.pdf_and_sign_from_html, html, settings.signer_args, kwargs)
            for html, kwargs in htmls
        ]
        for (what, prepared), future in tqdm(
            zip(jobs, futures, strict=True), total=len(jobs), desc="notices", unit="notice"
        ):
            savepoint = session.begin_nested()
            try:
                service.record_prepared(session, store, None, prepared, future.result())
                savepoint.commit()
                made += 1
            except Exception as exc:  # noqa: BLE001 - reported, the rest go on
                savepoint.rollback()
                failed.append((what, _reason(exc)))
    return made, skipped, failed


def _reason(exc: Exception) -> str:
    if isinstance(exc, Refused):
        return exc.code
    return f"{type(exc).__name__}: {exc}"
