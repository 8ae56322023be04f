"""The jobs page (issue 17): head office only. Without a queue (as here) a job id is not found."""

from __future__ import annotations

_OTHERS = dict(
    inspector=403,
    inspector2=403,
    outlet_manager=403,
    outlet_manager3=403,
    sub_branch_manager=403,
)

ROWS = {
    ("GET", "/office/jobs"): dict(anonymous=302, admin=200, **_OTHERS),
    # an empty form: no period chosen
    ("POST", "/office/jobs/issue-notices"): dict(anonymous=302, admin=400, **_OTHERS),
    # no queue: they run at once and come back to the page
    ("POST", "/office/jobs/remind-overdue"): dict(anonymous=302, admin=302, **_OTHERS),
    ("POST", "/office/jobs/sweep"): dict(anonymous=302, admin=302, **_OTHERS),
    ("GET", "/office/jobs/{job}"): dict(anonymous=302, admin=404, **_OTHERS),
    ("GET", "/office/jobs/{job}/progress"): dict(anonymous=302, admin=404, **_OTHERS),
    # the exports page's job buttons: an empty form names no period
    ("POST", "/office/jobs/period-report"): dict(anonymous=302, admin=400, **_OTHERS),
    ("POST", "/office/jobs/export"): dict(anonymous=302, admin=400, **_OTHERS),
    ("GET", "/office/jobs/{job}/download"): dict(anonymous=302, admin=404, **_OTHERS),
}


def objects(app, world) -> dict:
    return {"job": "0123456789abcdef0123456789abcdef"}
