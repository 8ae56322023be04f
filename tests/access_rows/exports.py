"""The results' exports and period report (issue 15): head office only."""

from __future__ import annotations

_OTHERS = dict(
    inspector=403,
    inspector2=403,
    outlet_manager=403,
    outlet_manager3=403,
    sub_branch_manager=403,
)

ROWS = {
    ("GET", "/office/results/{period}/exports"): dict(anonymous=302, admin=200, **_OTHERS),
    ("GET", "/office/results/{period}/exports/outlets.csv"): dict(
        anonymous=302, admin=200, **_OTHERS
    ),
    ("GET", "/office/results/{period}/exports/answers.xlsx"): dict(
        anonymous=302, admin=200, **_OTHERS
    ),
    ("POST", "/office/results/{period}/reports"): dict(anonymous=302, admin=302, **_OTHERS),
    ("GET", "/office/results/{period}/reports/{report_number}.pdf"): dict(
        anonymous=302, admin=200, **_OTHERS
    ),
}


def objects(app, world) -> dict:
    """A report of the world's period, issued once."""
    from shopper.extensions import db
    from shopper.models import Period
    from shopper.photos.service import storage
    from shopper.results import report

    with app.test_request_context():
        period = db.session.get(Period, world.period_id)
        issued = report.issue(db.session, storage(), None, period, app.config)
        db.session.commit()
    return {"report_number": issued.number}
