"""`flask --app shopper storage copy --from local --to s3` (and back): every file copied
and checked against its SHA-256, a second run copies nothing, a damaged copy in the target
is written again, a damaged source is reported and not copied, S3 down stops it with a
sentence."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from shopper.photos import service as photos
from shopper.photos.s3 import S3Settings, S3Storage
from shopper.photos.storage import LocalStorage, photo_keys
from shopper.storage_copy import named_sha256
from tests.factories import jpeg
from tests.s3server import free_port

PDF = b"%PDF-1.7 a notice"
PDF_KEY = f"notices/{hashlib.sha256(PDF).hexdigest()[:2]}/{hashlib.sha256(PDF).hexdigest()}.pdf"


@pytest.fixture
def local(app) -> LocalStorage:
    """The installation's files before the move: two photos and a notice PDF on disk."""
    store = LocalStorage(Path(app.config["STORAGE_DIR"]))
    for color in ((200, 10, 10), (10, 200, 10)):
        photos.put_photo(store, photos.check_photo(jpeg(color=color)))
    store.put(PDF_KEY, PDF)
    return store


def _copy(app, *args: str) -> tuple[int, str, dict[str, int]]:
    result = app.test_cli_runner().invoke(args=["storage", "copy", *args])
    found = re.search(
        r"(\d+) copied \((\d+) replacing.*?(\d+) skipped.*?(\d+) failed", result.output
    )
    assert found, result.output
    counts = dict(
        zip(("copied", "replaced", "skipped", "failed"), map(int, found.groups()), strict=True)
    )
    return result.exit_code, result.output, counts


def _local_files(store: LocalStorage) -> dict[str, bytes]:
    return {o.key: store.get(o.key) for o in store.objects()}


def test_the_key_names_the_sha256_of_main_photos_and_notices_only():
    sha = hashlib.sha256(b"x").hexdigest()
    keys = photo_keys(sha)
    assert named_sha256(keys["main"]) == sha
    assert named_sha256(keys["thumb"]) is None and named_sha256(keys["print"]) is None
    assert named_sha256(f"notices/{sha[:2]}/{sha}.pdf") == sha
    assert named_sha256(f"notices/00/{sha}.pdf") is None  # the folder must match too


def test_copy_to_s3_copies_every_file_and_a_second_run_copies_nothing(app, local, bucket):
    code, output, counts = _copy(app, "--from", "local", "--to", "s3")
    assert code == 0, output
    assert counts == {"copied": 7, "replaced": 0, "skipped": 0, "failed": 0}
    assert bucket.contents() == _local_files(local)

    code, output, counts = _copy(app, "--from", "local", "--to", "s3")
    assert code == 0, output
    assert counts == {"copied": 0, "replaced": 0, "skipped": 7, "failed": 0}


def test_a_damaged_object_in_the_target_is_written_again(app, local, bucket):
    _copy(app, "--from", "local", "--to", "s3")
    thumb = next(k for k in bucket.names() if k.endswith("/thumb.jpg"))
    bucket.put(thumb, b"not the thumbnail")
    bucket.put(PDF_KEY, PDF[:-1])  # truncated

    code, output, counts = _copy(app, "--from", "local", "--to", "s3")

    assert code == 0, output
    assert counts == {"copied": 2, "replaced": 2, "skipped": 5, "failed": 0}
    assert bucket.contents() == _local_files(local)


def test_a_damaged_source_is_reported_and_not_copied(app, local, bucket):
    main = next(o.key for o in local.objects() if o.key.endswith("/main.jpg"))
    local.put(main, b"bit rot", replace=True)

    code, output, counts = _copy(app, "--from", "local", "--to", "s3")

    assert code == 1
    assert counts == {"copied": 6, "replaced": 0, "skipped": 0, "failed": 1}
    assert f"failed: {main}: the source's copy does not match the SHA-256" in output
    assert main not in bucket.names()


def test_copy_back_from_s3_to_an_empty_folder(app, local, bucket, tmp_path):
    _copy(app, "--from", "local", "--to", "s3")
    before = _local_files(local)
    app.config["STORAGE_DIR"] = str(tmp_path / "new-storage")

    code, output, counts = _copy(app, "--from", "s3", "--to", "local")

    assert code == 0, output
    assert counts["copied"] == 7
    assert _local_files(LocalStorage(tmp_path / "new-storage")) == before


def test_s3_down_stops_the_copy_with_a_sentence(app, local):
    app.config.update(S3_ENDPOINT=f"http://127.0.0.1:{free_port()}", S3_ATTEMPTS=1)
    result = app.test_cli_runner().invoke(args=["storage", "copy", "--from", "local", "--to", "s3"])
    assert result.exit_code == 1
    assert "storage is not answering" in result.output and "run it again" in result.output.lower()
    assert "Traceback" not in result.output


def test_copy_refuses_the_same_store_twice_and_a_missing_bucket_setting(app):
    same = app.test_cli_runner().invoke(args=["storage", "copy", "--from", "s3", "--to", "s3"])
    assert same.exit_code == 2 and "same store" in same.output
    app.config["S3_BUCKET"] = None
    unset = app.test_cli_runner().invoke(args=["storage", "copy", "--from", "local", "--to", "s3"])
    assert unset.exit_code == 2 and "SHOPPER_S3_BUCKET" in unset.output


def test_s3_settings_come_from_the_environment(monkeypatch, tmp_path):
    from shopper import config

    for name, value in {
        "SHOPPER_S3_BUCKET": "photos",
        "SHOPPER_S3_ENDPOINT": "http://minio.internal:9000",
        "SHOPPER_S3_REGION": "cn-north-1",
        "SHOPPER_S3_ACCESS_KEY": "AK",
        "SHOPPER_S3_SECRET_KEY": "SK",
    }.items():
        monkeypatch.setenv(name, value)
    settings = S3Settings.from_config(config.load(tmp_path, {"SECRET_KEY": "x"}))
    assert settings == S3Settings(
        bucket="photos",
        endpoint="http://minio.internal:9000",
        region="cn-north-1",
        access_key="AK",
        secret_key="SK",
    )
    assert isinstance(photos.make_storage(config.load(tmp_path, {"SECRET_KEY": "x"})), S3Storage)
    monkeypatch.delenv("SHOPPER_S3_BUCKET")
    assert isinstance(photos.make_storage(config.load(tmp_path, {"SECRET_KEY": "x"})), LocalStorage)
