"""Defect 1: an error never touches a failed database session, and a double-tapped start
lands on the inspection. Pages say "unavailable" (503) while the database is down."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from shopper.auth.models import User
from shopper.db import make_engine
from shopper.extensions import db
from shopper.inspections import service
from shopper.inspections.models import Inspection
from shopper.refusals import Refused
from tests.conftest import Client

UNAVAILABLE = "The database is not answering"


def _other_tap_wins_first(app, inspector_id: int, assignment_id: int) -> None:
    """Just before the request's INSERT of the inspection, another tap's request starts the
    same assignment on its own connection and commits: the race of a double tap, made exact."""
    engine = db.engine(app)
    state = {"done": False}

    def before(conn, cursor, statement, parameters, context, executemany):
        if state["done"] or not statement.lstrip().upper().startswith("INSERT INTO INSPECTIONS"):
            return
        state["done"] = True
        with app.app_context():
            other = db.session
            inspector = other.get(User, inspector_id)
            service.start(other, inspector, assignment_id, "on_site", app.config["CHECKLIST_ORDER"])
            other.commit()

    event.listen(engine, "before_cursor_execute", before)


def test_a_double_tapped_start_lands_both_taps_on_the_one_inspection(login, world, app):
    c = login("inspector")
    assignment = world.assignment_ids["inspector"][0]
    _other_tap_wins_first(app, world.users["inspector"], assignment)
    response = c.post(f"/inspect/assignments/{assignment}/start", {"mode": "on_site"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        inspection = db.session.query(Inspection).one()
    assert response.headers["Location"].endswith(f"/inspect/{inspection.id}")


def test_a_double_tapped_start_from_the_outbox_lands_on_the_inspection_too(login, world, app):
    c = login("inspector")
    assignment = world.assignment_ids["inspector"][0]
    _other_tap_wins_first(app, world.users["inspector"], assignment)
    app.testing = False  # what gunicorn does: exceptions become error pages
    response = c.post(f"/inspect/assignments/{assignment}/start", {"mode": "on_site"}, json=True)
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def database_down(app):
    """Every new connection fails as it does when PostgreSQL is stopped (nothing listens)."""

    def stop() -> None:
        dead = make_engine("postgresql://nobody:x@127.0.0.1:1/none")
        app.extensions["shopper.db"] = dead
        app.testing = False  # what gunicorn does: exceptions become error pages

    working = app.extensions["shopper.db"]
    yield stop
    app.extensions["shopper.db"].dispose()
    app.extensions["shopper.db"] = working


def test_every_page_while_the_database_is_down_is_a_503_sentence(login, world, app, database_down):
    signed_in = login("inspector")
    anonymous = Client(app)
    anonymous.refresh_csrf()
    database_down()
    for client, method, url in [
        (signed_in, "GET", "/inspect/"),
        (signed_in, "GET", "/"),
        (signed_in, "GET", "/login"),
        (anonymous, "POST", "/login"),
        (anonymous, "GET", "/verify/ZG-2026Q4-00001"),
    ]:
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, {"username": "inspector", "password": "x"})
        body = response.get_data(as_text=True)
        assert response.status_code == 503, (url, response.status_code, body[:300])
        assert UNAVAILABLE in body, url
        assert re.search(r"<html", body), url  # a page of the site, not a bare error


def test_a_missing_page_while_the_database_is_down_is_still_a_404_page(login, database_down):
    c = login("inspector")
    database_down()
    response = c.get("/no/such/page")
    assert response.status_code == 404
    assert "This page does not exist" in response.get_data(as_text=True)


def test_an_error_page_still_names_who_is_signed_in(login, world, app):
    app.testing = False
    page = login("inspector").get("/no/such/page")
    assert page.status_code == 404
    assert '<span class="who">Inspector</span>' in page.get_data(as_text=True)


def test_while_the_database_is_down_json_clients_get_a_503_sentence(login, world, database_down):
    c = login("inspector")
    database_down()
    response = c.get("/inspect/", json=True)
    assert response.status_code == 503
    assert UNAVAILABLE in response.json["error"]
    assert response.headers.get("Retry-After")


def test_refused_is_still_raised_by_start_for_someone_elses_assignment(login, world, app):
    """The retry after a lost race goes through the same checks (no access leak)."""
    with app.app_context():
        s = db.session
        other = s.get(User, world.users["inspector2"])
        try:
            service.start(s, other, world.assignment_ids["inspector"][0], "on_site")
        except Refused as refusal:
            assert refusal.status == 404
        else:
            raise AssertionError("inspector2 started inspector's assignment")
