"""The API reads what the web writes: an inspection submitted and released by head office
(its signed notice issued), then the outlet's answer to the finding."""

from __future__ import annotations

import uuid

from shopper.api.tokens import Scope
from tests.api.helpers import api_get, make_token, walk
from tests.factories import submitted_directly


def test_a_release_its_notice_and_the_outlets_answer_reach_the_api(app, world, login):
    failed = {}

    def result_for(item):
        if not failed and not item.red_line and not item.photo_required_on_fail:
            failed["code"] = item.code
        return "fail" if item.code == failed.get("code") else "pass"

    inspection = submitted_directly(
        app, world.users["inspector"], world.assignment_ids["inspector"][0], result_for
    )
    outlet = make_token(app, Scope.OUTLET, world.outlet_ids[0])[1]
    head_office = make_token(app)[1]
    assert walk(app, "/api/v1/inspections", outlet) == []  # not released yet
    waiting = api_get(app, f"/api/v1/inspections/{inspection}", head_office).get_json()
    assert waiting["status"] == "submitted" and waiting["score"] is not None

    assert login("admin").post(f"/office/inspections/{inspection}/release").status_code == 302
    [released] = walk(app, "/api/v1/inspections", outlet)
    assert released["id"] == inspection and released["status"] == "released"
    assert released["changed_at"] == released["released_at"]
    assert len(released["answers"]) == sum(len(s["items"]) for s in _sections(app, released))
    assert [a["item_code"] for a in released["answers"] if a["result"] == "fail"] == [
        failed["code"]
    ]
    [notice] = walk(app, "/api/v1/notices", outlet)
    assert notice["inspection_id"] == inspection and notice["status"] == "new"
    [finding] = notice["findings"]
    assert (finding["item_code"], finding["status"]) == (failed["code"], "open")

    answered = login("outlet_manager").post(
        f"/notices/findings/{finding['id']}/respond",
        {"uuid": str(uuid.uuid4()), "kind": "rectified", "note": "Fixed"},
    )
    assert answered.status_code == 302
    again = api_get(app, f"/api/v1/notices/{notice['id']}", outlet).get_json()
    assert again["findings"][0]["status"] == "answered"
    assert again["status"] != "new"


def _sections(app, inspection):
    """The sections of every checklist version the inspection pinned, from the API."""
    secret = make_token(app)[1]
    for version_id in inspection["checklist_version_ids"]:
        version = api_get(app, f"/api/v1/checklist-versions/{version_id}", secret).get_json()
        yield from version["content"]["sections"]
