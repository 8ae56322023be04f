"""Backup and verified restore: one archive of the database, every stored file and the
notice-signing PKI, with a manifest of SHA-256s; a restore that refuses a damaged or
incomplete archive and any instance that is not empty.

The archive is a plain (uncompressed) POSIX tar, members in this order:

    database/shopper.sqlite3    SQLite: a snapshot made with SQLite's online backup API
    database/shopper.pgdump     PostgreSQL: `pg_dump --format=custom` (compressed by pg_dump)
    storage/<key>               every stored file (photos, notice PDFs) under its storage key,
                                from the storage folder or the S3 bucket the app uses
    pki/<name>                  PKI_DIR: the root and signing certificates and their private keys
    manifest.json               every member's size and SHA-256, the schema revision, the
                                database kind, row counts, the app version, the time (UTC)
    manifest.json.sha256        the manifest's own SHA-256 (sha256sum format), last

Uncompressed because photos (JPEG), notices (PDF) and pg_dump's custom format are compressed
already: gzip would spend a core of a busy server for little, and a plain tar can be read
member by member by any tool (`tar -xOf backup.tar manifest.json`).

The core functions (`backup`, `verify_archive`, `restore`) take an engine, paths and a
storage backend (a folder's path means the files in it), no Flask; the two click commands at
the end read the app's configuration, and also write an archive to, or read one from, an
S3 bucket (`s3://bucket/key`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import click
from flask.cli import with_appcontext
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import SQLAlchemyError

from shopper import migrate
from shopper.photos.storage import (
    LocalStorage,
    Storage,
    StorageUnavailable,
    check_key,
    photo_keys,
)

FORMAT = "shopper-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.json.sha256"
DATABASE_MEMBERS = {"sqlite": "database/shopper.sqlite3", "postgresql": "database/shopper.pgdump"}
STORAGE_PREFIX = "storage/"
PKI_PREFIX = "pki/"
# the tables whose rows make an instance "in use": restore never writes over them
IN_USE_TABLES = ("users", "inspections")

_CHUNK = 1024 * 1024
_MANIFEST_MAX_BYTES = 256 * 1024 * 1024
_PKI_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_END_OF_ARCHIVE = bytes(2 * tarfile.BLOCKSIZE)  # two zero blocks close every tar


class BackupError(Exception):
    """A backup or restore that could not be done; the message is a sentence for the
    operator. Nothing was written at the archive's path, or changed in the instance."""


class ArchiveRefused(BackupError):
    """The archive is damaged, incomplete or not a Shopper backup."""


class InstanceRefused(BackupError):
    """The instance cannot take the archive: it holds data, files or another signing key,
    or its database is of another kind."""


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Made:
    """A finished backup: where it is and what its manifest says."""

    path: Path
    manifest: dict[str, Any]
    seconds: float

    @property
    def missing_files(self) -> list[str]:
        return list(self.manifest["missing_files"])


@dataclass(frozen=True)
class Restored:
    manifest: dict[str, Any]
    schema_revision: str | None  # after the migrations ran
    seconds: float


# ---- backup --------------------------------------------------------------------------------


def backup(
    engine: Engine,
    storage: Path | Storage,
    pki_dir: Path | None,
    destination: Path,
    *,
    app_version: str | None = None,
) -> Made:
    """Write one archive of the database, every file in `storage` (a storage backend, or
    the folder of a LocalStorage) and the files of `pki_dir` at `destination` (an existing
    folder: a new `shopper-<UTC time>.tar` in it).

    The database is a consistent snapshot taken while the app goes on writing (SQLite's
    online backup API from a connection of its own; pg_dump on an exported snapshot, which
    the manifest's row counts are read from too). Files are copied after the snapshot:
    they are written before the rows that point at them and never change, so every file
    the snapshot refers to is there unless it was lost; those are named in the manifest's
    `missing_files`. The archive is written under a temporary name beside `destination`
    (mode 0600: it holds the signing key) and renamed when complete, so `destination` never
    holds half an archive. Never overwrites a file. Raises BackupError.
    """
    started = time.monotonic()
    created = datetime.now(UTC)
    target = Path(destination)
    if target.is_dir():
        target = target / f"shopper-{created:%Y%m%dT%H%M%SZ}.tar"
    if target.exists() or target.is_symlink():
        raise BackupError(f"{target} already exists; a backup never overwrites a file.")
    if not target.parent.is_dir():
        raise BackupError(f"The folder {target.parent} does not exist.")
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".work", dir=target.parent))
    part: Path | None = None
    try:
        snapshot = _snapshot(engine, work)
        descriptor, part_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part", dir=target.parent
        )  # mkstemp makes it 0600
        part = Path(part_name)
        with os.fdopen(descriptor, "wb") as raw:
            manifest = _write_archive(
                raw, snapshot, _store(storage), pki_dir, created, app_version or _app_version()
            )
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(part, target)
        part = None
        _fsync_folder(target.parent)
    except OSError as exc:
        raise BackupError(f"The backup could not be written: {exc}.") from exc
    except SQLAlchemyError as exc:
        raise BackupError(f"The database could not be read: {_first_line(exc)}.") from exc
    except StorageUnavailable as exc:
        raise BackupError(f"{exc}; no backup was written.") from exc
    finally:
        if part is not None:
            part.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return Made(target, manifest, time.monotonic() - started)


