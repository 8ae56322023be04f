"""Defect 7: a second submit shows the record; a racing duplicate photo is spoken of as a
photo; HSTS over HTTPS, a Permissions-Policy; sign-out clears the browser's cache."""

from __future__ import annotations

import uuid

from sqlalchemy import event, select

from shopper.auth.models import User
from shopper.extensions import db
from shopper.inspections.models import Inspection
from shopper.photos import service as photos
from shopper.photos.models import Photo
from tests.factories import answer_all, items, jpeg, start, submit, upload


def test_a_second_submit_from_a_browser_shows_the_submitted_record(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, iid)
    assert submit(c, iid).status_code == 302
    again = submit(c, iid)  # another tab, another client UUID
    assert again.status_code == 302, again.get_data(as_text=True)[:500]
    assert again.headers["Location"].endswith(f"/inspections/{iid}")
    page = c.get(again.headers["Location"]).get_data(as_text=True)
    assert "already been submitted" in page or "has been submitted" in page


def test_a_second_submit_from_the_outbox_keeps_its_409(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, iid)
    assert submit(c, iid).status_code == 302
    again = submit(c, iid, json=True)
    assert again.status_code == 409
    assert "has been submitted" in again.json["error"]


def _twin_photo_first(app, inspector_id: int, iid: int, version: int, code: str, client_uuid):
    """Just after the request checked that the photo is new, and before it takes the
    inspection's lock, its twin (the same upload sent twice at once) records the same photo on
    another connection and commits: the race, made exact."""
    state = {"done": False}

    def before(conn, cursor, statement, parameters, context, executemany):
        if state["done"] or not statement.lstrip().upper().startswith("UPDATE INSPECTIONS"):
            return
        state["done"] = True
        with app.app_context():
            s = db.session
            inspection = s.get(Inspection, iid)
            photos.attach(
                s,
                photos.storage(),
                s.get(User, inspector_id),
                inspection,
                version_id=version,
                item_code=code,
                data=jpeg(),
                client_uuid=client_uuid,
            )
            s.commit()

    event.listen(db.engine(app), "before_cursor_execute", before)


def test_a_racing_duplicate_photo_is_the_one_photo_not_an_answer_conflict(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = items(app, iid)[0]
    client_uuid = str(uuid.uuid4())
    _twin_photo_first(app, world.users["inspector"], iid, version, code, client_uuid)
    app.testing = False
    response = upload(c, iid, version, code, jpeg(), client_uuid=client_uuid)
    assert "answer" not in response.get_data(as_text=True)
    assert response.status_code == 201, response.get_data(as_text=True)
    with app.app_context():
        ids = db.session.scalars(select(Photo.id)).all()
    assert ids == [response.json["id"]]


def test_https_responses_carry_hsts_and_every_response_a_permissions_policy(client, world):
    plain = client.get("/login")
    assert "Strict-Transport-Security" not in plain.headers
    assert "geolocation=(self)" in plain.headers["Permissions-Policy"]
    assert "microphone=()" in plain.headers["Permissions-Policy"]
    secure = client.http.get("/login", base_url="https://shopper.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(secure.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 15552000


def test_signing_out_clears_the_browsers_cache_but_not_its_outbox(login):
    c = login("inspector")
    response = c.post("/logout")
    assert response.status_code == 302
    # the HTTP cache holds photos (private, immutable); "storage" would also drop the
    # phone's outbox of writes not yet sent, which must survive a sign-out
    assert response.headers["Clear-Site-Data"] == '"cache"'
