"""Where photo files live: a small key/value interface and its local-disk backend (the
S3-compatible one is shopper.photos.s3).

Keys are relative slash paths such as ``photos/ab/<sha256>/main.jpg``. Photos are content
addressed, so a key's bytes never change: writing a key that exists is a no-op.
No Flask here; the app picks and configures a backend.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

from shopper.refusals import Refused

# Segments are lower-case names that do not start with a dot: no "..", no hidden or temp files.
_KEY = re.compile(r"[a-z0-9_-][a-z0-9_.-]*(/[a-z0-9_-][a-z0-9_.-]*)*")
_MAX_KEY_LENGTH = 512
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TEMP_PREFIX = ".tmp-"
CHUNK = 64 * 1024  # what a streamed read yields at a time


class StorageUnavailable(Refused):
    """The storage backend did not answer (or refused us): nothing was written. A 503 for
    the request; the message names the cause for the operator's log and the CLI."""

    def __init__(self, detail: str) -> None:
        super().__init__("storage_unavailable", 503)
        self.detail = detail

    def __str__(self) -> str:
        return f"The storage is not answering: {self.detail}"


@dataclass(frozen=True)
class StoredObject:
    """One stored file as a listing sees it."""

    key: str
    size: int
    modified: float  # POSIX seconds (a file's mtime, an object's LastModified)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class StoredFile:
    """A stored file open for reading: read it in chunks (or iterate CHUNK-sized pieces),
    then close it (closing twice is fine); a context manager. The whole file is never read
    into memory here."""

    def __init__(self, raw: _Readable, size: int) -> None:
        self.raw = raw
        self.size = size

    def read(self, size: int = -1) -> bytes:
        return self.raw.read(size)

    def __iter__(self) -> Iterator[bytes]:
        """The bytes in CHUNK-sized pieces; the file is closed once they are all read."""
        try:
            while chunk := self.raw.read(CHUNK):
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> StoredFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class Storage(Protocol):
    def put(self, key: str, data: bytes, *, replace: bool = False) -> None:
        """Store `data` under `key`, atomically, and return only once it is durable. A key
        that exists is left as it is, unless `replace` (a damaged copy being repaired)."""

    def get(self, key: str) -> bytes:
        """The bytes under `key`. Raises KeyError if there are none."""

    def open(self, key: str) -> StoredFile:
        """The file under `key`, open to be read in chunks (and closed). KeyError if none."""

    def objects(self, prefix: str = "") -> Iterator[StoredObject]:
        """Every stored file whose key starts with `prefix`, in key order; temp files of
        writes in flight and anything that is not a storage key are left out."""

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


def is_key(key: str) -> bool:
    return len(key) <= _MAX_KEY_LENGTH and bool(_KEY.fullmatch(key))


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

    def put(self, key: str, data: bytes, *, replace: bool = False) -> None:
        path = self._path(key)
        if path.is_file() and not replace:
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

    def open(self, key: str) -> StoredFile:
        try:
            file = open(self._path(key), "rb")  # noqa: SIM115 (the StoredFile closes it)
        except (FileNotFoundError, IsADirectoryError):
            raise KeyError(key) from None
        return StoredFile(file, os.fstat(file.fileno()).st_size)

    def objects(self, prefix: str = "") -> Iterator[StoredObject]:
        if not self.root.is_dir():
            return
        for folder, dirs, names in os.walk(self.root):
            dirs.sort()
            for name in sorted(names):
                path = Path(folder) / name
                key = path.relative_to(self.root).as_posix()
                if not key.startswith(prefix) or not is_key(key):
                    continue
                try:
                    facts = path.lstat()
                except FileNotFoundError:
                    continue  # removed since the walk
                if stat.S_ISREG(facts.st_mode):  # not a symlink or anything else
                    yield StoredObject(key, facts.st_size, facts.st_mtime)

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
