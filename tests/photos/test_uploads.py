"""Uploads as the phone sends them now: resized without EXIF, with the capture time and the
source beside the file; the full original without JavaScript; limits and a busy server."""

from __future__ import annotations

import io
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from shopper.extensions import db
from shopper.photos.models import Photo
from shopper.photos.pipeline import DecodeGate
from tests.factories import files_in, gps_exif, items, jpeg, start
from tests.photos import images

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def draft(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = next(i for i in items(app, iid) if i[2].photo_required_on_fail)
    return c, iid, version, code


def send(c, iid, version, code, data: bytes, *, as_json: bool = True, **fields: str):
    return c.post(
        f"/inspect/{iid}/photos",
        {
            "uuid": str(uuid.uuid4()),
            "version": version,
            "item": code,
            "photo": (io.BytesIO(data), "photo.jpg"),
            **fields,
        },
        json=as_json,
        content_type="multipart/form-data",
    )


def canvas_jpeg(width: int = 2048, height: int = 1536) -> bytes:
    """What the phone's resize sends: a canvas export, JPEG without any EXIF."""
    data = images.jpeg(images.photo(width, height), quality=90)
    assert not Image.open(io.BytesIO(data)).getexif()
    return data


def stored(app) -> Photo:
    with app.app_context():
        photo = db.session.query(Photo).one()
        db.session.expunge(photo)
        return photo


def nothing_written(app) -> None:
    assert files_in(Path(app.config["STORAGE_DIR"])) == []
    with app.app_context():
        assert db.session.query(Photo).count() == 0


# --- capture time and source ------------------------------------------------------------------


def test_a_resized_photo_without_exif_keeps_the_capture_time_sent_beside_it(draft, app):
    c, iid, version, code = draft
    response = send(c, iid, version, code, canvas_jpeg(), captured_at="2025-06-01T10:31:05+08:00")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["captured_at"] == "2025-06-01T02:31:05+00:00"
    assert stored(app).captured_at.replace(tzinfo=UTC) == datetime(2025, 6, 1, 2, 31, 5, tzinfo=UTC)


def test_a_capture_time_without_offset_is_the_outlets_local_time(draft, app):
    c, iid, version, code = draft
    response = send(c, iid, version, code, canvas_jpeg(), captured_at="2025-06-01T10:31:05")
    assert response.json["captured_at"] == "2025-06-01T02:31:05+00:00"  # Asia/Shanghai


def test_the_files_exif_capture_time_wins_over_the_phones(draft, app):
    c, iid, version, code = draft
    data = jpeg(1200, 900, exif=gps_exif())  # taken 2026-11-20 09:30 local
    response = send(c, iid, version, code, data, captured_at="2025-06-01T10:31:05+08:00")
    assert response.json["captured_at"] == "2026-11-20T01:30:00+00:00"


def test_a_capture_time_a_few_hours_ahead_is_a_phone_clock_and_accepted(draft, app):
    c, iid, version, code = draft
    ahead = (datetime.now(UTC) + timedelta(hours=12)).isoformat(timespec="seconds")
    assert send(c, iid, version, code, canvas_jpeg(), captured_at=ahead).status_code == 201


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2025-06-01",  # a date without a time
        "2025-13-01T10:00:00+08:00",
        "2025-02-30T10:00:00",
        "1999-12-31T23:59:59+00:00",
        "far-future",
        "2025-06-01T10:31:05+08:00 extra",
    ],
)
def test_a_bad_capture_time_is_refused_and_nothing_is_written(value, draft, app):
    c, iid, version, code = draft
    if value == "far-future":
        value = (datetime.now(UTC) + timedelta(days=1, hours=1)).isoformat(timespec="seconds")
    response = send(c, iid, version, code, canvas_jpeg(), captured_at=value)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "time the photo was taken is not valid" in response.json["error"]
    assert response.json["code"] == "photo_bad_captured_at"
    nothing_written(app)


@pytest.mark.parametrize("source", ["camera", "gallery"])
def test_the_source_is_stored_and_returned(source, draft, app):
    c, iid, version, code = draft
    response = send(c, iid, version, code, canvas_jpeg(), source=source)
    assert response.status_code == 201
    assert response.json["source"] == source
    assert stored(app).source == source


def test_a_photo_sent_without_source_or_time_has_neither(draft, app):
    c, iid, version, code = draft
    response = send(c, iid, version, code, canvas_jpeg())
    assert response.json["source"] is None and response.json["captured_at"] is None
    assert stored(app).source is None


def test_a_bad_source_is_refused_and_nothing_is_written(draft, app):
    c, iid, version, code = draft
    response = send(c, iid, version, code, canvas_jpeg(), source="scanner")
    assert response.status_code == 400
    assert "source must be the camera or the gallery" in response.json["error"]
    nothing_written(app)


# --- the full original, without JavaScript ----------------------------------------------------


def test_a_full_original_from_the_gallery_uploads_without_javascript(draft, app):
    c, iid, version, code = draft
    original = images.jpeg(
        images.photo(4032, 3024),
        exif=images.exif(orientation=6, gps=True, taken="2026:11:20 09:30:00"),
    )
    response = send(c, iid, version, code, original, as_json=False)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/inspect/{iid}#{code}")
    photo = stored(app)
    assert (photo.width, photo.height) == (1512, 2016)  # upright, at most 2048
    assert photo.source is None and photo.source_format == "JPEG"
    assert photo.captured_at.replace(tzinfo=UTC) == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    assert len(files_in(Path(app.config["STORAGE_DIR"]))) == 3


# --- limits and a busy server -----------------------------------------------------------------


def test_a_webp_over_its_pixel_limit_gets_a_413_that_names_the_limit(draft, app):
    c, iid, version, code = draft
    response = send(c, iid, version, code, images.flat_webp(4000, 3751))
    assert response.status_code == 413
    assert "WebP images may have at most 15 megapixels" in response.json["error"]
    nothing_written(app)


def test_a_jpeg_over_its_pixel_limit_gets_a_413_too(draft, app):
    c, iid, version, code = draft
    app.config["PHOTO_MAX_PIXELS"] = 100 * 100
    response = send(c, iid, version, code, jpeg(200, 100))
    assert response.status_code == 413
    assert "JPEG images may have at most 0.01 megapixels" in response.json["error"]
    nothing_written(app)


def test_the_decode_gate_follows_the_configuration(app):
    gate = app.extensions["shopper.decode_gate"]
    assert gate.slots == app.config["PHOTO_LARGE_DECODES"] == 2
    assert gate.threshold == app.config["PHOTO_LARGE_DECODE_PIXELS"] == 2048 * 2048
    assert gate.timeout == app.config["PHOTO_DECODE_WAIT_SECONDS"]


def test_a_large_photo_that_cannot_get_a_decode_slot_in_time_gets_a_503(draft, app):
    c, iid, version, code = draft
    gate = app.extensions["shopper.decode_gate"] = DecodeGate(1, threshold=0, timeout=0.05)
    with gate.slot(1):  # another upload is decoding
        response = send(c, iid, version, code, canvas_jpeg())
    assert response.status_code == 503, response.get_data(as_text=True)
    assert "busy with other large photos" in response.json["error"]
    nothing_written(app)
    assert send(c, iid, version, code, canvas_jpeg()).status_code == 201


# --- imports run one way ----------------------------------------------------------------------


def test_inspections_do_not_import_the_photo_service():
    check = (
        "import sys\n"
        "import shopper.inspections.models, shopper.inspections.service\n"
        "import shopper.inspections.pages\n"
        "assert 'shopper.photos.service' not in sys.modules, 'imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
