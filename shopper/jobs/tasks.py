"""The jobs Shopper ships: a period's notices, overdue reminders, the sweep.

Each commits its own work (in chunks, so a retry after a crash goes on from there) and is
idempotent: run twice, or retried after its worker died, it changes nothing more.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from shopper.auth.models import User
from shopper.extensions import db
from shopper.jobs import reminders
from shopper.jobs.queue import Progress, job

ISSUE_NOTICES = "issue_notices"
REMIND_OVERDUE = "remind_overdue"
SWEEP = "sweep"


@job(ISSUE_NOTICES, title=_l("Issue a period's notices"), retries=3, timeout=6 * 3600)
def issue_notices(
    progress: Progress, *, period: str, user_id: int | None = None, workers: int | None = None
) -> dict[str, Any]:
    """Every due outlet and sub-branch notice of `period` (shopper.notices.bulk), committed
    chunk by chunk. `workers`: signing processes (None: every core; 0: this process)."""
    from shopper.notices import bulk

    session = db.session
    user = session.get(User, user_id) if user_id else None
    made, skipped, failed = bulk.issue_period(
        session,
        current_app,
        period,
        workers=workers,
        user=user,
        progress=progress,
        checkpoint=session.commit,
    )
    session.commit()
    return {
        "period": period,
        "made": made,
        "skipped": skipped,
        "failed": [[what, reason] for what, reason in failed],
    }


@job(REMIND_OVERDUE, title=_l("Remind outlets of overdue findings"), retries=3)
def remind_overdue(progress: Progress) -> dict[str, Any]:
    """A 'reminded' event on each current notice with an overdue finding, once a day."""
    session = db.session
    reminded, already = reminders.remind_overdue(
        session, progress=progress, checkpoint=session.commit
    )
    session.commit()
    return {"reminded": reminded, "already": already}


@job(SWEEP, title=_l("Sweep unreferenced files and expired sign-ins"), retries=3)
def sweep(progress: Progress, *, dry_run: bool = False) -> dict[str, Any]:
    """As `flask sweep`: stored files no row points at (past the grace period; on this
    machine's disk or in the bucket) and expired sign-in sessions. Storage not answering
    raises (RQ tries again later)."""
    from shopper.photos.service import storage
    from shopper.photos.storage import LocalStorage
    from shopper.sweep import sweep_files, sweep_objects, sweep_sessions

    session = db.session
    store = storage()
    grace = float(current_app.config["SWEEP_GRACE_SECONDS"])
    progress.update(done=0, total=2)
    if isinstance(store, LocalStorage):
        swept = sweep_files(session, store.root, grace, dry_run=dry_run)
    else:
        swept = sweep_objects(session, store, grace, dry_run=dry_run)
    progress.update(done=1, total=2, files=len(swept.files))
    swept.sessions = sweep_sessions(session, dry_run=dry_run)
    session.commit()
    progress.update(done=2, total=2, files=len(swept.files), sessions=swept.sessions)
    return {"files": len(swept.files), "bytes": swept.bytes, "sessions": swept.sessions}