@dataclass
class _Snapshot:
    kind: str
    path: Path
    facts: dict[str, Any]
    referenced: set[str]


def _snapshot(engine: Engine, work: Path) -> _Snapshot:
    kind = engine.dialect.name
    if kind == "sqlite":
        return _snapshot_sqlite(engine, work)
    if kind == "postgresql":
        return _snapshot_postgresql(engine, work)
    raise BackupError(f"A {kind} database cannot be backed up; only SQLite and PostgreSQL.")


def _snapshot_sqlite(engine: Engine, work: Path) -> _Snapshot:
    source = _sqlite_path(engine)
    if source is None:
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    if not source.is_file():
        raise BackupError(f"There is no database at {source}.")
    copy = work / "shopper.sqlite3"
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=30)) as reader,
            contextlib.closing(sqlite3.connect(copy)) as writer,
        ):
            # one step: the whole copy is read in one read transaction, a consistent snapshot;
            # in WAL mode the app's writers go on meanwhile
            reader.backup(writer, pages=-1)
            writer.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            if writer.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"The database at {source} is damaged (SQLite's quick_check).")

            def rows(sql: str) -> list[Any]:
                return writer.execute(sql).fetchall()

            names = [
                name
                for (name,) in rows(
                    "SELECT name FROM sqlite_master "
                    "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            facts, referenced = _facts(rows, names)
            facts["sqlite_version"] = sqlite3.sqlite_version
    except sqlite3.Error as exc:
        raise BackupError(f"The SQLite database could not be copied: {exc}.") from exc
    return _Snapshot("sqlite", copy, facts, referenced)


def _snapshot_postgresql(engine: Engine, work: Path) -> _Snapshot:
    pg_dump = _tool("pg_dump")
    dump = work / "shopper.pgdump"
    conninfo, env = _libpq(engine.url)
    with engine.connect() as plain:
        connection = plain.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        with connection.begin():
            connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            # pg_dump reads this very snapshot, so the counts below describe the dump
            snapshot_id = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            _run(
                [
                    pg_dump,
                    "--format=custom",
                    "--no-password",
                    f"--snapshot={snapshot_id}",
                    f"--file={dump}",
                    f"--dbname={conninfo}",
                ],
                env,
                "pg_dump",
            )

            def rows(sql: str) -> list[Any]:
                return list(connection.exec_driver_sql(sql).all())

            names = [
                name
                for (name,) in rows(
                    "SELECT tablename FROM pg_tables "
                    "WHERE schemaname = current_schema() ORDER BY tablename"
                )
            ]
            facts, referenced = _facts(rows, names)
            facts["server_version"] = connection.exec_driver_sql("SHOW server_version").scalar()
    return _Snapshot("postgresql", dump, facts, referenced)


def _facts(
    rows: Callable[[str], list[Any]], tables: Sequence[str]
) -> tuple[dict[str, Any], set[str]]:
    """Schema revision and row counts of a snapshot, and the storage keys its rows point at."""
    counts = {name: int(rows(f"SELECT count(*) FROM {_quote_name(name)}")[0][0]) for name in tables}
    revision = None
    if "alembic_version" in counts:
        found = rows("SELECT version_num FROM alembic_version")
        revision = found[0][0] if found else None
    referenced: set[str] = set()
    for table in ("photos", "response_photos"):
        if table in counts:
            for (sha,) in rows(f"SELECT DISTINCT sha256 FROM {table}"):
                with contextlib.suppress(ValueError):
                    referenced.update(photo_keys(sha).values())
    if "notices" in counts:
        referenced.update(key for (key,) in rows("SELECT storage_key FROM notices"))
    return {"schema_revision": revision, "tables": counts}, referenced


def _write_archive(
    raw: IO[bytes],
    snapshot: _Snapshot,
    store: Storage,
    pki_dir: Path | None,
    created: datetime,
    app_version: str,
) -> dict[str, Any]:
    members: list[Member] = []
    stored: set[str] = set()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        database = DATABASE_MEMBERS[snapshot.kind]
        with open(snapshot.path, "rb") as file:
            members.append(_add(tar, database, file, 0o600, os.fstat(file.fileno()).st_size))
        for found in store.objects():
            try:
                opened = store.open(found.key)
            except KeyError:
                continue  # removed since the listing: no row of the snapshot pointed at it
            with opened:  # stored files never change once written: the size stays
                members.append(_add(tar, STORAGE_PREFIX + found.key, opened, 0o644, opened.size))
            stored.add(found.key)
        pki_files = 0
        for path in _pki_files(pki_dir):
            with open(path, "rb") as file:
                facts = os.fstat(file.fileno())
                members.append(
                    _add(tar, PKI_PREFIX + path.name, file, facts.st_mode, facts.st_size)
                )
            pki_files += 1
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "app_version": app_version,
            "database": {"kind": snapshot.kind, "member": database, **snapshot.facts},
            "storage_files": len(stored),
            "pki_files": pki_files,
            "missing_files": sorted(snapshot.referenced - stored),
            "members": [vars(m) for m in members],
        }
        data = json.dumps(manifest, indent=1, sort_keys=True).encode() + b"\n"
        _add_bytes(tar, MANIFEST, data)
        _add_bytes(tar, MANIFEST_SUM, f"{hashlib.sha256(data).hexdigest()}  {MANIFEST}\n".encode())
    return manifest


def _store(storage: Path | Storage) -> Storage:
    return LocalStorage(storage) if isinstance(storage, (str, Path)) else storage


def _pki_files(pki_dir: Path | None) -> list[Path]:
    if pki_dir is None or not Path(pki_dir).is_dir():
        return []
    return sorted(
        p
        for p in Path(pki_dir).iterdir()
        if _PKI_NAME.fullmatch(p.name) and p.is_file() and not p.is_symlink()
    )


class _Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Hashing:
    """A reader that hashes what passes through it."""

    def __init__(self, source: _Reader) -> None:
        self.source = source
        self.hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.hash.update(data)
        return data


def _tarinfo(name: str, size: int, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = mode & 0o777
    info.mtime = int(time.time())
    return info


def _add(tar: tarfile.TarFile, name: str, file: _Reader, mode: int, size: int) -> Member:
    reader = _Hashing(file)
    tar.addfile(_tarinfo(name, size, mode), reader)
    return Member(name, size, reader.hash.hexdigest())


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    tar.addfile(_tarinfo(name, len(data), 0o600), io.BytesIO(data))


# ---- checking an archive -------------------------------------------------------------------


def verify_archive(path: Path) -> dict[str, Any]:
    """The manifest of the archive at `path`, once every member has been read and matched
    its size and SHA-256 in the manifest, the manifest its own checksum, and the archive
    ends where a tar ends. Raises ArchiveRefused with a sentence naming what is wrong:
    no such file, not a Shopper backup, damaged (a hash or size mismatch, a broken header),
    truncated, a member missing or one the manifest does not list."""
    path = Path(path)
    found: dict[str, Member] = {}
    manifest_data = checksum = None
    with _open_archive(path) as raw:
        for info, data in _members(path, raw):
            if info.name in found:
                raise ArchiveRefused(f"The archive {path} holds {info.name} twice: it is damaged.")
            if info.name == MANIFEST:
                manifest_data = data.read(_MANIFEST_MAX_BYTES)
                found[info.name] = Member(info.name, len(manifest_data), "")
            elif info.name == MANIFEST_SUM:
                checksum = data.read(4096)
                found[info.name] = Member(info.name, len(checksum), "")
            else:
                found[info.name] = Member(info.name, *_hash(data))
    return _check_manifest(path, found, manifest_data, checksum)


def _check_manifest(
    path: Path, found: dict[str, Member], data: bytes | None, checksum: bytes | None
) -> dict[str, Any]:
    if data is None:
        raise ArchiveRefused(
            f"The archive {path} has no manifest ({MANIFEST}): it is incomplete or not a "
            "Shopper backup."
        )
    if checksum is None:
        raise ArchiveRefused(
            f"The archive {path} has no manifest checksum ({MANIFEST_SUM}): it is incomplete."
        )
    if checksum.split(b" ")[0].decode("ascii", "replace") != hashlib.sha256(data).hexdigest():
        raise ArchiveRefused(f"The manifest of {path} does not match its checksum: it is damaged.")
    try:
        manifest = json.loads(data)
        listed = [Member(m["name"], int(m["size"]), m["sha256"]) for m in manifest["members"]]
        kind = manifest["database"]["kind"]
        database = manifest["database"]["member"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ArchiveRefused(f"The manifest of {path} cannot be read: it is damaged.") from exc
    if manifest.get("format") != FORMAT:
        raise ArchiveRefused(f"{path} is not a Shopper backup.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveRefused(
            f"The archive {path} is of backup format {manifest.get('format_version')}; this "
            f"version of Shopper reads format {FORMAT_VERSION}."
        )
    if DATABASE_MEMBERS.get(kind) != database or database not in {m.name for m in listed}:
        raise ArchiveRefused(f"The manifest of {path} names no database: it is damaged.")
    for member in listed:
        if not _known_name(member.name):
            raise ArchiveRefused(f"The archive {path} holds an unexpected member {member.name}.")
    contents = {k: v for k, v in found.items() if k not in (MANIFEST, MANIFEST_SUM)}
    missing = [m.name for m in listed if m.name not in contents]
    if missing:
        raise ArchiveRefused(
            f"The archive {path} is incomplete: {len(missing)} of its members are missing "
            f"(the first is {missing[0]})."
        )
    unlisted = sorted(set(contents) - {m.name for m in listed})
    if unlisted:
        raise ArchiveRefused(
            f"The archive {path} holds {len(unlisted)} members its manifest does not list "
            f"(the first is {unlisted[0]}): it was changed after it was made."
        )
    for member in listed:
        if contents[member.name] != member:
            raise ArchiveRefused(
                f"The archive {path} is damaged: {member.name} does not match its SHA-256 in "
                "the manifest."
            )
    return dict(manifest)


def _known_name(name: str) -> bool:
    if name in DATABASE_MEMBERS.values():
        return True
    if name.startswith(STORAGE_PREFIX):
        try:
            check_key(name.removeprefix(STORAGE_PREFIX))
        except ValueError:
            return False
        return True
    return name.startswith(PKI_PREFIX) and bool(_PKI_NAME.fullmatch(name.removeprefix(PKI_PREFIX)))


@contextlib.contextmanager
def _open_archive(path: Path) -> Iterator[IO[bytes]]:
    """The archive, open for reading; what tarfile raises while it is read (a header that
    does not parse, data cut short) becomes ArchiveRefused."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 (closed below)
    except FileNotFoundError:
        raise ArchiveRefused(f"There is no archive at {path}.") from None
    except OSError as exc:
        raise ArchiveRefused(f"The archive {path} cannot be read: {exc.strerror}.") from exc
    with raw:
        try:
            yield raw
        except (tarfile.TarError, EOFError) as exc:
            if "unexpected end of data" in str(exc):
                raise ArchiveRefused(f"The archive {path} is truncated.") from exc
            raise ArchiveRefused(
                f"{path} is not a Shopper backup, or it is damaged (not a readable tar archive)."
            ) from exc


def _members(path: Path, raw: IO[bytes]) -> Iterator[tuple[tarfile.TarInfo, IO[bytes]]]:
    """Every member of the tar in `raw` with a reader of its data; ArchiveRefused for a
    member that is not a regular file, data cut short or an archive that does not end with
    the end-of-archive marker (truncated, or a header damaged). Use inside _open_archive,
    which turns tarfile's errors, raised here or by the readers, into ArchiveRefused."""
    with tarfile.open(fileobj=raw, mode="r:") as tar:
        for info in tar:
            if not info.isreg():
                raise ArchiveRefused(
                    f"The archive {path} holds {info.name}, which is not a regular file."
                )
            data = tar.extractfile(info)
            assert data is not None  # a regular file has data
            yield info, data
        end = tar.offset
    raw.seek(end)
    if raw.read(len(_END_OF_ARCHIVE)) != _END_OF_ARCHIVE:
        raise ArchiveRefused(
            f"The archive {path} ends early or a header in it is damaged: it is truncated or "
            "damaged."
        )


def _hash(data: IO[bytes]) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    while chunk := data.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


# ---- restore -------------------------------------------------------------------------------


@dataclass
class _Plan:
    """What restore will do, decided before anything is changed."""

    sqlite_path: Path | None = None
    pg_clean: bool = False  # the database has Shopper's tables, empty, of the same revision
    pki: str = "none"  # none | write | same
    storage_leftovers: list[Path] = field(default_factory=list)  # empty folders to remove


def restore(
    archive: Path, engine: Engine, storage: Path | Storage, pki_dir: Path | None
) -> Restored:
    """Restore the archive into the empty instance of `engine`, `storage` (a backend, or the
    folder of a LocalStorage) and `pki_dir`, then run the migrations (the archive may be of
    an older schema).

    Refuses, changing nothing: a damaged or incomplete archive (ArchiveRefused, see
    verify_archive), a database of another kind, and an instance that is not empty
    (InstanceRefused): rows in users or inspections, any stored file, a PKI_DIR holding
    files other than the archive's, or (SQLite) a database file another process has open.
    Files are staged and checked against their SHA-256 as they are written, the database
    is restored in one step (a rename; PostgreSQL: pg_restore in one transaction), then the
    files are moved into place. Into object storage (S3) the files are written first, each
    checked as it is read, then the database is restored: a bucket that holds only files of
    this archive (an earlier attempt that stopped) counts as empty, so the restore can be run
    again. Raises BackupError if the restored rows do not match the manifest's counts. Run
    it with the app stopped.
    """
    started = time.monotonic()
    archive = Path(archive)
    store = _store(storage)
    storage_dir = store.root if isinstance(store, LocalStorage) else None
    remote = None if isinstance(store, LocalStorage) else store
    pki_dir = Path(pki_dir) if pki_dir is not None else None
    manifest = verify_archive(archive)
    listed = {m["name"]: m for m in manifest["members"]}
    try:
        plan = _plan(engine, store, pki_dir, manifest, listed)
    except SQLAlchemyError as exc:
        raise BackupError(
            f"The database of this instance cannot be read: {_first_line(exc)}."
        ) from exc
    except StorageUnavailable as exc:
        raise BackupError(f"{exc}; nothing was restored.") from exc
    if storage_dir is not None:
        storage_dir.mkdir(parents=True, exist_ok=True)
        # staged inside the storage folder, so moving files into place is a rename
        work = Path(tempfile.mkdtemp(prefix=".restore-", dir=storage_dir))
    else:
        work = Path(tempfile.mkdtemp(prefix="shopper-restore-"))
    files = work / "files"
    database = work / "database.pgdump"
    pki_stage: Path | None = None
    try:
        files.mkdir()
        if plan.sqlite_path is not None:  # beside its place, so that it is renamed onto it
            plan.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temp = tempfile.mkstemp(
                prefix=f".{plan.sqlite_path.name}.", suffix=".restore", dir=plan.sqlite_path.parent
            )
            os.close(descriptor)
            database = Path(temp)
        if plan.pki == "write":
            assert pki_dir is not None
            pki_dir.parent.mkdir(parents=True, exist_ok=True)
            pki_stage = Path(
                tempfile.mkdtemp(prefix=f".{pki_dir.name}-restore-", dir=pki_dir.parent)
            )
        _stage(archive, listed, manifest["database"]["member"], database, files, pki_stage, remote)
        if plan.sqlite_path is not None:
            engine.dispose()
            os.replace(database, plan.sqlite_path)
            _fsync_folder(plan.sqlite_path.parent)
        else:
            _pg_restore(engine, database, clean=plan.pg_clean)
        if storage_dir is not None:
            # the database is in: now the files, each a rename on the same file system
            for leftover in plan.storage_leftovers:
                _remove_empty_tree(leftover)
            for child in sorted(files.iterdir()):
                os.rename(child, storage_dir / child.name)
            _fsync_folder(storage_dir)
        if pki_stage is not None:
            assert pki_dir is not None
            if pki_dir.is_dir():
                pki_dir.rmdir()  # empty: checked by _plan
            os.rename(pki_stage, pki_dir)
            pki_stage = None
            _fsync_folder(pki_dir.parent)
    except OSError as exc:
        raise BackupError(f"The restore failed: {exc}.") from exc
    except StorageUnavailable as exc:  # while the files were written, before the database
        raise BackupError(
            f"{exc}; the database was not restored. Run the restore again when the storage answers."
        ) from exc
    finally:
        database.unlink(missing_ok=True)  # gone when it was renamed into place
        shutil.rmtree(work, ignore_errors=True)
        if pki_stage is not None:
            shutil.rmtree(pki_stage, ignore_errors=True)
    try:
        _check_counts(engine, manifest["database"]["tables"])
        migrate.upgrade(engine)
    except SQLAlchemyError as exc:
        raise BackupError(
            f"The archive was restored, but its database could not be checked or migrated: "
            f"{_first_line(exc)}."
        ) from exc
    return Restored(manifest, _revision(engine), time.monotonic() - started)


def _plan(
    engine: Engine,
    store: Storage,
    pki_dir: Path | None,
    manifest: dict[str, Any],
    listed: dict[str, Any],
) -> _Plan:
    kind = manifest["database"]["kind"]
    if kind != engine.dialect.name:
        raise InstanceRefused(
            f"The archive holds a {kind} database and this instance uses "
            f"{engine.dialect.name}: restore it into a {kind} instance."
        )
    plan = _Plan()
    if kind == "sqlite":
        plan.sqlite_path = _sqlite_path(engine)
        if plan.sqlite_path is None:
            raise InstanceRefused("A backup cannot be restored into an in-memory database.")
    tables, revision = _database_state(engine)
    in_use = {t: n for t, n in tables.items() if t in IN_USE_TABLES and n}
    if in_use:
        rows = ", ".join(f"{n} {t}" for t, n in sorted(in_use.items()))
        raise InstanceRefused(
            f"The database is not empty ({rows}): restore only into a new, empty instance."
        )
    if kind == "postgresql" and tables:
        if revision is None or revision != manifest["database"]["schema_revision"]:
            raise InstanceRefused(
                f"The database already has tables (schema revision {revision or 'unknown'}, "
                f"the archive's is {manifest['database']['schema_revision']}): restore into a "
                "database with no tables."
            )
        plan.pg_clean = True
    if plan.sqlite_path is not None:
        engine.dispose()  # our own connections: SQLite removes its -wal and -shm files
        for suffix in ("-wal", "-shm", "-journal"):
            if Path(f"{plan.sqlite_path}{suffix}").exists():
                raise InstanceRefused(
                    f"The database {plan.sqlite_path} is open in another process: stop the "
                    "app, then restore."
                )
    if isinstance(store, LocalStorage):
        plan.storage_leftovers = _check_storage_empty(store.root)
    else:
        _check_bucket_empty(store, listed)
    plan.pki = _check_pki(pki_dir, listed)
    return plan


def _database_state(engine: Engine) -> tuple[dict[str, int], str | None]:
    """Row counts of the tables that make an instance in use, and the schema revision;
    a SQLite file that does not exist yet is not created."""
    path = _sqlite_path(engine)
    if path is not None and (not path.exists() or path.stat().st_size == 0):
        return {}, None
    with engine.connect() as connection:
        names = set(inspect(connection).get_table_names())
        counts = {name: 0 for name in names}
        for table in IN_USE_TABLES:
            if table in names:
                counts[table] = int(
                    connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                )
        revision = None
        if "alembic_version" in names:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return counts, revision


def _check_storage_empty(storage_dir: Path) -> list[Path]:
    """The empty folders under `storage_dir` (to make room); InstanceRefused if it holds
    any file."""
    if not storage_dir.exists():
        return []
    if not storage_dir.is_dir():
        raise InstanceRefused(f"The storage folder {storage_dir} is not a folder.")
    for folder, _dirs, names in os.walk(storage_dir):
        if names:
            raise InstanceRefused(
                f"The storage folder {storage_dir} is not empty (it holds "
                f"{Path(folder, names[0]).relative_to(storage_dir)}): restore only into a new, "
                "empty instance."
            )
    return sorted(storage_dir.iterdir())


def _check_bucket_empty(store: Storage, listed: dict[str, Any]) -> None:
    """InstanceRefused if the store holds a file that is not one of the archive's (those are
    an earlier attempt's at this restore, written again)."""
    for found in store.objects():
        if STORAGE_PREFIX + found.key not in listed:
            raise InstanceRefused(
                f"The object storage is not empty (it holds {found.key}): restore only into a "
                "new, empty instance."
            )


def _check_pki(pki_dir: Path | None, listed: dict[str, Any]) -> str:
    names = {n.removeprefix(PKI_PREFIX): m for n, m in listed.items() if n.startswith(PKI_PREFIX)}
    if not names:
        return "none"
    if pki_dir is None:
        raise InstanceRefused(
            "The archive holds the notice-signing PKI and this instance has no PKI_DIR to "
            "restore it to."
        )
    if not pki_dir.exists():
        return "write"
    present = {p.name: p for p in pki_dir.iterdir()} if pki_dir.is_dir() else None
    if present == {}:
        return "write"
    if present is not None and set(present) == set(names):
        same = all(
            p.is_file() and _hash_file(p) == names[name]["sha256"] for name, p in present.items()
        )
        if same:
            return "same"  # the very key of the archive: nothing to replace
    raise InstanceRefused(
        f"The PKI folder {pki_dir} already holds keys or certificates other than the "
        "archive's; a restore never replaces a signing key: move the folder away first."
    )


def _stage(
    archive: Path,
    listed: dict[str, Any],
    database_member: str,
    database: Path,
    files: Path,
    pki_stage: Path | None,
    remote: Storage | None = None,
) -> None:
    """Write every member where it waits for the swap (the database at `database`, stored
    files under `files`, PKI files in `pki_stage`), each checked against its SHA-256 as it
    is written, then make them all durable at once. With `remote` the stored files go
    straight into it instead, each checked before it is written."""
    with _open_archive(archive) as raw:
        for info, data in _members(archive, raw):
            name = info.name
            if name in (MANIFEST, MANIFEST_SUM):
                continue
            if name not in listed:  # verify_archive saw no such member: the file changed
                raise ArchiveRefused(
                    f"The archive {archive} changed while it was restored; nothing was restored."
                )
            if name == database_member:
                target, mode = database, 0o600
            elif name.startswith(STORAGE_PREFIX) and remote is not None:
                _put_checked(data, remote, name.removeprefix(STORAGE_PREFIX), listed[name], archive)
                continue
            elif name.startswith(STORAGE_PREFIX):
                target = files.joinpath(*name.removeprefix(STORAGE_PREFIX).split("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                mode = 0o644
            elif pki_stage is not None:
                target, mode = pki_stage / name.removeprefix(PKI_PREFIX), info.mode & 0o755
            else:
                continue  # the PKI in place is the archive's own
            _write_checked(data, target, mode, listed[name], archive)
    # one sync for every file and folder written: a fsync each made restore 5 times slower
    os.sync()


def _write_checked(
    data: IO[bytes], target: Path, mode: int, member: dict[str, Any], archive: Path
) -> None:
    digest = hashlib.sha256()
    with open(target, "wb") as out:
        os.chmod(target, mode)
        while chunk := data.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != member["sha256"]:
        raise ArchiveRefused(
            f"The archive {archive} changed while it was restored ({member['name']} no longer "
            "matches its SHA-256); nothing was restored."
        )


def _put_checked(
    data: IO[bytes], store: Storage, key: str, member: dict[str, Any], archive: Path
) -> None:
    content = data.read()  # one photo or PDF: the storage interface writes whole objects
    if hashlib.sha256(content).hexdigest() != member["sha256"]:
        raise ArchiveRefused(
            f"The archive {archive} changed while it was restored ({member['name']} no longer "
            "matches its SHA-256); the database was not restored."
        )
    store.put(key, content, replace=True)  # an earlier attempt's copy is written again


def _pg_restore(engine: Engine, dump: Path, *, clean: bool) -> None:
    engine.dispose()
    conninfo, env = _libpq(engine.url)
    args = [_tool("pg_restore"), "--no-password", "--single-transaction", "--exit-on-error"]
    if clean:  # Shopper's own tables, empty: replaced in the same transaction
        args += ["--clean", "--if-exists"]
    args += ["--no-owner", "--no-acl", f"--dbname={conninfo}", str(dump)]
    _run(args, env, "pg_restore")


def _check_counts(engine: Engine, expected: dict[str, int]) -> None:
    with engine.connect() as connection:
        for table, rows in sorted(expected.items()):
            found = connection.execute(text(f"SELECT count(*) FROM {_quote_name(table)}")).scalar()
            if found != rows:
                raise BackupError(
                    f"The restored database does not hold what the archive's manifest says: "
                    f"{table} has {found} rows, the manifest says {rows}."
                )


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return None if found is None else str(found)


# ---- helpers -------------------------------------------------------------------------------


def _sqlite_path(engine: Engine) -> Path | None:
    """The file of a SQLite engine; None for an in-memory one or another kind of database."""
    name = engine.url.database
    if (
        engine.dialect.name != "sqlite"
        or not name
        or name == ":memory:"
        or name.startswith("file:")
    ):
        return None
    return Path(name)


def _quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string for `url` without its password, and the environment that
    carries the password (PGPASSWORD), so it never appears on a command line."""
    params: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "dbname": url.database,
    }
    for key, value in url.query.items():
        if key != "password":
            params[key] = value[-1] if isinstance(value, tuple) else value
    conninfo = " ".join(
        f"{key}={_libpq_value(str(value))}"
        for key, value in params.items()
        if value not in (None, "")
    )
    env = dict(os.environ)  # the child needs PATH, locale, HOME (.pgpass) as we have them
    env.pop("PGPASSWORD", None)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def _libpq_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed; install the PostgreSQL client tools "
            "(Debian: postgresql-client)."
        )
    return found


def _run(args: list[str], env: dict[str, str], name: str) -> None:
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit status {result.returncode}"
        raise BackupError(f"{name} failed: {detail.rstrip('.')}.")


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0].rstrip(".") if str(error).strip() else repr(error)


def _hash_file(path: Path) -> str:
    with open(path, "rb") as file:
        return _hash(file)[1]


def _remove_empty_tree(path: Path) -> None:
    """Remove a folder tree that holds no file (os.rmdir refuses one that does)."""
    if not path.is_dir() or path.is_symlink():
        return
    for folder, _dirs, _names in os.walk(path, topdown=False):
        os.rmdir(folder)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _app_version() -> str:
    try:
        return importlib.metadata.version("shopper")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.1f} kB"


# ---- commands ------------------------------------------------------------------------------


def _upload_archive(config: dict[str, Any], made: Path, url: str) -> str:
    """Upload the archive at `made` to `url` (s3://bucket/key, or a prefix ending in "/"
    for the archive's own name); the URL it is at."""
    from shopper.photos import s3

    bucket, key = s3.parse_url(url)
    if not key or key.endswith("/"):
        key += made.name
    s3.upload_file(s3.S3Settings.from_config(config, bucket), made, _archive_key(key))
    return f"s3://{bucket}/{key}"


def _download_archive(config: dict[str, Any], url: str, work: Path) -> Path:
    from shopper.photos import s3

    bucket, key = s3.parse_url(url)
    target = work / "archive.tar"
    try:
        s3.download_file(s3.S3Settings.from_config(config, bucket), _archive_key(key), target)
    except KeyError:
        raise ArchiveRefused(f"There is no archive at {url}.") from None
    return target


def _archive_key(key: str) -> str:
    """An object name for an archive: printable, no "..", at most 900 characters."""
    if not key or len(key) > 900 or ".." in key.split("/") or not key.isprintable():
        raise BackupError(f"{key!r} is not a name for an archive in a bucket.")
    return key


@click.command("backup")
@with_appcontext
@click.argument("path")
def backup_command(path: str) -> None:
    """Write one archive of the database, every stored file and the signing PKI to PATH
    (a folder: a new shopper-<time>.tar in it; or s3://bucket/key, or s3://bucket/prefix/
    for a new shopper-<time>.tar there). Safe while the app is serving."""
    from flask import current_app

    from shopper.extensions import db

    config = current_app.config
    store = current_app.extensions["shopper.storage"]
    to_bucket = path.startswith("s3://")
    # an archive for a bucket is made in a private temp folder, then uploaded
    work = Path(tempfile.mkdtemp(prefix="shopper-backup-")) if to_bucket else None
    try:
        made = backup(db.engine(), store, Path(config["PKI_DIR"]), work or Path(path))
        where = str(made.path)
        size = made.path.stat().st_size
        if to_bucket:
            where = _upload_archive(dict(config), made.path, path)
    except StorageUnavailable as exc:
        click.echo(f"{exc}; the archive was not stored.", err=True)
        sys.exit(1)
    except BackupError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    manifest = made.manifest
    click.echo(
        f"Backup written to {where} ({_size(size)} in {made.seconds:.1f} s): the "
        f"{manifest['database']['kind']} database at schema revision "
        f"{manifest['database']['schema_revision']}, {manifest['storage_files']} stored files "
        f"and {manifest['pki_files']} PKI files."
    )
    if manifest["pki_files"]:
        click.echo("It holds the notice-signing private key: keep it as safe as the key itself.")
    if made.missing_files:
        missing = made.missing_files
        click.echo(
            f"Warning: {len(missing)} files the database refers to were not in storage "
            f"(the first is {missing[0]}); the manifest lists them.",
            err=True,
        )


@click.command("restore")
@with_appcontext
@click.argument("path")
def restore_command(path: str) -> None:
    """Restore the archive at PATH (a file, or s3://bucket/key) into this empty instance
    (stop the app first), then migrate. Refuses a damaged or incomplete archive, or an
    instance that is not empty."""
    from flask import current_app

    from shopper.extensions import db

    config = current_app.config
    store = current_app.extensions["shopper.storage"]
    work = Path(tempfile.mkdtemp(prefix="shopper-restore-")) if path.startswith("s3://") else None
    try:
        archive = _download_archive(dict(config), path, work) if work else Path(path)
        restored = restore(archive, db.engine(), store, Path(config["PKI_DIR"]))
    except StorageUnavailable as exc:
        click.echo(f"{exc}; nothing was restored.", err=True)
        sys.exit(1)
    except BackupError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    manifest = restored.manifest
    database = manifest["database"]
    click.echo(
        f"Restored {path} (made {manifest['created_at']}) in {restored.seconds:.1f} s: the "
        f"{database['kind']} database, {manifest['storage_files']} stored files and "
        f"{manifest['pki_files']} PKI files, every one matching its SHA-256; schema revision "
        f"{database['schema_revision']}, now {restored.schema_revision}."
    )
