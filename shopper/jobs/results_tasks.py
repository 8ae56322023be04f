"""A period's results as jobs (issue 17): the signed period report and the XLSX exports of a
whole period. Each calls the same function as the exports page (shopper.results.report /
.exports); an XLSX is kept in storage under its content's hash and downloaded from
/office/jobs/<id>/download.
"""

from __future__ import annotations

import hashlib
import tempfile
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from shopper.auth.models import User
from shopper.extensions import db
from shopper.jobs.queue import Progress, job
from shopper.notices import document
from shopper.periods.models import Period

PERIOD_REPORT = "period_report"
EXPORT_PERIOD = "export_period"
EXPORT_PREFIX = "exports/"
XLSX = "xlsx"


def export_key(sha256: str) -> str:
    """Where an export is kept: content-addressed, so the same rows are kept once."""
    return f"{EXPORT_PREFIX}{sha256[:2]}/{sha256}.{XLSX}"


def _period(code: str) -> Period:
    period = db.session.scalar(select(Period).where(Period.code == code))
    if period is None:
        raise LookupError(f"no period {code}")
    return period


# A report is a new numbered, signed document each time: never run twice on its own (a
# failed one is simply asked for again).
@job(PERIOD_REPORT, title=_l("Period report"), retries=0, timeout=3600)
def period_report(
    progress: Progress, *, period: str, user_id: int | None = None, lang: str = "zh_CN"
) -> dict[str, Any]:
    """A new signed report of `period` in `lang`, as the exports page's button makes it."""
    from shopper.photos import service as photos
    from shopper.results import report

    session = db.session
    found = _period(period)
    user = session.get(User, user_id) if user_id else None
    issued = report.issue(session, photos.storage(), user, found, current_app.config, lang=lang)
    session.commit()
    progress.update(number=issued.number)
    return {
        "period": period,
        "period_id": found.id,
        "number": issued.number,
        "url": f"/office/results/{found.id}/reports/{issued.number}.pdf",
        "size": issued.size,
    }


@job(EXPORT_PERIOD, title=_l("XLSX export of a period"), retries=3, timeout=3600)
def export_period(
    progress: Progress, *, period: str, kind: str, lang: str = "zh_CN"
) -> dict[str, Any]:
    """The XLSX export `kind` of the whole `period`, built in a temporary file and kept in
    storage under its SHA-256 (written before the job's result names it). Idempotent: the
    same rows give the same key."""
    from shopper.photos import service as photos
    from shopper.results import exports

    if kind not in exports.EXPORTS:
        raise LookupError(f"no export {kind}")
    found = _period(period)
    locale = document.locale_for(lang)
    options = {
        "lang": locale,
        "checklist_order": current_app.config["CHECKLIST_ORDER"],
        "config": current_app.config,
    }
    # no count of rows before they are written: the page's bar runs until the job is done
    with tempfile.TemporaryFile(prefix="shopper-export-") as spool, force_locale(locale):
        rows = exports.export_xlsx(db.session, found, kind, spool, options)
        progress.update(rows=rows)
        spool.seek(0)
        data = spool.read()
    sha = hashlib.sha256(data).hexdigest()
    key = export_key(sha)
    photos.storage().put(key, data)
    progress.update(rows=rows, stored=True)
    return {
        "period": period,
        "kind": kind,
        "rows": rows,
        "key": key,
        "filename": exports.filename(found, kind, XLSX),
        "size": len(data),
    }
