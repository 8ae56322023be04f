"""Where photo files live: a small key/value interface and its local-disk backend.

Keys are relative slash paths such as ``photos/ab/<sha256>/main.jpg``. Photos are content
addressed, so a key's bytes never change: writing a key that exists is a no-op.
No Flask here; the app picks and configures a backend.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

# Segments are lower-case names that do not start with a dot: no "..", no hidden or temp files.
_KEY = re.compile(r"[a-z0-9_-][a-z0-9_.-]*(/[a-z0-9_-][a-z0-9_.-]*)*")
_MAX_KEY_LENGTH = 512
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TEMP_PREFIX = ".tmp-"


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, atomically. A key that exists is left as it is."""

    def get(self, key: str) -> bytes:
        """The bytes under `key`. Raises KeyError if there are none."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove `key`; a missing key is fine."""

    def local_path(self, key: str) -> Path | None:
        """A file path to serve `key` from (send_file), or None for a remote backend."""


def photo_keys(sha256: str) -> dict[str, str]:
    """The keys of a photo's renditions: "main", "print" and "thumb"."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a hex SHA-256: {sha256!r}")
    folder = f"photos/{sha256[:2]}/{sha256}"
    return {
        "main": f"{folder}/main.jpg",
        "print": f"{folder}/print.jpg",
        "thumb": f"{folder}/thumb.jpg",
    }


def check_key(key: str) -> str:
    """`key` itself if it is a valid storage key; ValueError otherwise."""
    if not isinstance(key, str) or len(key) > _MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


class LocalStorage:
    """Files under `root`, written so that a reader never sees half a file and a crash
    never leaves one: temp file, fsync, rename, fsync of the directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path.is_file():
            return
        self._make_folder(path.parent)
        descriptor, temp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        _fsync_folder(path.parent)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def _make_folder(self, folder: Path) -> None:
        """Create `folder` and its missing parents, making each new entry durable."""
        missing = []
        while not folder.is_dir():
            missing.append(folder)
            folder = folder.parent
        for new in reversed(missing):
            with contextlib.suppress(FileExistsError):  # another writer made it first
                new.mkdir()
            _fsync_folder(new.parent)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
