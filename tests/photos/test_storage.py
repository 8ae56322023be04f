from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from shopper.photos import storage as storage_module
from shopper.photos.storage import LocalStorage, Storage, check_key, photo_keys

SHA = "ab" + "0123456789abcdef" * 3 + "0123456789abcd"
KEY = f"photos/ab/{SHA}/main.jpg"


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


def all_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_local_storage_is_a_storage(store):
    backend: Storage = store
    assert backend is store


def test_put_then_get_exists_and_local_path(store):
    store.put(KEY, b"jpeg bytes")

    assert store.get(KEY) == b"jpeg bytes"
    assert store.exists(KEY)
    assert store.local_path(KEY) == store.root / "photos" / "ab" / SHA / "main.jpg"
    assert store.local_path(KEY).read_bytes() == b"jpeg bytes"


def test_put_leaves_exactly_the_file_and_no_temp_file(store):
    store.put(KEY, b"jpeg bytes")

    assert all_files(store.root) == [store.local_path(KEY)]


def test_failed_put_leaves_neither_the_file_nor_a_temp_file(store, monkeypatch):
    real_fsync = os.fsync

    def full_disk(descriptor: int) -> None:
        if stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(28, "No space left on device")
        real_fsync(descriptor)

    monkeypatch.setattr(storage_module.os, "fsync", full_disk)

    with pytest.raises(OSError, match="No space left"):
        store.put(KEY, b"jpeg bytes")

    monkeypatch.undo()
    assert all_files(store.root) == []
    assert not store.exists(KEY)


def test_failed_rename_leaves_no_temp_file(store, monkeypatch):
    def broken_rename(source: str, target: Path) -> None:
        raise PermissionError("rename refused")

    monkeypatch.setattr(storage_module.os, "replace", broken_rename)

    with pytest.raises(PermissionError):
        store.put(KEY, b"jpeg bytes")

    assert all_files(store.root) == []


def test_put_syncs_the_file_and_its_folder(store, monkeypatch):
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(storage_module.os, "fsync", recording_fsync)

    store.put(KEY, b"jpeg bytes")

    folder = str(store.local_path(KEY).parent)
    # the data before the rename, and the folder (holding the rename) after it
    assert any(Path(path).name.startswith(".tmp-") for path in synced)
    assert synced[-1] == folder


def test_put_of_an_existing_key_is_a_no_op(store, monkeypatch):
    store.put(KEY, b"first")
    before = store.local_path(KEY).stat()

    def no_write(*args: object, **kwargs: object) -> None:
        raise AssertionError("wrote again")

    monkeypatch.setattr(storage_module.tempfile, "mkstemp", no_write)
    store.put(KEY, b"first")

    assert store.get(KEY) == b"first"
    assert store.local_path(KEY).stat().st_ino == before.st_ino


def test_get_of_a_missing_key_raises_key_error(store):
    with pytest.raises(KeyError):
        store.get(KEY)
    assert not store.exists(KEY)


def test_delete_removes_and_tolerates_missing(store):
    store.put(KEY, b"jpeg bytes")

    store.delete(KEY)
    store.delete(KEY)

    assert not store.exists(KEY)
    with pytest.raises(KeyError):
        store.get(KEY)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../outside.jpg",
        "photos/../../outside.jpg",
        "photos/./main.jpg",
        "photos//main.jpg",
        "photos/main.jpg/",
        "photos\\main.jpg",
        "Photos/Main.JPG",
        "photos/.tmp-abc",
        "photos/.hidden",
        "photos/ma in.jpg",
        "photos/main.jpg\x00.png",
        "photos/é.jpg",
        "a/" * 300,
    ],
)
def test_invalid_keys_are_refused_by_every_operation(store, key):
    with pytest.raises(ValueError):
        check_key(key)
    for operation in (store.get, store.exists, store.delete, store.local_path):
        with pytest.raises(ValueError):
            operation(key)
    with pytest.raises(ValueError):
        store.put(key, b"x")
    assert not store.root.exists()


@pytest.mark.parametrize("key", ["photos/ab/main.jpg", "a", "a_b-c.d/e.f.g", "0/1/2"])
def test_valid_keys_are_accepted(key):
    assert check_key(key) == key


def test_photo_keys_address_the_three_renditions_by_hash():
    assert photo_keys(SHA) == {
        "main": f"photos/ab/{SHA}/main.jpg",
        "print": f"photos/ab/{SHA}/print.jpg",
        "thumb": f"photos/ab/{SHA}/thumb.jpg",
    }
    for key in photo_keys(SHA).values():
        assert check_key(key) == key


@pytest.mark.parametrize("bad", ["", "ab", SHA.upper(), SHA[:-1], SHA + "0", "../" + SHA[3:]])
def test_photo_keys_refuse_what_is_not_a_sha256(bad):
    with pytest.raises(ValueError):
        photo_keys(bad)
