"""Test data for results: a second version of a checklist, inspections on each version."""

from __future__ import annotations

import json

from shopper.auth.models import User
from shopper.checklists import service as checklists
from shopper.core import checklist as core
from shopper.extensions import db
from shopper.inspections import service as inspections
from shopper.inspections.models import Inspection


def publish_next(session, code: str, change) -> None:
    """Publish the next version of checklist `code` with `change(data)` applied."""
    latest = checklists.history(session, code)[-1]
    data = core.to_data(latest.checklist())
    change(data)
    checklists.publish(session, core.parse(json.loads(json.dumps(data)), "test"), "test", None)


def release_all(app, ids) -> None:
    with app.app_context():
        s = db.session
        for iid in ids:
            inspection = s.get(Inspection, iid)
            inspections.release(s, s.get(User, inspection.inspector_id), inspection)
        s.commit()


def two_versions(app, world):
    """O1 inspected on five_courtesies v1 failing C5-ARRIVE-01; then v2 (new wording of that
    item) published and O2 inspected on it, passing it. Both released."""
    from tests.factories import submitted_directly

    code, item = "five_courtesies", "C5-ARRIVE-01"

    def fail_it(i):
        return "fail" if i.code == item and not i.photo_required_on_fail else "pass"

    first = submitted_directly(
        app, world.users["inspector"], world.assignment_ids["inspector"][0], fail_it
    )
    text = "A greeting when the customer arrives (second edition)"

    def reword(data):
        for section in data["sections"]:
            for it in section["items"]:
                if it["code"] == item:
                    it["text"]["en"] = text

    with app.app_context():
        publish_next(db.session, code, reword)
        db.session.commit()
    second = submitted_directly(
        app, world.users["inspector"], world.assignment_ids["inspector"][1], lambda i: "pass"
    )
    release_all(app, [first, second])
    with app.app_context():
        versions = {
            iid: {
                p.version.version
                for p in db.session.get(Inspection, iid).checklists
                if p.version.code == code
            }
            for iid in (first, second)
        }
    assert versions == {first: {1}, second: {2}}, versions
    return {"checklist": code, "shared": item}, {"text": text}
