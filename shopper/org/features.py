"""The outlet features head office keeps, the list a new installation starts with, and
which outlet has which."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from shopper.checklists.models import ChecklistVersion
from shopper.org.models import Feature, Outlet, SubBranch, outlet_features
from shopper.refusals import Refused

# the features the standards' second edition names (migration 0005 seeds the same list)
DEFAULT_FEATURES = [
    ("self_service", "自助服务区", "Self-service area"),
    ("vip_room", "贵宾/理财室", "VIP or wealth room"),
    ("cash_counter", "现金柜台", "Cash counter"),
    ("foreign_currency", "外币业务", "Foreign-currency service"),
    ("lobby_manager", "大堂经理岗", "Lobby manager post"),
    ("accessible_entrance", "无障碍通道", "Accessible entrance"),
    ("security_guard", "保安岗", "Security guard"),
    ("wealth_sales", "理财产品销售", "Sells wealth products"),
    ("rating_device", "服务评价器", "Service rating device"),
    ("queue_machine", "排队叫号机", "Queue ticket machine"),
]


def ensure_defaults(session: Session) -> None:
    """An installation with no features at all gets the default list (idempotent)."""
    if session.scalar(select(func.count()).select_from(Feature)):
        return
    session.add_all(Feature(code=c, name_zh=zh, name_en=en) for c, zh, en in DEFAULT_FEATURES)
    session.flush()


def all_features(session: Session) -> list[Feature]:
    return list(session.scalars(select(Feature).order_by(Feature.code)))


def known_codes(session: Session) -> frozenset[str]:
    return frozenset(session.scalars(select(Feature.code)))


# ---- head office's list and the outlets' profiles ----

FEATURE_CODE = re.compile(r"[a-z0-9_]{1,40}")
MAX_NAME = 100


def get(session: Session, code: str) -> Feature:
    feature = session.get(Feature, code) if FEATURE_CODE.fullmatch(code) else None
    if feature is None:
        raise Refused("not_found", 404)
    return feature


def _names(name_zh: str, name_en: str) -> tuple[str, str]:
    zh, en = name_zh.strip(), name_en.strip()
    if not zh or not en:
        raise Refused("feature_names_required")
    if len(zh) > MAX_NAME or len(en) > MAX_NAME:
        raise Refused("feature_name_too_long", limit=MAX_NAME)
    return zh, en


def add(session: Session, code: str, name_zh: str, name_en: str) -> Feature:
    """A new feature no outlet has yet. Raises Refused for a code not of 1–40 lower-case
    letters, digits and underscores or already kept, and a missing or too long name."""
    code = code.strip()
    if not FEATURE_CODE.fullmatch(code):
        raise Refused("feature_bad_code")
    zh, en = _names(name_zh, name_en)
    if session.get(Feature, code) is not None:
        raise Refused("feature_code_taken", 409, feature=code)
    feature = Feature(code=code, name_zh=zh, name_en=en)
    session.add(feature)
    session.flush()
    return feature


def rename(session: Session, feature: Feature, name_zh: str, name_en: str) -> None:
    """New names; the code, which checklist items name, stays."""
    feature.name_zh, feature.name_en = _names(name_zh, name_en)
    session.flush()


def outlet_counts(session: Session) -> dict[str, int]:
    """How many outlets have each feature, by code (features no outlet has are absent)."""
    rows = session.execute(
        select(outlet_features.c.feature_code, func.count()).group_by(
            outlet_features.c.feature_code
        )
    )
    return {code: count for code, count in rows}


def needed_by(session: Session) -> dict[str, list[ChecklistVersion]]:
    """The published versions (withdrawn ones too) with an item needing each feature."""
    needs: dict[str, list[ChecklistVersion]] = {}
    versions = session.scalars(
        select(ChecklistVersion).order_by(ChecklistVersion.code, ChecklistVersion.version)
    )
    for version in versions:
        codes = {code for item in version.checklist().items for code in item.features}
        for code in codes:
            needs.setdefault(code, []).append(version)
    return needs


def delete(session: Session, feature: Feature) -> None:
    """Remove a feature nothing uses. Refused (409) while an outlet has it, or an item of a
    published version needs it (that version's starts would no longer know the feature)."""
    outlets = outlet_counts(session).get(feature.code, 0)
    if outlets:
        raise Refused("feature_has_outlets", 409, feature=feature.code, count=outlets)
    versions = needed_by(session).get(feature.code, [])
    if versions:
        names = ", ".join(f"{v.code} v{v.version}" for v in versions)
        raise Refused("feature_needed", 409, feature=feature.code, versions=names)
    session.delete(feature)
    session.flush()


def profiles(session: Session) -> list[Outlet]:
    """Every outlet with its features, by sub-branch code, then outlet code."""
    return list(
        session.scalars(
            select(Outlet)
            .join(SubBranch)
            .options(selectinload(Outlet.features), selectinload(Outlet.sub_branch))
            .order_by(SubBranch.code, Outlet.code)
        )
    )


@dataclass(frozen=True)
class ProfileEdit:
    """One outlet's row as the page showed it and as it was sent back."""

    outlet_id: int
    shown: frozenset[str]
    sent: frozenset[str]


def save_profiles(session: Session, edits: Sequence[ProfileEdit]) -> list[Outlet]:
    """Apply the ticks changed on the page; returns the outlets written.

    Only what changed between `shown` and `sent` is applied, to the outlet's features as
    they are now, so another user's change to other boxes meanwhile is kept. Features
    apply to inspections started afterwards; started ones keep their N/A answers.
    Raises Refused("profile_stale", 409) for an outlet or a ticked feature that no longer
    exists, writing nothing.
    """
    changed = [e for e in edits if e.shown != e.sent]
    if not changed:
        return []
    features = {f.code: f for f in all_features(session)}
    outlets = {
        o.id: o
        for o in session.scalars(
            select(Outlet)
            .where(Outlet.id.in_({e.outlet_id for e in changed}))
            .options(selectinload(Outlet.features))
        )
    }
    for edit in changed:
        if edit.outlet_id not in outlets or not (edit.sent - edit.shown) <= features.keys():
            raise Refused("profile_stale", 409)
    written = []
    for edit in changed:
        outlet = outlets[edit.outlet_id]
        now = outlet.feature_codes
        wanted = (now | (edit.sent - edit.shown)) - (edit.shown - edit.sent)
        if wanted != now:
            outlet.features = sorted((features[c] for c in wanted), key=lambda f: f.code)
            written.append(outlet)
    session.flush()
    return written
