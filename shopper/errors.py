"""One handler per status: a sentence in the user's language, as a page or as JSON.

Every handler rolls the database session back first and renders without the database
(the page's layout reads who is signed in from what was loaded before the error), so a
failed flush or a database that is down gives a sentence, never a bare 500.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask import Flask, g, jsonify, render_template, request
from flask_babel import format_time
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from shopper.auth import throttle
from shopper.auth.access import loaded_viewer, settle_viewer, wants_json
from shopper.db import database_unavailable, release_session
from shopper.extensions import db
from shopper.refusals import Refused

log = logging.getLogger(__name__)

STATUS_MESSAGES = {
    400: _l("The request could not be understood. Please check what you entered and try again."),
    401: _l("Please sign in to continue."),
    403: _l("Your account does not have access to this page."),
    404: _l("This page does not exist, or you do not have access to it."),
    405: _l("This action is not available here."),
    409: _l("This could not be done in the current state. Reload the page and try again."),
    413: _l("The file is too large. Photos may be at most 25 MB."),
    500: _l("Something went wrong on our side. Nothing was saved; please try again."),
}

REFUSALS = {
    "not_found": STATUS_MESSAGES[404],
    "period_closed": _l("This period is closed; no new inspections can be started in it."),
    "bad_mode": _l("Choose whether the inspection is on site or by video."),
    "no_checklists": _l("No checklist has been published yet; ask head office."),
    "already_submitted": _l("This inspection has been submitted and can no longer be changed."),
    "unknown_item": _l("Item %(item)s is not part of this inspection's checklists."),
    "bad_result": _l("An answer must be pass, fail or not applicable."),
    "na_not_allowed": _l("Item %(item)s cannot be marked not applicable."),
    "note_too_long": _l("The note is too long: at most %(limit)s characters."),
    "conflict": _l("This answer was saved from somewhere else at the same moment; try again."),
    "uuid_reused": _l(
        "This change was sent with an identifier already used for another one. "
        "Reload the page and try again."
    ),
    "result_first": _l("Choose pass, fail or N/A for item %(item)s before writing its note."),
    "incomplete": _l("The inspection cannot be submitted yet: some items need attention."),
    # ---- the visit record, check-in and submission ----
    "attestation_required": _l(
        "Tick “What I recorded is what I observed” before submitting the inspection."
    ),
    "confirm_required": _l(
        "Confirm the submission: once submitted, the inspection can no longer be changed."
    ),
    "visit_bad_time": _l("Times are hours and minutes, such as 09:30."),
    "visit_time_future": _l("A time of the visit is later than now. Please check the times."),
    "visit_departure_order": _l("The departure time must be after the arrival time."),
    "visit_called_order": _l("The ticket cannot have been called before it was taken."),
    "visit_queue_outside": _l(
        "The queue ticket must be taken and called between arrival and departure."
    ),
    "visit_bad_count": _l("Counts are whole numbers, such as 3."),
    "visit_customers_range": _l("Customers waiting must be between 0 and %(limit)s."),
    "visit_windows_range": _l("The number of windows must be between 0 and %(limit)s."),
    "visit_windows_open": _l("More windows are open than the outlet has. Please check both."),
    "visit_business_too_long": _l(
        "The business transacted is too long: at most %(limit)s characters."
    ),
    "visit_number_too_long": _l(
        "The window and badge numbers may be at most %(limit)s characters."
    ),
    "checkin_video": _l("A video inspection has no visit to check in to."),
    "bad_coordinates": _l("The phone's location could not be read. Please check in again."),
    # ---- end of the visit record, check-in and submission ----
    # ---- release, notices and the rectification loop ----
    "not_waiting_for_release": _l(
        "This inspection is not waiting for release: it was released, returned or changed "
        "meanwhile. Reload the page."
    ),
    "reason_required": _l("Give a reason: the other side reads it."),
    "reason_too_long": _l("The reason is too long: at most %(limit)s characters."),
    "text_required": _l("Write what was done, or why the finding is disputed."),
    "text_too_long": _l("The text is too long: at most %(limit)s characters."),
    "bad_response_kind": _l("Choose whether the finding was rectified or is disputed."),
    "bad_decision": _l("Choose a decision that fits this answer."),
    "finding_not_open": _l(
        "This finding is not waiting for an answer: it was answered or closed meanwhile."
    ),
    "response_decided": _l("This answer has been decided already. Reload the page."),
    "dispute_too_late": _l(
        "Disputes had to be made by %(date)s. The finding can still be answered as rectified."
    ),
    "no_findings": _l("This inspection has no failed item, so there is no notice to issue."),
    "not_released": _l("Notices are issued for released inspections only."),
    "bad_range": _l("Choose a period, or a start and end date with the start first."),
    "nothing_in_range": _l("No released inspection falls in that range."),
    "too_many_photos": _l("At most %(limit)s photos per answer."),
    # ---- end of release, notices and the rectification loop ----
    # ---- periods and features ----
    "period_bad_code": _l("A period's code is 1 to 20 letters, digits or hyphens, such as 2027Q1."),
    "period_code_taken": _l("There is already a period %(period)s. Choose another code."),
    "period_dates_required": _l("Give the period's first and last day."),
    "period_bad_date": _l("Write dates as year-month-day, such as 2027-01-01."),
    "period_ends_before_start": _l("The period's last day cannot be before its first day."),
    "period_bad_version": _l("Choose one of the versions on offer for each checklist."),
    "period_started": _l(
        "Inspections of period %(period)s have started, so its checklist versions can no longer "
        "change. Make a new period to use other versions."
    ),
    "feature_bad_code": _l(
        "A feature's code is 1 to 40 lower-case letters, digits or underscores, such as vip_room."
    ),
    "feature_code_taken": _l("There is already a feature %(feature)s."),
    "feature_names_required": _l("Give the feature's Chinese and English names."),
    "feature_name_too_long": _l("A feature's name may be at most %(limit)s characters."),
    "feature_has_outlets": _l(
        "Feature %(feature)s cannot be deleted while outlets have it (%(count)s). "
        "Untick it in the outlet profiles first."
    ),
    "feature_needed": _l(
        "Feature %(feature)s cannot be deleted: items of these checklist versions need it: "
        "%(versions)s."
    ),
    "profile_stale": _l(
        "Outlets or features changed since this page was loaded. Reload the page and try again."
    ),
    # ---- end of periods and features ----
    # ---- checklists: editor, versions, N/A set at the start ----
    "preset_na_outlet": _l(
        "Item %(item)s does not apply to this outlet: it was set to N/A at the start and "
        "cannot be changed."
    ),
    "preset_na_video": _l(
        "Item %(item)s cannot be judged on video: it was set to N/A at the start and "
        "cannot be changed."
    ),
    "bad_checklist_code": _l(
        "A checklist code is 1 to 40 lower-case letters, digits or underscores, such as six_s."
    ),
    "bad_draft": _l("The draft could not be read. Reload the page and try again."),
    "draft_too_large": _l("The checklist is too large: at most 1 MB."),
    "draft_changed": _l(
        "This draft was changed in another tab or by someone else. Reload the page to see "
        "the latest draft."
    ),
    "draft_invalid": _l(
        "The draft cannot be published yet: %(count)s problems are marked in the editor."
    ),
    "draft_unchanged": _l(
        "The draft is the same as the latest version, so there is nothing to publish."
    ),
    "version_withdrawn": _l("This version has already been withdrawn."),
    "version_in_use": _l("This version cannot be withdrawn: a period or an inspection uses it."),
    # ---- end of checklists ----
    "audit_bad_subject": _l("Choose an inspection, a notice or an account, and give its number."),
    "bad_form": _l("Some fields are missing or invalid: %(fields)s."),
    "photo_empty": _l("The file is empty. Please take or choose the photo again."),
    "photo_too_large": _l("The photo is too large. Photos may be at most 25 MB."),
    "photo_not_an_image": _l(
        "This file is not a photo. Please choose a JPEG, PNG, WebP or HEIC image."
    ),
    "photo_unsupported_type": _l(
        "This kind of file is not accepted. Please choose a JPEG, PNG, WebP or HEIC image."
    ),
    "photo_corrupt": _l("The photo is damaged or incomplete. Please take it again."),
    "photo_too_many_pixels": _l("The image has too many pixels (at most 50 megapixels)."),
    "photo_too_small": _l("The image is too small to serve as evidence."),
    "photo_bad_aspect_ratio": _l("The image is too narrow or too wide to be a photo."),
    "photo_too_many_pixels_for_type": _l(
        "The image has too many pixels: %(format)s images may have at most "
        "%(megapixels)s megapixels."
    ),
    "photo_busy": _l("The server is busy with other large photos. Please try again in a minute."),
    "photo_bad_captured_at": _l(
        "The time the photo was taken is not valid: it must be a date and time such as "
        "2026-11-23T10:31:05+08:00, not in the future and not before 2000."
    ),
    "photo_bad_source": _l("The photo's source must be the camera or the gallery."),
}


def refusal_message(refusal: Refused) -> str:
    template = REFUSALS.get(refusal.code) or STATUS_MESSAGES.get(refusal.status, "")
    params = {k: v for k, v in refusal.params.items() if isinstance(v, (str, int))}
    return str(template) % params if params else str(template)


# ---- production trust ----
REFUSALS["nul_character"] = _l(
    "The text contains a character that cannot be stored (a NUL). "
    "Please remove it, or type the text again."
)
REFUSALS["number_out_of_range"] = _l(
    "A number in the form is far too large to mean anything here. Please check it."
)
REFUSALS["sign_in_locked"] = _l(
    "Too many failed sign-ins for this account. Try again after %(time)s, "
    "or ask head office to lift the lock."
)
REFUSALS["sign_in_address_blocked"] = _l(
    "Too many failed sign-ins from this network. Try again after %(time)s."
)
REFUSALS["photo_conflict"] = _l(
    "This photo was being saved from somewhere else at the same moment; please send it again."
)
UNAVAILABLE = _l(
    "The database is not answering, so nothing could be saved or shown. "
    "Please try again in a few minutes."
)
# ---- end of production trust ----
REFUSALS["storage_unavailable"] = _l(
    "The file storage is not answering, so nothing was saved or shown. "
    "Please try again in a few minutes."
)
# ---- periods and plans (issue 15) ----
REFUSALS.update(
    {
        "period_closed_plan": _l("Period %(period)s is closed: its plan can no longer change."),
        "plan_bad_kind": _l("Choose a mystery visit or a video check."),
        "plan_unknown_outlet": _l(
            "No outlet has that code: type the code of one of the bank's outlets."
        ),
        "plan_unknown_inspector": _l("Choose one of the active inspectors or bank checkers."),
        "plan_mystery_needs_agency": _l("A mystery visit is made by an agency inspector."),
        "plan_video_needs_checker": _l("A video check is made by a bank checker."),
        "plan_checker_out_of_scope": _l(
            "This bank checker checks another sub-branch's outlets, not %(outlet)s."
        ),
        "plan_video_not_reinspection": _l(
            "A re-inspection is an agency's mystery visit, not a video check."
        ),
        "assignment_started": _l("This assignment has been started, so it stays in the plan."),
        "period_not_planned": _l(
            "Period %(period)s has been opened already; only a planned period can be opened."
        ),
        "period_other_open": _l("Close %(other)s first: only one period is open at a time."),
        "plan_override_required": _l(
            "The plan of %(period)s breaks rules (%(count)s). To open it anyway, say why in "
            "the override reason; it is kept on the period and in the audit trail."
        ),
        "period_not_open": _l("Period %(period)s is not open."),
        "plan_confirm_required": _l(
            "Tick the confirmation: a proposed plan replaces every assignment not yet started."
        ),
        "period_close_pending": _l(
            "Period %(period)s still has drafts (%(drafts)s) and inspections waiting for "
            "release (%(waiting)s). Confirm to close it anyway."
        ),
        "period_not_started": _l(
            "This period has not opened yet: its inspections start once head office opens it."
        ),
        "video_check_by_video": _l("This assignment is a video check: it is done by video."),
        "period_closed_change": _l(
            "Period %(period)s is closed: this inspection can no longer change."
        ),
        "period_closed_submit": _l(
            "Period %(period)s is closed: this inspection can no longer be submitted."
        ),
        "period_bad_threshold": _l(
            "Thresholds: outlet coverage is a percentage above 0 and at most 100 (such as 60), "
            "video checks a whole number from 0 to 20, the re-inspection score from 0 to 100."
        ),
    }
)
# ---- end of periods and plans ----

RETRY_UNAVAILABLE_SECONDS = 30


def respond(status: int, message: str, *, database_usable: bool = True, **extra):
    """The sentence as JSON or as a page, after the session is rolled back.

    `database_usable` False (the database is down or failing): the page is rendered from
    what is in memory only; otherwise the signed-in user may be read once more.
    """
    viewer = loaded_viewer()  # before the rollback expires what was loaded
    release_session()
    if wants_json():
        return jsonify(error=message, **extra), status
    g.viewer = viewer or settle_viewer(may_query=database_usable)
    try:
        page = render_template("error.html", status=status, message=message, **extra)
    except Exception:  # the layout itself failed: a minimal page still carries the sentence
        log.exception("error page failed to render")
        page = f"<!doctype html><html><body><p>{escape(message)}</p></body></html>"
    return page, status


def _audit_lockout(code: str) -> None:
    """A refused sign-in attempt is a change of state too (a lock): on its own commit, and
    never at the cost of the 429 itself."""
    from shopper.audit import service as audit

    try:
        db.session.rollback()
        name = (request.form.get("username") or "")[:80]
        audit.record(db.session, None, f"sign_in.{code}", "user", "-", actor_name=name)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not audit a sign-in lock")


def too_many_sign_ins(_exc: RateLimitExceeded):
    """429: which limit refused the sign-in, and the local time (and Retry-After) when the
    next attempt may succeed."""
    scope, seconds = throttle.retry_after()
    at = datetime.now(UTC) + timedelta(seconds=seconds + 59)  # whole minutes, rounded up
    code = "sign_in_address_blocked" if scope == throttle.ADDRESS else "sign_in_locked"
    _audit_lockout(code)
    message = str(REFUSALS[code]) % {"time": format_time(at, "HH:mm")}
    body, status = respond(429, message, code=code)
    return body, status, {"Retry-After": str(seconds)}


def unavailable(exc: BaseException):
    log.error("database unavailable: %s", exc)
    body, status = respond(503, str(UNAVAILABLE), database_usable=False, code="unavailable")
    return body, status, {"Retry-After": str(RETRY_UNAVAILABLE_SECONDS)}


def init_app(app: Flask) -> None:
    @app.errorhandler(Refused)
    def refused(exc: Refused):
        return respond(exc.status, refusal_message(exc), code=exc.code)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        message = _(
            "This form has expired or did not come from this site. Reload the page and try again."  # noqa: E501
        )
        return respond(400, message, code="csrf")

    @app.errorhandler(IntegrityError)
    def integrity_error(exc: IntegrityError):
        log.warning("integrity error: %s", exc.orig)
        return respond(409, str(REFUSALS["conflict"]), code="conflict")

    app.register_error_handler(RateLimitExceeded, too_many_sign_ins)

    @app.errorhandler(SQLAlchemyError)
    def database_error(exc: SQLAlchemyError):
        if database_unavailable(exc):
            return unavailable(exc)
        log.error("database error: %r", exc)
        return respond(500, str(STATUS_MESSAGES[500]), database_usable=False, code="500")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        original = getattr(exc, "original_exception", None)
        if original is not None and database_unavailable(original):
            return unavailable(original)  # e.g. the commit after the view failed
        message = STATUS_MESSAGES.get(status) or exc.description or ""
        if status >= 500:
            log.error("server error: %r", original or exc)
        return respond(status, str(message), database_usable=original is None, code=str(status))
