"""Backup and restore with object storage: the archive holds every object of the bucket,
a restore into a fresh instance on an empty bucket gives back the same objects and rows (a
notice still downloads), a bucket holding other objects is refused with nothing changed, and
an archive can itself be written to and read from a bucket."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from shopper import create_app
from shopper.extensions import db
from shopper.notices.models import Notice
from shopper.notices.pki import ensure_pki
from shopper.photos.models import Photo
from tests.conftest import Client
from tests.production.test_backup import _admin, state
from tests.s3server import S3Server
from tests.test_access_matrix import objects  # noqa: F401  (a photo, a notice, a response)


@pytest.fixture
def fresh(database_url, tmp_path, s3_server: S3Server):
    """fresh(name) → (app, bucket name) of a new, empty instance: a database of its own,
    a new empty bucket, a PKI folder that does not exist yet."""
    apps, databases = [], []

    def make(name: str = "restored"):
        folder = tmp_path / name
        if database_url.startswith("postgresql"):
            url = make_url(database_url)
            new = f"{url.database}_{name}"
            _admin(url, f'DROP DATABASE IF EXISTS "{new}" WITH (FORCE)', f'CREATE DATABASE "{new}"')
            databases.append((url, new))
            instance_url = url.set(database=new).render_as_string(hide_password=False)
        else:
            (folder / "db").mkdir(parents=True)
            instance_url = f"sqlite:///{folder / 'db' / 'shopper.sqlite3'}"
        bucket = s3_server.make_bucket()
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": instance_url,
                "STORAGE_DIR": str(folder / "storage"),
                "SECRET_KEY": "test-secret",
                "PKI_DIR": str(folder / "pki"),
                **s3_server.config(bucket),
            }
        )
        apps.append(app)
        return app, bucket

    yield make
    for app in apps:
        db.engine(app).dispose()
    for url, name in databases:
        _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _contents(server: S3Server, bucket: str) -> dict[str, str]:
    client = server.client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {
        item["Key"]: hashlib.sha256(
            client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        ).hexdigest()
        for page in pages
        for item in page.get("Contents", [])
    }


def _counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            "photos": db.session.scalar(select(func.count()).select_from(Photo)),
            "notices": db.session.scalar(select(func.count()).select_from(Notice)),
        }


@pytest.fixture
def archive(app, objects, tmp_path) -> Path:  # noqa: F811
    ensure_pki(Path(app.config["PKI_DIR"]))
    path = tmp_path / "backup.tar"
    result = app.test_cli_runner().invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_the_archive_holds_every_object_of_the_bucket(archive, s3_server, s3_bucket):
    with tarfile.open(archive) as tar:
        stored = {
            m.name.removeprefix("storage/"): hashlib.sha256(tar.extractfile(m).read()).hexdigest()
            for m in tar.getmembers()
            if m.name.startswith("storage/")
        }
    assert stored == _contents(s3_server, s3_bucket)
    assert any(k.startswith("notices/") for k in stored) and any(
        k.endswith("/main.jpg") for k in stored
    )


def test_a_restore_onto_an_empty_bucket_gives_back_objects_and_rows(
    app,
    archive,
    fresh,
    s3_server,
    s3_bucket,
    objects,  # noqa: F811
):
    target, bucket = fresh()
    result = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert _contents(s3_server, bucket) == _contents(s3_server, s3_bucket)
    assert _counts(target) == _counts(app)
    assert not Path(target.config["STORAGE_DIR"]).exists()  # nothing on the local disk
    manager = Client(target)
    assert manager.login("outlet_manager").status_code == 302
    pdf = manager.get(f"/notices/{objects['notice']}/pdf")
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF")
    assert manager.get(f"/photos/{objects['sha']}/main.jpg").status_code == 200


def test_a_restore_run_again_after_it_stopped_accepts_its_own_objects(archive, fresh, s3_server):
    target, bucket = fresh()
    with tarfile.open(archive) as tar:  # an earlier attempt wrote one object, then stopped
        first = next(m for m in tar.getmembers() if m.name.startswith("storage/"))
        s3_server.client().put_object(
            Bucket=bucket, Key=first.name.removeprefix("storage/"), Body=b"half written"
        )
    result = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    with tarfile.open(archive) as tar:
        want = hashlib.sha256(tar.extractfile(first).read()).hexdigest()
    assert _contents(s3_server, bucket)[first.name.removeprefix("storage/")] == want


def test_a_restore_refuses_a_bucket_holding_other_objects(archive, fresh, s3_server):
    target, bucket = fresh()
    s3_server.client().put_object(Bucket=bucket, Key="photos/zz/other.jpg", Body=b"x")
    before = state(target)
    result = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 1
    assert "object storage is not empty" in result.output and "photos/zz/other.jpg" in result.output
    assert list(_contents(s3_server, bucket)) == ["photos/zz/other.jpg"]
    assert state(target) == before  # the database, the local folder and the PKI untouched


def test_an_archive_goes_to_a_bucket_and_is_restored_from_it(
    app,
    objects,  # noqa: F811
    fresh,
    s3_server,
    s3_bucket,  # noqa: F811
):
    ensure_pki(Path(app.config["PKI_DIR"]))
    backups = s3_server.make_bucket()
    made = app.test_cli_runner().invoke(args=["backup", f"s3://{backups}/nightly/"])
    assert made.exit_code == 0, made.output
    (key,) = _contents(s3_server, backups)
    assert key.startswith("nightly/shopper-") and key.endswith(".tar")
    assert f"s3://{backups}/{key}" in made.output
    again = app.test_cli_runner().invoke(args=["backup", f"s3://{backups}/{key}"])
    assert again.exit_code == 1 and "never overwrites" in again.output

    target, bucket = fresh()
    result = target.test_cli_runner().invoke(args=["restore", f"s3://{backups}/{key}"])
    assert result.exit_code == 0, result.output
    assert _contents(s3_server, bucket) == _contents(s3_server, s3_bucket)
    assert _counts(target) == _counts(app)
    missing = target.test_cli_runner().invoke(args=["restore", f"s3://{backups}/nope.tar"])
    assert missing.exit_code == 1 and "There is no archive" in missing.output
