"""`flask --app shopper sweep` on object storage: objects no row points at go once their
LastModified is older than the grace period; what a row points at, and a young upload
whose row may not be committed yet, stay."""

from __future__ import annotations

import time

from sqlalchemy import select

from shopper.extensions import db
from shopper.notices.models import Notice
from shopper.photos import service as photos
from shopper.photos.models import Photo
from shopper.photos.storage import photo_keys
from shopper.sweep import sweep_objects
from tests.factories import jpeg
from tests.test_access_matrix import objects  # noqa: F401  (a photo, a notice, a response)

HOUR = 3600


def _orphan(app, color) -> list[str]:
    """A photo's objects with no row: an upload that died before its row was committed."""
    with app.app_context():
        processed = photos.store_photo(photos.storage(), jpeg(color=color))
    return sorted(photo_keys(processed.sha256).values())


def _referenced(app) -> list[str]:
    with app.app_context():
        keys = [
            key
            for sha in db.session.scalars(select(Photo.sha256))
            for key in photo_keys(sha).values()
        ]
        keys += list(db.session.scalars(select(Notice.storage_key)))
    return sorted(keys)


def test_sweep_removes_old_orphan_objects_and_keeps_what_rows_point_at(
    app,
    objects,  # noqa: F811
    bucket,
):
    orphan = _orphan(app, (10, 200, 10))
    kept = _referenced(app)
    before = set(bucket.names())
    assert kept and set(orphan) <= before

    with app.app_context():  # two hours on: every object is past the grace period
        swept = sweep_objects(
            db.session, photos.storage(), HOUR, dry_run=False, now=time.time() + 2 * HOUR
        )
        db.session.commit()

    assert sorted(swept.files) == orphan and swept.bytes > 0
    assert set(bucket.names()) == before - set(orphan)  # files it does not know stay too
    assert set(kept) <= set(bucket.names())  # the response's photo is among them


def test_a_dry_run_names_the_objects_and_removes_none(app, objects, bucket):  # noqa: F811
    orphan = _orphan(app, (200, 10, 10))
    before = sorted(bucket.names())
    with app.app_context():
        swept = sweep_objects(
            db.session, photos.storage(), HOUR, dry_run=True, now=time.time() + 2 * HOUR
        )
    assert sorted(swept.files) == orphan
    assert sorted(bucket.names()) == before


def test_the_sweep_command_leaves_a_young_orphan_and_says_so(app, objects, bucket):  # noqa: F811
    orphan = _orphan(app, (10, 10, 200))
    result = app.test_cli_runner().invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert "removed 0 files" in result.output
    assert set(orphan) <= set(bucket.names())


def test_the_sweep_command_with_s3_down_says_so_and_exits_1(app, world):
    from shopper.photos.s3 import S3Settings, S3Storage
    from tests.s3server import free_port

    app.extensions["shopper.storage"] = S3Storage(
        S3Settings(
            bucket="gone",
            endpoint=f"http://127.0.0.1:{free_port()}",
            access_key="k",
            secret_key="s",
            connect_timeout=1,
            attempts=1,
        )
    )
    result = app.test_cli_runner().invoke(args=["sweep"])
    assert result.exit_code == 1
    assert "storage is not answering" in result.output and "Traceback" not in result.output
