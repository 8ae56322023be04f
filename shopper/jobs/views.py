"""Head office's jobs page: start a period's notices, overdue reminders or the sweep, and
watch a queued job's progress (its page polls /office/jobs/<id>/progress). The exports page
starts the period report and a period's XLSX exports here (with a queue only); a finished
export is downloaded from /office/jobs/<id>/download."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, StringField
from wtforms.validators import Optional

from shopper.auth.access import allow
from shopper.auth.models import Role
from shopper.errors import REFUSALS
from shopper.extensions import db
from shopper.forms import require_valid
from shopper.jobs import queue, results_tasks, tasks
from shopper.periods.models import Period
from shopper.refusals import Refused

bp = Blueprint("jobs", __name__, url_prefix="/office/jobs")
head_office = allow(Role.ADMIN)

REFUSALS["job_period_required"] = _l("Choose the period whose notices to issue.")
REFUSALS["job_results_period_required"] = _l("Choose the period to report on or export.")
REFUSALS["job_export_kind_unknown"] = _l("Choose one of the period's exports.")
REFUSALS["job_no_file"] = _l(
    "This job has no file to download: it is not an export, or not done yet."
)


class ActionForm(FlaskForm):
    """A button: the CSRF token only."""


class IssueNoticesForm(FlaskForm):
    period = IntegerField(validators=[Optional()])


class ResultsJobForm(FlaskForm):
    """The period report or an XLSX export of a period, from the exports page."""

    period = IntegerField(validators=[Optional()])
    kind = StringField(validators=[Optional()])


def _results_period(form: ResultsJobForm) -> Period:
    wanted = form.period.data
    period = db.session.get(Period, wanted) if wanted and 0 < wanted < 2**31 else None
    if period is None:
        raise Refused("job_results_period_required")
    return period


def _lang() -> str:
    return str(get_locale() or "zh_CN")


def _started(info: queue.JobInfo, summary: str):
    """To the job's page when it is queued; back to the list with its summary when it ran
    here (no queue configured)."""
    if info.id is not None:
        return redirect(url_for(".show", job_id=info.id))
    flash(summary, "info")
    return redirect(url_for(".index"))


@bp.get("")
@head_office
def index():
    periods = db.session.scalars(select(Period).order_by(Period.starts_on.desc()))
    return render_template(
        "jobs/index.html",
        form=ActionForm(),
        periods=[(p.id, p.code) for p in periods],
        queued=queue.configured(),
        jobs=[_row(info) for info in queue.recent()],
    )


@bp.post("/issue-notices")
@head_office
def issue_notices():
    form = IssueNoticesForm()
    require_valid(form)
    wanted = form.period.data
    period = db.session.get(Period, wanted) if wanted and 0 < wanted < 2**31 else None
    if period is None:
        raise Refused("job_period_required")
    # in process (no queue) the request signs in its own thread: no processes forked from a
    # threaded server
    workers = None if queue.configured() else 0
    info = queue.enqueue(
        tasks.ISSUE_NOTICES,
        by=current_user.id,
        period=period.code,
        user_id=current_user.id,
        workers=workers,
    )
    return _started(info, _summary(info))


@bp.post("/remind-overdue")
@head_office
def remind_overdue():
    require_valid(ActionForm())
    info = queue.enqueue(tasks.REMIND_OVERDUE, by=current_user.id)
    return _started(info, _summary(info))


@bp.post("/sweep")
@head_office
def sweep():
    require_valid(ActionForm())
    info = queue.enqueue(tasks.SWEEP, by=current_user.id)
    return _started(info, _summary(info))


@bp.post("/period-report")
@head_office
def period_report():
    """The signed period report on a worker; without a queue, here and now, back to the
    exports page with its number (as the page's own button)."""
    form = ResultsJobForm()
    require_valid(form)
    period = _results_period(form)
    info = queue.enqueue(
        results_tasks.PERIOD_REPORT,
        by=current_user.id,
        period=period.code,
        user_id=current_user.id,
        lang=_lang(),
    )
    if info.id is not None:
        return redirect(url_for(".show", job_id=info.id))
    flash(_summary(info), "info")
    return redirect(url_for("exports.index", period_id=period.id) + "#reports")


@bp.post("/export")
@head_office
def export_period():
    """A period's XLSX export on a worker; without a queue, the page's direct download."""
    from shopper.results import exports

    form = ResultsJobForm()
    require_valid(form)
    period = _results_period(form)
    kind = form.kind.data or ""
    if kind not in exports.EXPORTS:
        raise Refused("job_export_kind_unknown")
    if not queue.configured():  # streamed to the browser, as without jobs
        return redirect(
            url_for("exports.download", period_id=period.id, kind=kind, fmt=results_tasks.XLSX)
        )
    info = queue.enqueue(
        results_tasks.EXPORT_PERIOD, by=current_user.id, period=period.code, kind=kind, lang=_lang()
    )
    return redirect(url_for(".show", job_id=info.id))


@bp.get("/<job_id>/download")
@head_office
def download(job_id: str):
    """A finished export's XLSX, streamed from storage."""
    from shopper.photos import service as photos

    info = queue.find(job_id)
    if info is None:
        raise Refused("not_found", 404)
    key = _export_key(info)
    if key is None:
        raise Refused("job_no_file", 404)
    try:
        stored = photos.storage().open(key)
    except KeyError:
        raise Refused("job_no_file", 404) from None
    name = str((info.result or {}).get("filename") or "export.xlsx")
    return Response(
        stored,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        direct_passthrough=True,
        headers={
            "Content-Length": str(stored.size),
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


def _export_key(info: queue.JobInfo) -> str | None:
    """The stored XLSX a finished export job made (only ever one under exports/)."""
    if info.name != results_tasks.EXPORT_PERIOD or info.status != "finished":
        return None
    key = (info.result or {}).get("key")
    if not isinstance(key, str) or not key.startswith(results_tasks.EXPORT_PREFIX):
        return None
    return key


@bp.get("/<job_id>")
@head_office
def show(job_id: str):
    info = queue.find(job_id)
    if info is None:
        abort(404)
    return render_template("jobs/show.html", job=_row(info))


@bp.get("/<job_id>/progress")
@head_office
def progress(job_id: str):
    info = queue.find(job_id)
    if info is None:
        abort(404)
    row = _row(info)
    return jsonify(
        {
            **info.as_json(),
            "status_label": row["status_label"],
            "summary": row["summary"],
            "percent": row["percent"],
        }
    )


# ---- plain data for the templates ------------------------------------------------------


def _status_labels() -> dict[str, str]:
    return {
        "queued": _("Waiting for a worker"),
        "started": _("Running"),
        "retrying": _("Failed; will be tried again"),
        "finished": _("Done"),
        "finished_here": _("Done"),
        "failed": _("Failed"),
    }


def _title(name: str) -> str:
    try:
        return str(queue.spec(name).title)
    except KeyError:
        return name


def _summary(info: queue.JobInfo) -> str:
    """One sentence about what the job did (or has done so far)."""
    counts = info.result or info.progress
    if not counts:  # waiting for a worker: nothing done yet to speak of
        return ""
    if info.name == tasks.ISSUE_NOTICES:
        made, skipped = counts.get("made", 0), counts.get("skipped", 0)
        failed = counts.get("failed", 0)
        failed = len(failed) if isinstance(failed, list) else failed
        return _(
            "Notices: %(made)d issued, %(skipped)d issued before, %(failed)d failed.",
            made=made,
            skipped=skipped,
            failed=failed,
        )
    if info.name == tasks.REMIND_OVERDUE:
        reminded = counts.get("reminded", 0)
        return ngettext(
            "%(num)d notice with overdue findings reminded.",
            "%(num)d notices with overdue findings reminded.",
            reminded,
        )
    if info.name == results_tasks.PERIOD_REPORT:
        number = counts.get("number")
        return _("Report %(number)s issued and signed.", number=number) if number else ""
    if info.name == results_tasks.EXPORT_PERIOD:
        rows = counts.get("rows")
        if not isinstance(rows, int):
            return ""
        return ngettext("%(num)d row written.", "%(num)d rows written.", rows)
    if info.name == tasks.SWEEP:
        files, sessions = counts.get("files", 0), counts.get("sessions", 0)
        return _(
            "%(files)d unreferenced files and %(sessions)d expired sign-ins removed.",
            files=files,
            sessions=sessions,
        )
    return ""


def _row(info: queue.JobInfo) -> dict:
    done, total = info.progress.get("done"), info.progress.get("total")
    if info.status in ("finished", "finished_here"):
        percent = 100
    elif isinstance(done, int) and isinstance(total, int) and total > 0:
        percent = min(100, round(100 * done / total))
    else:
        percent = None
    failed = (info.result or {}).get("failed") or []
    return {
        "id": info.id,
        "name": info.name,
        "title": _title(info.name),
        "status": info.status,
        "status_label": _status_labels().get(info.status, info.status),
        "period": info.kwargs.get("period"),
        "done": done,
        "total": total,
        "percent": percent,
        "summary": _summary(info),
        "failures": [" — ".join(map(str, f)) for f in failed if isinstance(f, list)][:20],
        "error": info.error,
        "attempt": info.attempt,
        "enqueued_at": info.enqueued_at,
        "ended_at": info.ended_at,
        "finished": info.done,
        "file": _file(info),
    }


def _file(info: queue.JobInfo) -> dict | None:
    """What a finished results job made, to download: an export's XLSX or the report."""
    result = info.result or {}
    if info.status not in ("finished", "finished_here"):
        return None
    if info.name == results_tasks.EXPORT_PERIOD and info.id and _export_key(info):
        return {
            "url": url_for(".download", job_id=info.id),
            "name": str(result.get("filename") or ""),
            "label": _("Download XLSX"),
        }
    if info.name == results_tasks.PERIOD_REPORT and result.get("number"):
        period_id = result.get("period_id")
        return {
            "url": url_for("exports.report_pdf", period_id=period_id, number=str(result["number"])),
            "name": f"{result['number']}.pdf",
            "label": _("Download PDF"),
        }
    return None
