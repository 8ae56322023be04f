"""Photo uploads through the web: refusals change nothing, duplicates are one file, access."""

import io
import os
import uuid
from pathlib import Path

import pytest
from PIL import Image

from shopper.extensions import db
from shopper.photos.models import Photo
from tests.factories import (
    answer,
    answer_all,
    files_in,
    gps_exif,
    items,
    jpeg,
    release,
    start,
    submit,
    upload,
)


@pytest.fixture
def draft(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = next(i for i in items(app, iid) if i[2].photo_required_on_fail)
    return c, iid, version, code


def storage_dir(app) -> Path:
    return Path(app.config["STORAGE_DIR"])


def test_a_photo_is_stored_with_three_sizes_and_its_capture_time(draft, app):
    c, iid, version, code = draft
    response = upload(c, iid, version, code, jpeg(1200, 900, exif=gps_exif()))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["thumb"].endswith("/thumb.jpg")
    assert len(files_in(storage_dir(app))) == 3
    with app.app_context():
        photo = db.session.query(Photo).one()
        assert (photo.width, photo.height) == (900, 1200)  # orientation applied
        assert photo.captured_at.isoformat() == "2026-11-20T01:30:00+00:00"  # Shanghai local → UTC


def test_stored_files_keep_nothing_but_pixels(draft, app):
    c, iid, version, code = draft
    upload(c, iid, version, code, jpeg(1200, 900, exif=gps_exif()))
    for path in files_in(storage_dir(app)):
        data = path.read_bytes()
        assert b"Exif" not in data and b"GPS" not in data and b"SecretPhone" not in data
        assert not Image.open(path).getexif()


def test_the_same_photo_twice_is_one_file(draft, app):
    c, iid, version, code = draft
    data = jpeg()
    assert upload(c, iid, version, code, data).status_code == 201
    assert upload(c, iid, version, code, data).status_code == 201
    assert len(files_in(storage_dir(app))) == 3
    with app.app_context():
        assert db.session.query(Photo).count() == 2  # two pieces of evidence, one file


def test_a_retried_upload_is_applied_once(draft, app):
    c, iid, version, code = draft
    same = str(uuid.uuid4())
    first = upload(c, iid, version, code, jpeg(), client_uuid=same)
    again = upload(c, iid, version, code, jpeg(), client_uuid=same)
    assert first.json["id"] == again.json["id"]
    with app.app_context():
        assert db.session.query(Photo).count() == 1


def refused(app, response, status, message):
    assert response.status_code == status, response.get_data(as_text=True)
    assert message in response.json["error"]
    assert files_in(storage_dir(app)) == []
    with app.app_context():
        assert db.session.query(Photo).count() == 0


BAD = {
    "empty": (b"", 400, "file is empty"),
    "text": (b"hello, this is not a picture at all" * 10, 415, "not a photo"),
    "svg": (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="500" height="500"><script>alert(1)</script></svg>',
        415,
        "JPEG, PNG, WebP or HEIC",
    ),
    "truncated": (None, 400, "damaged or incomplete"),
    "tiny": (None, 400, "too small"),
    "aspect": (None, 400, "too narrow or too wide"),
    "gif": (None, 415, "JPEG, PNG, WebP or HEIC"),
}


def bad_bytes(kind: str) -> bytes:
    if BAD[kind][0] is not None:
        return BAD[kind][0]
    if kind == "truncated":
        data = jpeg(1200, 900)
        return data[: len(data) * 6 // 10]
    if kind == "tiny":
        return jpeg(1, 1)
    if kind == "aspect":
        return jpeg(3000, 100)
    buf = io.BytesIO()
    Image.new("RGB", (300, 300), "red").save(buf, "GIF")
    return buf.getvalue()


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_files_are_refused_and_leave_nothing(kind, draft, app):
    c, iid, version, code = draft
    _, status, message = BAD[kind]
    refused(app, upload(c, iid, version, code, bad_bytes(kind), name="photo.jpg"), status, message)


def test_a_decompression_bomb_is_refused(draft, app):
    c, iid, version, code = draft
    buf = io.BytesIO()
    Image.new("1", (10_000, 8_000)).save(buf, "PNG")  # 80 MP in a few kB
    refused(
        app, upload(c, iid, version, code, buf.getvalue(), name="x.png"), 413, "too many pixels"
    )


def test_a_file_over_the_size_limit_gets_a_readable_413(draft, app):
    c, iid, version, code = draft
    app.config["MAX_CONTENT_LENGTH"] = 200_000
    response = upload(c, iid, version, code, os.urandom(300_000))
    refused(app, response, 413, "too large")


def test_a_polyglot_comes_out_as_a_clean_jpeg(draft, app):
    c, iid, version, code = draft
    data = jpeg() + b"<script>alert('x')</script>" + b"PK\x03\x04zip"
    assert upload(c, iid, version, code, data).status_code == 201
    for path in files_in(storage_dir(app)):
        stored = path.read_bytes()
        assert b"script" not in stored and b"PK\x03\x04" not in stored
        assert stored.endswith(b"\xff\xd9")


def test_a_photo_to_an_unknown_item_is_refused(draft, app):
    c, iid, version, _ = draft
    refused(app, upload(c, iid, version, "NOPE-1", jpeg()), 400, "is not part of")


def test_a_photo_on_a_submitted_inspection_is_refused(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, iid)
    assert submit(c, iid).status_code == 302
    version, code, _ = items(app, iid)[0]
    refused(app, upload(c, iid, version, code, jpeg()), 409, "can no longer be changed")


def test_a_photo_can_be_removed_before_submission(draft, app):
    c, iid, version, code = draft
    photo_id = upload(c, iid, version, code, jpeg()).json["id"]
    assert c.post(f"/inspect/{iid}/photos/{photo_id}/delete", json=True).status_code == 200
    with app.app_context():
        assert db.session.query(Photo).count() == 0


def test_a_failed_item_that_needs_a_photo_blocks_submission_until_it_has_one(draft, app):
    c, iid, version, code = draft
    answer_all(c, app, iid)
    answer(c, iid, version, code, "fail", "litter under the counter")
    page = submit(c, iid)
    assert page.status_code == 409 and "A failed item needs a photo" in page.get_data(as_text=True)
    upload(c, iid, version, code, jpeg())
    assert submit(c, iid).status_code == 302


def test_photo_files_are_served_only_to_those_who_may_see_the_inspection(draft, login, app):
    c, iid, version, code = draft
    thumb = upload(c, iid, version, code, jpeg()).json["thumb"]
    response = c.get(thumb)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert "immutable" in response.headers["Cache-Control"]
    assert login("admin").get(thumb).status_code == 200
    assert login("inspector2").get(thumb).status_code == 404
    assert login("outlet_manager").get(thumb).status_code == 404  # still a draft
    answer_all(c, app, iid, lambda item: "pass")
    assert submit(c, iid).status_code == 302
    assert login("outlet_manager").get(thumb).status_code == 404  # waiting for release
    release(app, iid)
    assert login("outlet_manager").get(thumb).status_code == 200
    assert login("outlet_manager3").get(thumb).status_code == 404


def test_the_record_shows_capture_and_upload_times(draft, login, app):
    c, iid, version, code = draft
    upload(c, iid, version, code, jpeg(800, 600, exif=gps_exif()))
    page = login("admin").get(f"/inspections/{iid}").get_data(as_text=True)
    assert "Taken 2026-11-20 09:30" in page and "Uploaded" in page


def test_a_photo_uuid_reused_for_another_item_is_refused(draft, app):
    c, iid, version, code = draft
    same = str(uuid.uuid4())
    assert upload(c, iid, version, code, jpeg(), client_uuid=same).status_code == 201
    other_version, other_code, _ = items(app, iid)[1]
    response = upload(c, iid, other_version, other_code, jpeg(), client_uuid=same)
    assert response.status_code == 409 and "identifier" in response.json["error"]
    with app.app_context():
        assert db.session.query(Photo).count() == 1
