"""S3Storage against a real S3 protocol server: the same promises as LocalStorage (put,
get, exists, delete, a streamed open, a listing), and a clear StorageUnavailable, never a
botocore traceback, when S3 does not answer."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from shopper.photos.s3 import S3Settings, S3Storage
from shopper.photos.storage import CHUNK, Storage, StorageUnavailable, photo_keys
from tests.s3server import S3Server, free_port

SHA = hashlib.sha256(b"main").hexdigest()
KEY = photo_keys(SHA)["main"]


@pytest.fixture
def store(s3_server, s3_bucket) -> S3Storage:
    return S3Storage.from_config(s3_server.config(s3_bucket))


def test_s3_storage_is_a_storage(store):
    backend: Storage = store
    assert backend is store


def test_put_then_get_exists_and_no_local_path(store, bucket):
    store.put(KEY, b"jpeg bytes")

    assert store.get(KEY) == b"jpeg bytes"
    assert store.exists(KEY)
    assert store.local_path(KEY) is None
    assert bucket.get(KEY) == b"jpeg bytes"  # one object under the very key
    head = bucket.client.head_object(Bucket=bucket.name, Key=KEY)
    assert head["ContentType"] == "image/jpeg"


def test_a_missing_key_is_a_key_error_and_does_not_exist(store):
    assert not store.exists(KEY)
    with pytest.raises(KeyError):
        store.get(KEY)
    with pytest.raises(KeyError):
        store.open(KEY)
    store.delete(KEY)  # a missing key is fine


def test_put_leaves_an_existing_key_unless_replacing(store, bucket):
    store.put(KEY, b"first")
    store.put(KEY, b"second")
    assert bucket.get(KEY) == b"first"  # content addressed: the same key is the same bytes
    store.put(KEY, b"repaired", replace=True)
    assert bucket.get(KEY) == b"repaired"


def test_delete_removes_the_object(store, bucket):
    store.put(KEY, b"x")
    store.delete(KEY)
    assert not store.exists(KEY)
    assert bucket.names() == []


def test_open_streams_in_chunks_never_the_whole_object(store):
    data = os.urandom(3 * 1024 * 1024 + 17)
    store.put(KEY, data)
    with store.open(KEY) as opened:
        assert opened.size == len(data)
        chunks = list(opened)
    assert max(len(c) for c in chunks) <= CHUNK and len(chunks) > 40
    assert b"".join(chunks) == data


def test_the_listing_gives_every_key_in_order_with_size_and_time(store, bucket):
    keys = sorted(photo_keys(SHA).values())
    for key in reversed(keys):
        store.put(key, key.encode())
    bucket.put("Not A Storage Key.txt", b"left alone")
    before = time.time()

    listed = list(store.objects())

    assert [o.key for o in listed] == keys
    assert [o.size for o in listed] == [len(k) for k in keys]
    assert all(abs(o.modified - before) < 60 for o in listed)
    assert [o.key for o in store.objects("photos/ab/")] == []
    assert [o.key for o in store.objects(keys[0][:10])] == keys


def test_invalid_keys_are_refused_before_any_request(store):
    for key in ("../etc/passwd", "photos/../x", "Photos/A.jpg", "", "a//b"):
        with pytest.raises(ValueError):
            store.put(key, b"x")
        with pytest.raises(ValueError):
            store.open(key)


@pytest.fixture
def dead() -> S3Storage:
    """A store whose endpoint has nothing listening: S3 down."""
    port = free_port()
    settings = S3Settings(
        bucket="gone",
        endpoint=f"http://127.0.0.1:{port}",
        access_key="k",
        secret_key="s",
        connect_timeout=1,
        read_timeout=2,
        attempts=2,
    )
    return S3Storage(settings)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.put(KEY, b"x"),
        lambda s: s.get(KEY),
        lambda s: s.open(KEY),
        lambda s: s.exists(KEY),
        lambda s: s.delete(KEY),
        lambda s: list(s.objects()),
    ],
    ids=["put", "get", "open", "exists", "delete", "objects"],
)
def test_s3_down_is_storage_unavailable_quickly(dead, call):
    started = time.monotonic()
    with pytest.raises(StorageUnavailable) as refused:
        call(dead)
    assert time.monotonic() - started < 10
    assert refused.value.status == 503 and refused.value.code == "storage_unavailable"
    assert "not answering" in str(refused.value)


def test_a_server_that_stops_mid_life_is_storage_unavailable():
    server = S3Server().start()
    try:
        store = S3Storage.from_config(server.config(server.make_bucket()))
        store.put(KEY, b"x")
    finally:
        server.stop()
    with pytest.raises(StorageUnavailable):
        store.get(KEY)


def test_a_missing_bucket_is_storage_unavailable_naming_it(s3_server):
    store = S3Storage.from_config(s3_server.config("no-such-bucket"))
    with pytest.raises(StorageUnavailable, match="NoSuchBucket"):
        store.put(KEY, b"x")


def test_each_process_makes_its_own_client(store, monkeypatch):
    first = store.client
    assert store.client is first
    monkeypatch.setattr(os, "getpid", lambda: -1)  # as in a forked gunicorn worker
    assert store.client is not first
