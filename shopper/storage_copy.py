"""`flask --app shopper storage copy --from local --to s3`: move an installation's stored
files between the storage folder and object storage, verifying every one.

Photos' main renditions and notice PDFs are content addressed: their key names the SHA-256
of their bytes (photos/ab/<sha256>/main.jpg, notices/ab/<sha256>.pdf), so both the source's
copy and the target's are checked against the key. The print and thumbnail renditions are
made from the main one and named by its hash, not their own: they are checked against the
source's bytes. An object already in the target with the right bytes is skipped, so the
copy can be run again (after an interruption, or while the app still writes to the old
store); a damaged one is written again. Nothing is ever deleted from the source.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from shopper.photos.storage import LocalStorage, Storage, StorageUnavailable

# keys that name the SHA-256 of their own bytes
_ADDRESSED = (
    re.compile(r"photos/[0-9a-f]{2}/(?P<sha>[0-9a-f]{64})/main\.jpg"),
    re.compile(r"notices/[0-9a-f]{2}/(?P<sha>[0-9a-f]{64})\.pdf"),
)
COPIED, REPLACED, SKIPPED = "copied", "replaced", "skipped"


class Damaged(Exception):
    """An object whose bytes are not what they must be; the message says which copy."""


def named_sha256(key: str) -> str | None:
    """The SHA-256 the key itself names (a main photo, a notice PDF), else None."""
    for pattern in _ADDRESSED:
        found = pattern.fullmatch(key)
        if found and key.split("/")[1] == found["sha"][:2]:
            return found["sha"]
    return None


def _sha256_of(store: Storage, key: str) -> str | None:
    """The SHA-256 of the object under `key`, read in chunks; None if there is none."""
    try:
        opened = store.open(key)
    except KeyError:
        return None
    digest = hashlib.sha256()
    with opened:
        for chunk in opened:
            digest.update(chunk)
    return digest.hexdigest()


def copy_one(source: Storage, target: Storage, key: str) -> str:
    """Copy `key` unless the target holds it with the right bytes: COPIED, REPLACED (the
    target's copy was damaged) or SKIPPED. Raises Damaged (the source's copy is wrong, or
    the copy written does not read back right), KeyError (gone from the source meanwhile)
    and StorageUnavailable."""
    data = source.get(key)
    have = hashlib.sha256(data).hexdigest()
    want = named_sha256(key) or have
    if have != want:
        raise Damaged(f"the source's copy does not match the SHA-256 its key names ({want})")
    there = _sha256_of(target, key)
    if there == want:
        return SKIPPED
    target.put(key, data, replace=there is not None)
    if _sha256_of(target, key) != want:
        raise Damaged("the copy written to the target does not read back with the same SHA-256")
    return COPIED if there is None else REPLACED


@dataclass
class Copy:
    copied: int = 0
    replaced: int = 0  # of the copied: the target held a damaged copy
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key, why)


def copy_all(
    source: Storage,
    target: Storage,
    keys: Iterable[str],
    *,
    step: Callable[[], None] | None = None,
) -> Copy:
    """copy_one for every key; a key that fails is named and the rest go on. Raises
    StorageUnavailable (one store stopped answering: the counts so far are lost, the copy
    can be run again)."""
    done = Copy()
    for key in keys:
        try:
            outcome = copy_one(source, target, key)
        except Damaged as exc:
            done.failed.append((key, str(exc)))
        except KeyError:
            done.failed.append((key, "removed from the source during the copy"))
        else:
            if outcome == SKIPPED:
                done.skipped += 1
            else:
                done.copied += 1
                done.replaced += outcome == REPLACED
        if step is not None:
            step()
    return done


def _stores(config: dict[str, object]) -> dict[str, Storage]:
    from shopper.photos.s3 import S3Storage

    return {
        "local": LocalStorage(Path(str(config["STORAGE_DIR"]))),
        "s3": S3Storage.from_config(dict(config)),
    }


@click.group("storage")
def storage_group() -> None:
    """Stored files: photos and notice PDFs."""


@storage_group.command("copy")
@click.option("--from", "source", type=click.Choice(["local", "s3"]), required=True)
@click.option("--to", "target", type=click.Choice(["local", "s3"]), required=True)
@with_appcontext
def copy_command(source: str, target: str) -> None:
    """Copy every stored file from one store to the other (local: STORAGE_DIR; s3: the
    SHOPPER_S3_* bucket), checking each one's SHA-256; what the target already holds intact
    is skipped, so it is safe to run again (run it once more after the app has been
    switched over, for files written meanwhile). Nothing is deleted from the source."""
    if source == target:
        raise click.UsageError("--from and --to name the same store.")
    config = dict(current_app.config)
    if not config.get("S3_BUCKET"):
        raise click.UsageError("Set SHOPPER_S3_BUCKET (and the other SHOPPER_S3_* settings).")
    stores = _stores(config)
    where = {"local": config["STORAGE_DIR"], "s3": f"s3://{config['S3_BUCKET']}"}
    try:
        keys = [found.key for found in stores[source].objects()]
        with click.progressbar(
            length=len(keys), label=f"{where[source]} -> {where[target]}", file=sys.stderr
        ) as bar:
            done = copy_all(stores[source], stores[target], keys, step=lambda: bar.update(1))
    except StorageUnavailable as exc:
        click.echo(f"\n{exc}; the copy stopped. Run it again when it answers.", err=True)
        sys.exit(1)
    click.echo(
        f"{len(keys)} files: {done.copied} copied ({done.replaced} replacing a damaged copy), "
        f"{done.skipped} skipped (already there, intact), {len(done.failed)} failed"
    )
    for key, why in done.failed:
        click.echo(f"  failed: {key}: {why}", err=True)
    if done.failed:
        sys.exit(1)
