"""Publishing checklist files as immutable, hashed versions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shopper.checklists.models import ChecklistVersion
from shopper.core import checklist as core


@dataclass(frozen=True)
class Published:
    version: ChecklistVersion
    created: bool


def read_file(path: Path) -> core.Checklist:
    """Parse and validate one checklist file; raises `ChecklistInvalid` naming the file."""
    source = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise core.ChecklistInvalid([core.Problem(source, "file", str(exc).strip())]) from exc
    checklist = core.parse(data, source)
    if checklist.code != path.stem:
        raise core.ChecklistInvalid(
            [core.Problem(source, "checklist", f"code '{checklist.code}' must equal the file name")]
        )
    return checklist


def publish(session: Session, checklist: core.Checklist, source: str) -> Published:
    """Store `checklist` as a new version unless its latest version has identical content.

    Idempotent: unchanged content returns the latest version and writes nothing; a file
    reverted to older content becomes a new version (with that older hash).
    """
    digest = core.content_hash(checklist)
    latest = session.scalar(
        select(ChecklistVersion)
        .where(ChecklistVersion.code == checklist.code)
        .order_by(ChecklistVersion.version.desc())
        .limit(1)
    )
    if latest is not None and latest.sha256 == digest:
        return Published(latest, created=False)
    version = ChecklistVersion(
        code=checklist.code,
        version=(latest.version if latest else 0) + 1,
        title_zh=checklist.title.zh,
        title_en=checklist.title.en,
        content=core.canonical_json(checklist),
        sha256=digest,
        source=source,
    )
    session.add(version)
    session.flush()
    return Published(version, created=True)


def load_directory(session: Session, directory: Path) -> list[Published]:
    """Validate every *.yaml file first, then publish; one bad file publishes nothing."""
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise core.ChecklistInvalid([core.Problem(str(directory), "directory", "no *.yaml files")])
    problems: list[core.Problem] = []
    parsed: list[tuple[core.Checklist, str]] = []
    for path in paths:
        try:
            parsed.append((read_file(path), path.name))
        except core.ChecklistInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise core.ChecklistInvalid(problems)
    return [publish(session, checklist, source) for checklist, source in parsed]


def latest_versions(session: Session, order: Sequence[str] = ()) -> list[ChecklistVersion]:
    """The newest published version of each checklist: codes in `order` first, then by code."""
    newest = (
        select(ChecklistVersion.code, func.max(ChecklistVersion.version).label("version"))
        .group_by(ChecklistVersion.code)
        .subquery()
    )
    rank = {code: n for n, code in enumerate(order)}
    versions = list(
        session.scalars(
            select(ChecklistVersion)
            .join(
                newest,
                (ChecklistVersion.code == newest.c.code)
                & (ChecklistVersion.version == newest.c.version),
            )
            .order_by(ChecklistVersion.code)
        )
    )
    return sorted(versions, key=lambda v: rank.get(v.code, len(rank)))
