"""Defect 4: input the database cannot hold is refused with a sentence, never a 500.

A NUL character (PostgreSQL's text cannot store one) in any field, query or path; numbers in
a query string beyond what an id column holds."""

from __future__ import annotations

import uuid

import pytest

from tests.factories import answer, items, start

NUL_SENTENCE = "contains a character that cannot be stored"


@pytest.fixture
def draft(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    return c, iid, items(app, iid)[0]


def test_a_note_with_a_nul_is_refused_with_a_sentence_and_nothing_is_saved(draft, app):
    c, iid, (version, code, _) = draft
    app.testing = False
    response = answer(c, iid, version, code, "fail", "dusty\x00counter")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert NUL_SENTENCE in response.json["error"]
    assert answer(c, iid, version, code, "fail", "dusty counter").status_code == 200


def test_a_visit_record_with_a_nul_is_refused(draft, app):
    c, iid, _ = draft
    app.testing = False
    response = c.post(
        f"/inspect/{iid}/visit", {"uuid": str(uuid.uuid4()), "business": "cash\x00"}, json=True
    )
    assert response.status_code == 400
    assert NUL_SENTENCE in response.json["error"]


def test_a_browser_form_with_a_nul_gets_the_sentence_on_a_page(draft, app):
    c, iid, _ = draft
    app.testing = False
    response = c.post(f"/inspect/{iid}/visit", {"uuid": str(uuid.uuid4()), "business": "\x00"})
    assert response.status_code == 400
    assert NUL_SENTENCE in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        "/office/inspections?band=%00",
        "/office/findings/?item=%00",
        "/verify/ZG%00",
        "/login?next=%00",
    ],
)
def test_a_nul_in_a_query_or_path_is_refused(login, app, url):
    app.testing = False
    response = login("admin").get(url)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert NUL_SENTENCE in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [
        "page=99999999999999999999",
        "page=2147483648",
        "period=99999999999999999999",
        "outlet=-99999999999999999999",
        "sub_branch=9223372036854775808",
    ],
)
@pytest.mark.parametrize("path", ["/office/inspections", "/office/findings/"])
def test_a_number_beyond_any_id_in_a_query_is_not_found_not_a_500(login, app, path, query):
    app.testing = False
    response = login("admin").get(f"{path}?{query}")
    assert response.status_code == 404, response.get_data(as_text=True)[:300]
    assert "This page does not exist" in response.get_data(as_text=True)


def test_ordinary_filters_still_work(login, world, app):
    admin = login("admin")
    assert admin.get(f"/office/inspections?period={world.period_id}&page=2").status_code == 200
    assert admin.get("/office/findings/?page=1&outlet=").status_code == 200
