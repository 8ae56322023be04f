"""Cursor pagination: a walk sees every row once, in a stable order, also while rows are
added (and sees a row that changed meanwhile again, at the end); a cursor is opaque, and one
the API did not give out for that list is a 400."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shopper.db import utcnow
from shopper.extensions import db
from shopper.inspections.models import Inspection
from shopper.models import Outlet
from tests.api.conftest import add_inspection
from tests.api.helpers import api_get, walk


def _page(app, secret, url="/api/v1/inspections", **params):
    response = api_get(app, url, secret, **params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _add(app, world, outlet_code="O3") -> int:
    """A released inspection of the outlet in the old period, started now."""
    with app.app_context():
        outlet = db.session.scalars(select(Outlet).where(Outlet.code == outlet_code)).one()
        inspector = world.users["inspector2"]
        inspection = add_inspection(
            db.session, world.old_period_id, outlet, inspector, "released", at=utcnow()
        )
        db.session.commit()
        return inspection.id


@pytest.mark.parametrize("limit", [1, 2, 3, 50])
def test_a_walk_sees_every_inspection_once_oldest_change_first(app, data, tokens, limit):
    items = walk(app, "/api/v1/inspections", tokens["head_office"], limit=limit)
    ids = [i["id"] for i in items]
    expected = [data.released["O1"], data.released["O3"], data.submitted, data.draft]
    assert ids == expected
    keys = [(i["changed_at"], i["id"]) for i in items]
    assert keys == sorted(keys)


def test_inspections_added_during_a_walk_are_seen_once_at_its_end(app, world, data, tokens):
    secret = tokens["head_office"]
    first = _page(app, secret, limit=1)
    added = [_add(app, world), _add(app, world, "O1")]
    seen = [i["id"] for i in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = _page(app, secret, limit=1, cursor=cursor)
        seen += [i["id"] for i in page["items"]]
        if len(seen) == 2:  # and one more while the walk goes on
            added.append(_add(app, world, "O2"))
        cursor = page["next_cursor"]
    original = [data.released["O1"], data.released["O3"], data.submitted, data.draft]
    assert seen == original + added
    assert len(seen) == len(set(seen))


def test_a_sub_branch_walk_under_inserts_sees_its_own_only(app, world, data, tokens):
    secret = tokens["sb1"]
    before = _add(app, world, "O1")
    first = _page(app, secret, limit=1)
    during, theirs = _add(app, world, "O2"), _add(app, world, "O3")
    rest = walk(app, "/api/v1/inspections", secret, limit=1, cursor=first["next_cursor"])
    seen = [i["id"] for i in first["items"] + rest]
    assert seen == [data.released["O1"], before, during]
    assert theirs not in seen


def test_an_inspection_that_changes_during_a_walk_comes_again_at_the_end(app, data, tokens):
    secret = tokens["head_office"]
    pages = [_page(app, secret, limit=3)]
    assert [i["id"] for i in pages[0]["items"]][-1] == data.submitted
    with app.app_context():  # head office releases it after the walk went past it
        inspection = db.session.get(Inspection, data.submitted)
        inspection.status, inspection.released_at = "released", utcnow()
        db.session.commit()
    rest = walk(app, "/api/v1/inspections", secret, limit=3, cursor=pages[0]["next_cursor"])
    assert [i["id"] for i in rest] == [data.draft, data.submitted]
    assert rest[-1]["status"] == "released"


def test_every_list_walks_page_by_page_to_what_one_page_holds(app, data, tokens):
    for url, token in (
        ("/api/v1/periods", "head_office"),
        ("/api/v1/outlets", "head_office"),
        ("/api/v1/outlets", "sb1"),
        ("/api/v1/notices", "head_office"),
        ("/api/v1/notices", "sb2"),
        ("/api/v1/checklist-versions", "o1"),
    ):
        whole = _page(app, tokens[token], url, limit=100)
        assert whole["next_cursor"] is None
        assert walk(app, url, tokens[token], limit=1) == whole["items"], (url, token)
        ids = [item["id"] for item in whole["items"]]
        assert ids == sorted(ids)


def test_the_last_page_says_there_is_no_next_one(app, data, tokens):
    page = _page(app, tokens["head_office"], limit=4)
    assert len(page["items"]) == 4 and page["next_cursor"] is None
    assert _page(app, tokens["head_office"], limit=3)["next_cursor"] is not None


def test_a_cursor_holds_nothing_the_token_could_not_see(app, data, tokens):
    """A cursor only says where to go on: whatever it names, the scope still applies."""
    head_office = _page(app, tokens["head_office"], limit=2)["next_cursor"]
    rest = walk(app, "/api/v1/inspections", tokens["sb2"], cursor=head_office)
    assert [i["id"] for i in rest] == []  # O3's inspection came before that point
    from_start = walk(app, "/api/v1/inspections", tokens["sb2"])
    assert [i["id"] for i in from_start] == [data.released["O3"]]


BAD_CURSORS = [
    "nonsense",
    "!!!",
    "eyJmb28iOiJiYXIifQ",  # base64 of a JSON object
    "WyJpbnNwZWN0aW9ucyIsIngiLDFd",  # ["inspections","x",1]: no time
    "WyJpbnNwZWN0aW9ucyIsIjIwMjYtMTItMDFUMDA6MDA6MDArMDg6MDAiLDFd",  # not UTC
    "WyJpbnNwZWN0aW9ucyIsIjIwMjYtMTItMDFUMDA6MDA6MDArMDA6MDAiLDk5OTk5OTk5OTk5OV0",  # huge id
    "WyJub3RpY2VzIiwxXQ",  # ["notices",1]: another list's
    "x" * 500,
]


def test_a_cursor_the_api_did_not_give_out_is_a_400_sentence(app, data, tokens):
    for cursor in BAD_CURSORS:
        response = api_get(app, "/api/v1/inspections", tokens["head_office"], cursor=cursor)
        assert response.status_code == 400, cursor
        body = response.get_json()
        assert body["code"] in ("api_bad_cursor", "api_bad_parameters"), cursor
        assert body["error"].endswith(".")


def test_a_notices_cursor_is_refused_by_the_outlets_list(app, data, tokens):
    cursor = _page(app, tokens["head_office"], "/api/v1/notices", limit=1)["next_cursor"]
    response = api_get(app, "/api/v1/outlets", tokens["head_office"], cursor=cursor)
    assert response.status_code == 400 and response.get_json()["code"] == "api_bad_cursor"
