"""The app with SHOPPER_S3_BUCKET set: photos and notice PDFs go to the bucket (nothing
under STORAGE_DIR), are served through the app in chunks with the same access checks, and
S3 not answering is a 503 sentence that writes no row."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shopper.extensions import db
from shopper.inspections.models import Inspection, Status
from shopper.notices.models import Notice
from shopper.photos.models import Photo
from shopper.photos.s3 import S3Storage
from shopper.photos.storage import photo_keys
from tests.factories import files_in, items, jpeg, start, upload
from tests.s3server import S3Server
from tests.test_access_matrix import objects  # noqa: F401  (a photo, a notice, a response)


@pytest.fixture
def draft(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = items(app, iid)[0]
    return c, iid, version, code


def test_the_app_uses_the_bucket_when_s3_bucket_is_set(app):
    with app.app_context():
        from shopper.photos import service

        assert isinstance(service.storage(), S3Storage)


def test_an_uploaded_photo_is_three_objects_in_the_bucket_and_no_file(draft, app, bucket):
    c, iid, version, code = draft
    response = upload(c, iid, version, code, jpeg(1200, 900))
    assert response.status_code == 201, response.get_data(as_text=True)
    with app.app_context():
        sha = db.session.scalars(select(Photo.sha256)).one()
    assert sorted(bucket.names()) == sorted(photo_keys(sha).values())
    assert hashlib.sha256(bucket.get(photo_keys(sha)["main"])).hexdigest() == sha
    assert files_in(Path(app.config["STORAGE_DIR"])) == []


def test_a_photo_is_served_from_the_bucket_streamed_with_its_etag(draft, app, bucket):
    c, iid, version, code = draft
    thumb = upload(c, iid, version, code, jpeg()).json["thumb"]
    sha = thumb.split("/")[2]

    response = c.get(thumb)

    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.is_streamed  # passed through in chunks, not read whole first
    assert response.get_data() == bucket.get(photo_keys(sha)["thumb"])
    assert response.headers["Content-Length"] == str(len(response.get_data()))
    assert "private" in response.headers["Cache-Control"]
    again = c.http.get(thumb, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_another_outlets_manager_gets_404_for_a_photo_in_the_bucket(
    objects,  # noqa: F811
    login,
    bucket,
):
    url = f"/photos/{objects['sha']}/main.jpg"
    manager = login("outlet_manager")
    assert manager.get(url).status_code == 200
    assert login("outlet_manager3").get(url).status_code == 404
    assert login("inspector2").get(url).status_code == 404
    # a row whose object is gone: 404 too, not a 500
    bucket.client.delete_object(Bucket=bucket.name, Key=photo_keys(objects["sha"])["main"])
    assert manager.get(url).status_code == 404


def test_a_released_notice_pdf_is_stored_in_the_bucket_and_downloads(
    objects,  # noqa: F811
    app,
    login,
    bucket,
):
    with app.app_context():
        notice = db.session.get(Notice, objects["notice"])
        key, sha = notice.storage_key, notice.sha256
    stored = bucket.get(key)
    assert hashlib.sha256(stored).hexdigest() == sha and stored.startswith(b"%PDF")

    response = login("outlet_manager").get(f"/notices/{objects['notice']}/pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.is_streamed
    assert response.get_data() == stored
    assert login("outlet_manager3").get(f"/notices/{objects['notice']}/pdf").status_code == 404
    assert files_in(Path(app.config["STORAGE_DIR"])) == []


@pytest.fixture
def outage(app):
    """S3 goes down: the app's store is moved to a server of its own, which is then
    stopped. Yields nothing; the app sees connection refused from then on."""
    server = S3Server().start()
    try:
        app.extensions["shopper.storage"] = S3Storage.from_config(
            server.config(server.make_bucket())
        )
    finally:
        server.stop()


def test_s3_down_makes_an_upload_a_503_sentence_and_writes_no_row(draft, app, outage):
    c, iid, version, code = draft
    response = upload(c, iid, version, code, jpeg())
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.json["code"] == "storage_unavailable"
    assert "storage is not answering" in response.json["error"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Photo)) == 0
    page = c.post(
        f"/inspect/{iid}/photos",
        {"uuid": "b0f0a1d2-1111-4222-8333-444455556666", "version": version, "item": code},
    )
    assert page.status_code in (400, 503)  # a page, not a traceback, whatever was missing


def test_s3_down_makes_a_photo_view_a_503_page(objects, login, app, outage):  # noqa: F811
    response = login("outlet_manager").get(f"/photos/{objects['sha']}/main.jpg")
    assert response.status_code == 503
    assert "storage is not answering" in response.get_data(as_text=True)


def test_s3_down_makes_a_release_a_503_and_issues_no_notice(login, world, app, outage):
    from tests.factories import answer_all, submit

    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    failed = next(code for _v, code, item in items(app, iid) if not item.photo_required_on_fail)
    answer_all(c, app, iid, lambda item: "fail" if item.code == failed else "pass")
    assert submit(c, iid).status_code == 302
    response = login("admin").post(f"/office/inspections/{iid}/release")
    assert response.status_code == 503
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 0
        assert db.session.get(Inspection, iid).status != Status.RELEASED  # all rolled back
