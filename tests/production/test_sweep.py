"""Defect 6: `flask --app shopper sweep` removes stored files no row points at once they are
older than the grace period (an upload in flight is never touched), and expired sign-in
sessions; it prints what it removed and is safe to run while the app serves."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shopper.auth.models import LoginSession
from shopper.db import utcnow
from shopper.extensions import db
from shopper.notices.models import Notice
from shopper.notices.service import notice_key
from shopper.photos import service as photos
from shopper.photos.models import Photo
from shopper.photos.storage import photo_keys
from tests.factories import jpeg
from tests.test_access_matrix import objects  # noqa: F401  (a photo, a notice, a response)

HOUR = 3600


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _store_orphan_photo(app, color) -> list[Path]:
    """A photo's files with no row: an upload that died before its row was committed."""
    with app.app_context():
        store = photos.storage()
        processed = photos.store_photo(store, jpeg(color=color))
        return [store.local_path(k) for k in photo_keys(processed.sha256).values()]


def _sweep(app, *args: str):
    result = app.test_cli_runner().invoke(args=["sweep", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def storage_root(app) -> Path:
    return Path(app.config["STORAGE_DIR"])


def test_orphan_files_older_than_the_grace_period_are_removed_and_named(
    app,
    objects,  # noqa: F811
    storage_root,
):
    old = _store_orphan_photo(app, (10, 200, 10))
    for path in old:
        _age(path, 2 * HOUR)
    output = _sweep(app)
    assert not any(p.exists() for p in old)
    assert old[0].relative_to(storage_root).as_posix() in output
    assert not old[0].parent.exists()  # the empty folder goes too


def test_files_rows_point_at_are_kept_however_old(app, objects, storage_root):  # noqa: F811
    with app.app_context():
        kept = [
            storage_root / key
            for sha in db.session.scalars(select(Photo.sha256))
            for key in photo_keys(sha).values()
        ]
        kept += [storage_root / k for k in db.session.scalars(select(Notice.storage_key))]
    assert kept and all(p.exists() for p in kept)
    for path in kept:
        _age(path, 100 * HOUR)
    _sweep(app)
    assert all(p.exists() for p in kept)


def test_an_upload_in_flight_is_never_touched(app, world):
    fresh = _store_orphan_photo(app, (200, 200, 10))  # written, its row not yet committed
    _sweep(app)
    assert all(p.exists() for p in fresh)


def test_the_grace_period_is_configurable(app, world):
    files = _store_orphan_photo(app, (20, 20, 220))
    for path in files:
        _age(path, 20 * 60)
    _sweep(app)
    assert all(p.exists() for p in files)  # the default hour has not passed
    app.config["SWEEP_GRACE_SECONDS"] = 10 * 60
    _sweep(app)
    assert not any(p.exists() for p in files)


def test_a_removed_photos_files_go_once_no_row_points_at_them(login, world, app, storage_root):
    from tests.factories import items, start, upload

    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = items(app, iid)[0]
    photo = upload(c, iid, version, code, jpeg(color=(90, 90, 90))).json
    sha = photo["thumb"].split("/")[2]
    files = [storage_root / k for k in photo_keys(sha).values()]
    assert c.post(f"/inspect/{iid}/photos/{photo['id']}/delete", json=True).status_code == 200
    for path in files:
        _age(path, 2 * HOUR)
    _sweep(app)
    assert not any(p.exists() for p in files)


def test_orphan_notice_pdfs_and_dead_temp_files_go_unknown_files_stay(app, world, storage_root):
    with app.app_context():
        store = photos.storage()
        pdf = b"%PDF-1.7 never recorded"
        key = notice_key(hashlib.sha256(pdf).hexdigest())
        store.put(key, pdf)
    orphan_pdf = storage_root / key
    temp = orphan_pdf.parent / ".tmp-abc123"
    temp.write_bytes(b"half a photo")
    unknown = storage_root / "exports" / "ledger.xlsx"
    unknown.parent.mkdir(parents=True)
    unknown.write_bytes(b"someone else's")
    for path in (orphan_pdf, temp, unknown):
        _age(path, 2 * HOUR)
    output = _sweep(app)
    assert not orphan_pdf.exists() and not temp.exists()
    assert unknown.exists()
    assert key in output


def test_prepared_exports_go_a_week_after_their_job(app, world, storage_root):
    with app.app_context():
        store = photos.storage()
        keys = []
        for body in (b"last month's export", b"yesterday's export"):
            key = f"exports/ab/{hashlib.sha256(body).hexdigest()}.xlsx"
            store.put(key, body)
            keys.append(key)
    old, recent = (storage_root / k for k in keys)
    _age(old, 8 * 24 * HOUR)
    _age(recent, 24 * HOUR)
    output = _sweep(app)
    assert not old.exists() and keys[0] in output
    assert recent.exists() and keys[1] not in output


def test_a_dry_run_removes_nothing_but_says_what_it_would(app, world):
    files = _store_orphan_photo(app, (5, 5, 5))
    for path in files:
        _age(path, 2 * HOUR)
    output = _sweep(app, "--dry-run")
    assert all(p.exists() for p in files)
    assert "would remove" in output


def test_expired_sign_in_sessions_are_removed_live_ones_kept(login, app):
    login("inspector")
    login("admin")
    with app.app_context():
        rows = db.session.scalars(select(LoginSession)).all()
        rows[0].expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    output = _sweep(app)
    assert "1 expired sign-in session" in output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 1
