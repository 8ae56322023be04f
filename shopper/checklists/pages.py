"""Plain page data for comparing two published checklist versions side by side.

The changes come from the pure core (`shopper.core.checklist_diff`); here they are
grouped the way head office reads a checklist: the checklist itself first, then
section by section in the new version's order (removed sections last), each item
once with everything that changed in it. Kinds and flags stay codes: the
template words them, so every sentence of the page is in one place.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app

from shopper.checklists.models import ChecklistVersion
from shopper.core import checklist_diff as cd
from shopper.core.checklist import Checklist, Item, Text

ItemChange = cd.ItemAdded | cd.ItemRemoved | cd.ItemMoved | cd.ItemEdit

# the summary line's order: what changes a score first
SUMMARY_KINDS = (
    cd.ItemAdded.kind,
    cd.ItemRemoved.kind,
    cd.PointsChanged.kind,
    cd.FlagChanged.kind,
    cd.FeaturesChanged.kind,
    cd.ItemReworded.kind,
    cd.ItemMoved.kind,
    cd.ItemsReordered.kind,
    cd.SectionAdded.kind,
    cd.SectionRemoved.kind,
    cd.SectionRetitled.kind,
    cd.SectionsReordered.kind,
    cd.ChecklistRetitled.kind,
)


def diff_page(
    old_version: ChecklistVersion, new_version: ChecklistVersion, locale: str
) -> dict[str, Any]:
    """What the diff template shows for two versions of one checklist, texts in `locale`."""
    old, new = old_version.checklist(), new_version.checklist()
    changes = cd.diff(old, new)
    reader = _Reader(old, new, locale)
    return {
        "title": new.title.get(locale),
        "old": version_label(old_version),
        "new": version_label(new_version),
        "count": len(changes),
        "summary": _summary(changes),
        "points": _points(cd.totals(old, new)),
        "checklist": [reader.checklist_row(c) for c in changes if _is_checklist_wide(c)],
        "sections": reader.sections(changes),
    }


def version_label(version: ChecklistVersion) -> dict[str, Any]:
    zone = ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))
    published: datetime | None = version.published_at
    return {
        "version": version.version,
        "sha256": version.sha256,
        "short_sha256": version.sha256[:12],
        "published_at": published.astimezone(zone) if published else None,
    }


def _summary(changes: Sequence[cd.Change]) -> list[dict[str, Any]]:
    counts = {kind: 0 for kind in SUMMARY_KINDS}
    for change in changes:
        counts[change.kind] += 1
    return [{"kind": kind, "n": n} for kind, n in counts.items() if n]


def _points(totals: cd.Totals) -> dict[str, Any]:
    return {
        "before": _number(totals.before),
        "after": _number(totals.after),
        "delta": _signed(totals.delta),
        "changed": totals.delta != 0,
    }


def _number(points: Decimal) -> str:
    return format(points.normalize(), "f")


def _signed(delta: Decimal) -> str:
    return "" if delta == 0 else ("+" if delta > 0 else "−") + _number(abs(delta))


def _is_checklist_wide(change: cd.Change) -> bool:
    return isinstance(change, cd.ChecklistRetitled | cd.SectionsReordered)


def _languages(before: Text, after: Text) -> list[dict[str, Any]]:
    """The word segments of each language whose wording changed, Chinese first."""
    pairs = [("zh", before.zh, after.zh), ("en", before.en or "", after.en or "")]
    return [
        {"lang": lang, "segments": cd.words(was, now)} for lang, was, now in pairs if was != now
    ]


def _order(
    before: Sequence[str], after: Sequence[str], was: dict[str, str], now: dict[str, str]
) -> dict[str, Any]:
    """Both orders, named as each version names them; an entry is `moved` unless it is
    in the longest run of entries kept in order."""
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    kept = {after[b.b + n] for b in matcher.get_matching_blocks() for n in range(b.size)}
    return {
        "before": [{"code": c, "text": was[c], "moved": c not in kept} for c in before],
        "after": [{"code": c, "text": now[c], "moved": c not in kept} for c in after],
    }


def _names(checklist: Checklist, locale: str) -> tuple[dict[str, str], dict[str, str]]:
    """Section titles and item texts by code, in `locale`."""
    sections = {s.code: s.title.get(locale) for s in checklist.sections}
    return sections, {i.code: i.text.get(locale) for i in checklist.items}


class _Reader:
    """Turns changes into rows, naming items and sections in the reader's language."""

    def __init__(self, old: Checklist, new: Checklist, locale: str):
        self.old, self.new = old, new
        self.sections_was, self.items_was = _names(old, locale)
        self.sections_now, self.items_now = _names(new, locale)
        # a section or an item as the newer version names it, unless it is gone
        self.section_titles = {**self.sections_was, **self.sections_now}
        self.item_texts = {**self.items_was, **self.items_now}
        self.section_of = {i.code: s.code for s in new.sections for i in s.items}

    def checklist_row(self, change: cd.Change) -> dict[str, Any]:
        if isinstance(change, cd.ChecklistRetitled):
            return {"kind": change.kind, "languages": _languages(change.before, change.after)}
        assert isinstance(change, cd.SectionsReordered)
        order = _order(change.before, change.after, self.sections_was, self.sections_now)
        return {"kind": change.kind, **order}

    def sections(self, changes: Sequence[cd.Change]) -> list[dict[str, Any]]:
        """Every section, the new version's first and then the removed ones, with
        its points before and after and its changes (`changed` false when none)."""
        cards = {code: self._section(code, t) for code, t in cd.section_totals(self.old, self.new)}
        items: dict[str, dict[str, dict[str, Any]]] = {code: {} for code in cards}
        for change in changes:
            if isinstance(change, cd.SectionAdded | cd.SectionRemoved):
                cards[change.code]["status"] = change.kind
            elif isinstance(change, cd.SectionRetitled):
                cards[change.code]["retitled"] = _languages(change.before, change.after)
            elif isinstance(change, cd.ItemsReordered):
                order = _order(change.before, change.after, self.items_was, self.items_now)
                cards[change.section]["order"] = order
            elif isinstance(change, ItemChange):
                section, code = self._place(change)
                card = items[section].setdefault(
                    code, {"code": code, "text": self.item_texts[code], "changes": []}
                )
                card["changes"].append(self._item_row(change))
        for code, card in cards.items():
            card["changed_items"] = list(items[code].values())
            card["changed"] = any(
                card[key] for key in ("status", "retitled", "order", "changed_items")
            )
        return list(cards.values())

    def _section(self, code: str, totals: cd.Totals) -> dict[str, Any]:
        return {
            "code": code,
            "title": self.section_titles[code],
            "points": _points(totals),
            "status": None,  # or "section_added", "section_removed"
            "retitled": None,  # or the word segments of each language
            "order": None,  # or both orders of the items that stayed
        }

    def _place(self, change: ItemChange) -> tuple[str, str]:
        """The section an item's card is in (a removed item's: where it was), and its code."""
        if isinstance(change, cd.ItemRemoved):
            return change.section, change.item.code
        code = change.item.code if isinstance(change, cd.ItemAdded) else change.code
        return self.section_of[code], code

    def _item_row(self, change: ItemChange) -> dict[str, Any]:
        if isinstance(change, cd.ItemAdded):
            return {"kind": change.kind, "position": change.position + 1, **_facts(change.item)}
        if isinstance(change, cd.ItemRemoved):
            return {"kind": change.kind, **_facts(change.item)}
        if isinstance(change, cd.ItemMoved):
            return {
                "kind": change.kind,
                "from": self.section_titles[change.from_section],
                "position": change.position + 1,
            }
        if isinstance(change, cd.ItemReworded):
            return {
                "kind": change.kind,
                "field": change.field,
                "languages": _languages(change.before, change.after),
            }
        if isinstance(change, cd.PointsChanged):
            return {
                "kind": change.kind,
                "before": _number(change.before),
                "after": _number(change.after),
            }
        if isinstance(change, cd.FlagChanged):
            return {
                "kind": change.kind,
                "flag": change.flag,
                "before": change.before,
                "after": change.after,
            }
        assert isinstance(change, cd.FeaturesChanged)
        return {"kind": change.kind, "before": list(change.before), "after": list(change.after)}


FLAG_DEFAULTS = {"red_line": False, "na_allowed": False, "photo_required_on_fail": False}


def _facts(item: Item) -> dict[str, Any]:
    """What an added or removed item weighs and the flags it has set against their
    defaults ("video_observable" listed means it cannot be judged from video)."""
    flags = [flag for flag in cd.FLAGS if getattr(item, flag) != FLAG_DEFAULTS.get(flag, True)]
    return {"points": _number(item.points), "flags": flags, "features": list(item.features)}
