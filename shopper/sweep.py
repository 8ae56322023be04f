"""`flask --app shopper sweep`: remove what only grows and nothing points at.

- stored files no row points at (photos of removed photos and of uploads that died before
  their row was committed, notice PDFs of notices never recorded, temp files of writes that
  died), once they are older than a grace period, so an upload in flight is never touched;
- prepared exports (XLSX files a job made) once their job is gone, a week after;
- sign-in sessions past their expiry (sessions live in the database, see shopper.auth).

Safe while the app serves: a file is removed only if, checked again just before, no row
points at it; files under folders it does not know are left alone. One transaction, committed
at the end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import delete, exists, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from shopper.auth.models import LoginSession
from shopper.db import utcnow
from shopper.extensions import db
from shopper.notices.models import Notice, ResponsePhoto
from shopper.photos.models import Photo
from shopper.photos.service import storage
from shopper.photos.storage import LocalStorage, Storage, StorageUnavailable

_TEMP_PREFIX = ".tmp-"  # LocalStorage's temp files (storage.py)
# a prepared export (exports/ab/<sha256>.xlsx) is reached only through its job, which stays
# watchable for a week (shopper.jobs.queue.RESULT_SECONDS): after that nothing can reach it
EXPORT_KEPT_SECONDS = 7 * 24 * 3600


@dataclass
class Swept:
    files: list[str] = field(default_factory=list)
    bytes: int = 0
    sessions: int = 0


def _photo_referenced(session: Session, sha256: str) -> bool:
    return bool(
        session.scalar(select(exists().where(Photo.sha256 == sha256)))
        or session.scalar(select(exists().where(ResponsePhoto.sha256 == sha256)))
    )


def _notice_referenced(session: Session, key: str) -> bool:
    return bool(session.scalar(select(exists().where(Notice.storage_key == key))))


def _referenced(session: Session, key: str) -> bool | None:
    """Whether a row points at the stored file `key`; None for a file this code does not
    know (never removed). Temp files are never pointed at."""
    parts = key.split("/")
    if parts[-1].startswith(_TEMP_PREFIX) and parts[0] in ("photos", "notices"):
        return False
    if parts[0] == "photos" and len(parts) == 4:  # photos/ab/<sha256>/<variant>.jpg
        return _photo_referenced(session, parts[2])
    if parts[0] == "notices" and len(parts) == 3:  # notices/ab/<sha256>.pdf
        return _notice_referenced(session, key)
    return None


def _prepared_export(key: str) -> bool:
    parts = key.split("/")
    name, _, extension = parts[-1].partition(".")
    return (
        len(parts) == 3
        and parts[0] == "exports"
        and extension == "xlsx"
        and len(name) == 64
        and all(c in "0123456789abcdef" for c in name)
    )


def _removable(session: Session, key: str, modified: float, now: float) -> bool:
    """Whether the stored file `key`, last modified at `modified`, may go (it is past the
    grace period already): no row points at it, or it is a prepared export past its week."""
    if _prepared_export(key):
        return modified < now - EXPORT_KEPT_SECONDS
    return _referenced(session, key) is False


def _old_files(root: Path, older_than: float) -> Iterator[tuple[str, Path]]:
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            try:
                if path.stat().st_mtime < older_than:
                    yield path.relative_to(root).as_posix(), path
            except FileNotFoundError:
                continue  # removed meanwhile (a temp file renamed into place)


def sweep_files(session: Session, root: Path, grace_seconds: float, *, dry_run: bool) -> Swept:
    """Remove files under `root` older than `grace_seconds` that no row points at."""
    swept = Swept()
    now = time.time()
    for key, path in _old_files(root, now - grace_seconds):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if not _removable(session, key, stat.st_mtime, now):
            continue
        size = stat.st_size
        if not dry_run:
            path.unlink(missing_ok=True)
            _remove_empty_folders(path.parent, root)
        swept.files.append(key)
        swept.bytes += size
    return swept


def sweep_objects(
    session: Session,
    store: Storage,
    grace_seconds: float,
    *,
    dry_run: bool,
    now: float | None = None,
) -> Swept:
    """The same for a remote store (S3): its listing gives each object's LastModified (by
    the store's clock; `now` is ours, POSIX seconds); there are no temp files (an S3 PUT
    appears whole or not at all) and no folders."""
    swept = Swept()
    now = time.time() if now is None else now
    for stored in store.objects():
        if stored.modified >= now - grace_seconds:
            continue
        if not _removable(session, stored.key, stored.modified, now):
            continue
        if not dry_run:
            store.delete(stored.key)
        swept.files.append(stored.key)
        swept.bytes += stored.size
    return swept


def _remove_empty_folders(folder: Path, root: Path) -> None:
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone): stop here
            return
        folder = folder.parent


def sweep_sessions(session: Session, *, dry_run: bool) -> int:
    """Remove sign-in sessions past their expiry (they can no longer sign anyone in)."""
    expired = LoginSession.expires_at <= utcnow()
    if dry_run:
        return len(session.scalars(select(LoginSession.token_hash).where(expired)).all())
    result = cast(CursorResult[Any], session.execute(delete(LoginSession).where(expired)))
    return result.rowcount or 0


@click.command("sweep")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="say what would be removed, remove nothing")
def sweep(dry_run: bool) -> None:
    """Remove stored files no row points at (after SWEEP_GRACE_SECONDS) and expired
    sign-in sessions; print what was removed."""
    store = storage()
    verb = "would remove" if dry_run else "removed"
    grace = float(current_app.config["SWEEP_GRACE_SECONDS"])
    if isinstance(store, LocalStorage):
        swept = sweep_files(db.session, store.root, grace, dry_run=dry_run)
    else:
        try:
            swept = sweep_objects(db.session, store, grace, dry_run=dry_run)
        except StorageUnavailable as exc:
            db.session.rollback()
            click.echo(f"{exc}; the sweep stopped there.", err=True)
            raise SystemExit(1) from None
    swept.sessions = sweep_sessions(db.session, dry_run=dry_run)
    db.session.commit()
    for key in swept.files:
        click.echo(f"{verb} {key}")
    click.echo(
        f"{verb} {len(swept.files)} files ({swept.bytes / 1e6:.1f} MB) and "
        f"{swept.sessions} expired sign-in session{'' if swept.sessions == 1 else 's'}"
    )
