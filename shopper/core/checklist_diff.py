"""Differences between two versions of a checklist, and applying them.

Items are matched by item code and sections by section code (codes are stable
across versions), so an item that changes section is one move, not a removal
and an addition. Every change carries its before and after values, and
`apply(old, diff(old, new)) == new` exactly, order of sections and items included.

The order rule shared by `diff` and `apply`: the survivors (sections, or the items
that stay in one section) keep their relative order unless a reorder change says
otherwise; newcomers (added sections, added or moved-in items) are then inserted
at their final positions, lowest first. A reorder is reported only when the
survivors' own relative order changed, so adding an item never reads as a reshuffle.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, ClassVar, Literal, TypeVar

from shopper.core.checklist import Checklist, Item, Section, Text

TextField = Literal["text", "guidance"]
Flag = Literal["red_line", "na_allowed", "photo_required_on_fail", "video_observable"]
TEXT_FIELDS: tuple[TextField, ...] = ("text", "guidance")
FLAGS: tuple[Flag, ...] = ("red_line", "na_allowed", "photo_required_on_fail", "video_observable")


# ---- the changes -------------------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistRetitled:
    kind: ClassVar[str] = "checklist_retitled"
    before: Text
    after: Text


@dataclass(frozen=True)
class SectionAdded:
    """A new section, at `position` in the new version. Its items are reported one by
    one (added or moved in), so a section that takes over old items shows them as moves."""

    kind: ClassVar[str] = "section_added"
    code: str
    title: Text
    position: int


@dataclass(frozen=True)
class SectionRemoved:
    """A section gone; its items are reported one by one (removed or moved out)."""

    kind: ClassVar[str] = "section_removed"
    code: str
    title: Text


@dataclass(frozen=True)
class SectionRetitled:
    kind: ClassVar[str] = "section_retitled"
    code: str
    before: Text
    after: Text


@dataclass(frozen=True)
class SectionsReordered:
    """The sections both versions have, in their old and in their new relative order."""

    kind: ClassVar[str] = "sections_reordered"
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True)
class ItemAdded:
    kind: ClassVar[str] = "item_added"
    section: str
    position: int  # in the new version's section, from 0
    item: Item


@dataclass(frozen=True)
class ItemRemoved:
    kind: ClassVar[str] = "item_removed"
    section: str
    item: Item  # as it was in the old version


@dataclass(frozen=True)
class ItemMoved:
    """An item now in another section; its edits, if any, are reported separately."""

    kind: ClassVar[str] = "item_moved"
    code: str
    from_section: str
    to_section: str
    position: int  # in the new version's section, from 0


@dataclass(frozen=True)
class ItemsReordered:
    """The items that stayed in `section`, in their old and in their new relative order."""

    kind: ClassVar[str] = "items_reordered"
    section: str
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True)
class ItemReworded:
    kind: ClassVar[str] = "item_reworded"
    code: str
    field: TextField
    before: Text
    after: Text


@dataclass(frozen=True)
class PointsChanged:
    kind: ClassVar[str] = "points_changed"
    code: str
    before: Decimal
    after: Decimal


@dataclass(frozen=True)
class FlagChanged:
    kind: ClassVar[str] = "flag_changed"
    code: str
    flag: Flag
    before: bool
    after: bool


@dataclass(frozen=True)
class FeaturesChanged:
    kind: ClassVar[str] = "features_changed"
    code: str
    before: tuple[str, ...]
    after: tuple[str, ...]


ItemEdit = ItemReworded | PointsChanged | FlagChanged | FeaturesChanged
Change = (
    ChecklistRetitled
    | SectionAdded
    | SectionRemoved
    | SectionRetitled
    | SectionsReordered
    | ItemAdded
    | ItemRemoved
    | ItemMoved
    | ItemsReordered
    | ItemEdit
)


class ChangesDoNotApply(ValueError):
    """Raised by `apply` when a change's before value is not what the checklist holds."""


# ---- diff --------------------------------------------------------------------------------


def diff(old: Checklist, new: Checklist) -> tuple[Change, ...]:
    """What changed from `old` to `new`, in reading order: the checklist's title, then
    sections (added, removed, retitled, reordered), then section by section of the new
    version its item order and its items' arrivals and edits, then removed items.

    Raises ValueError for two different checklists (their codes differ).
    """
    if old.code != new.code:
        raise ValueError(f"not versions of one checklist: {old.code!r} and {new.code!r}")
    title = () if old.title == new.title else (ChecklistRetitled(old.title, new.title),)
    return (*title, *_section_changes(old, new), *_item_changes(old, new))


def _section_changes(old: Checklist, new: Checklist) -> Iterator[Change]:
    before = {s.code: s for s in old.sections}
    after = {s.code: s for s in new.sections}
    for position, section in enumerate(new.sections):
        if section.code not in before:
            yield SectionAdded(section.code, section.title, position)
    for section in old.sections:
        if section.code not in after:
            yield SectionRemoved(section.code, section.title)
    for section in new.sections:
        was = before.get(section.code)
        if was and was.title != section.title:
            yield SectionRetitled(section.code, was.title, section.title)
    order = _survivor_order(list(before), list(after))
    if order:
        yield SectionsReordered(*order)


def _item_changes(old: Checklist, new: Checklist) -> Iterator[Change]:
    home = {item.code: (section.code, item) for section in old.sections for item in section.items}
    kept = {item.code for item in new.items}
    for section in new.sections:
        stayed = [code for code, (s, _) in home.items() if s == section.code]
        order = _survivor_order(stayed, [item.code for item in section.items])
        if order:
            yield ItemsReordered(section.code, *order)
        for position, item in enumerate(section.items):
            if item.code not in home:
                yield ItemAdded(section.code, position, item)
                continue
            was_in, was = home[item.code]
            if was_in != section.code:
                yield ItemMoved(item.code, was_in, section.code, position)
            yield from _item_edits(was, item)
    for code, (section_code, item) in home.items():
        if code not in kept:
            yield ItemRemoved(section_code, item)


def _item_edits(old: Item, new: Item) -> Iterator[ItemEdit]:
    for field in TEXT_FIELDS:
        if getattr(old, field) != getattr(new, field):
            yield ItemReworded(new.code, field, getattr(old, field), getattr(new, field))
    if old.points != new.points:
        yield PointsChanged(new.code, old.points, new.points)
    for flag in FLAGS:
        if getattr(old, flag) != getattr(new, flag):
            yield FlagChanged(new.code, flag, getattr(old, flag), getattr(new, flag))
    if old.features != new.features:
        yield FeaturesChanged(new.code, old.features, new.features)


def _survivor_order(
    before: Sequence[str], after: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The codes in both sequences, in each one's order; None when that order is the same."""
    common = set(before) & set(after)
    was = tuple(code for code in before if code in common)
    now = tuple(code for code in after if code in common)
    return None if was == now else (was, now)


# ---- words -------------------------------------------------------------------------------

Segment = tuple[Literal["same", "del", "ins"], str]

# a token is a run of whitespace, a Latin word (letters, digits, inner apostrophes), or any
# other single character: Chinese has no spaces, so each of its characters is a word
_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff"
_WORD = rf"(?:(?![{_CJK}])[^\W_])+"
_TOKEN = re.compile(rf"\s+|{_WORD}(?:['’]{_WORD})*|.", re.DOTALL)


def words(before: str, after: str) -> tuple[Segment, ...]:
    """The two texts as segments ("same", "del" or "ins", text), the changed words marked:
    joining the "same" and "del" segments gives `before`, "same" and "ins" gives `after`.

    Chinese is compared character by character, Latin text word by word; a space left
    alone between two changed words joins the change, so a rewritten phrase reads as one.
    """
    old, new = _TOKEN.findall(before), _TOKEN.findall(after)
    segments: list[Segment] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            segments.append(("same", "".join(old[i1:i2])))
        else:
            segments.append(("del", "".join(old[i1:i2])))
            segments.append(("ins", "".join(new[j1:j2])))
    return _merged(_spaces_joined(segments))


def _spaces_joined(segments: list[Segment]) -> list[Segment]:
    """A whitespace-only "same" between two changes becomes part of both sides of them."""

    def changed(n: int) -> bool:
        return 0 <= n < len(segments) and segments[n][0] != "same"

    result: list[Segment] = []
    for n, (kind, text) in enumerate(segments):
        if kind == "same" and not text.strip() and changed(n - 1) and changed(n + 1):
            result += [("del", text), ("ins", text)]
        else:
            result.append((kind, text))
    return result


def _merged(segments: list[Segment]) -> tuple[Segment, ...]:
    """Each run of changes as one deletion then one insertion; no empty segments."""
    result: list[Segment] = []
    run: dict[str, str] = {"del": "", "ins": ""}
    for kind, text in [*segments, ("same", "")]:
        if kind != "same":
            run[kind] += text
            continue
        result += [(k, run[k]) for k in ("del", "ins") if run[k]]
        run = {"del": "", "ins": ""}
        if text:
            result.append((kind, text))
    return tuple(result)


# ---- apply -------------------------------------------------------------------------------


def apply(old: Checklist, changes: Iterable[Change]) -> Checklist:
    """`old` with `changes` made. The changes may come in any order: they are made in
    steps (edits, departures, sections, the survivors' order, then arrivals lowest
    position first), which is what makes `apply(old, diff(old, new)) == new` exact.

    Raises ChangesDoNotApply when a change does not fit `old` (a before value that
    differs, an item or section that is not there, a section removed with items left).
    """
    changes = tuple(changes)
    draft = _Draft(old)
    for change in changes:
        if isinstance(change, ChecklistRetitled):
            _expect(draft.title, change.before, change)
            draft.title = change.after
        elif isinstance(change, ItemEdit):
            draft.edit(change)
    moving = {c.code: draft.take(c.from_section, c.code) for c in _only(changes, ItemMoved)}
    for removed in _only(changes, ItemRemoved):
        _expect(draft.take(removed.section, removed.item.code), removed.item, removed)
    draft.change_sections(changes)
    for reordered in _only(changes, ItemsReordered):
        items = draft.section(reordered.section)
        items[:] = _reordered(items, lambda item: item.code, reordered)
    arrivals = [(c.position, c.section, c.item) for c in _only(changes, ItemAdded)]
    arrivals += [(c.position, c.to_section, moving[c.code]) for c in _only(changes, ItemMoved)]
    for position, section, item in sorted(arrivals, key=lambda arrival: arrival[0]):
        draft.insert(section, position, item)
    return draft.build()


class _Draft:
    """A checklist being changed: its sections in order, each with a list of items."""

    def __init__(self, checklist: Checklist):
        self.code = checklist.code
        self.title = checklist.title
        self.order = [s.code for s in checklist.sections]
        self.titles = {s.code: s.title for s in checklist.sections}
        self.items = {s.code: list(s.items) for s in checklist.sections}

    def section(self, code: str) -> list[Item]:
        if code not in self.items:
            raise ChangesDoNotApply(f"no section {code!r}")
        return self.items[code]

    def take(self, section: str, code: str) -> Item:
        items = self.section(section)
        for n, item in enumerate(items):
            if item.code == code:
                return items.pop(n)
        raise ChangesDoNotApply(f"no item {code!r} in section {section!r}")

    def edit(self, change: ItemEdit) -> None:
        for items in self.items.values():
            for n, item in enumerate(items):
                if item.code == change.code:
                    field = _edited_field(change)
                    _expect(getattr(item, field), change.before, change)
                    after: dict[str, Any] = {field: change.after}
                    items[n] = replace(item, **after)
                    return
        raise ChangesDoNotApply(f"no item {change.code!r}")

    def change_sections(self, changes: Sequence[Change]) -> None:
        for removed in _only(changes, SectionRemoved):
            _expect(self.titles.get(removed.code), removed.title, removed)
            if self.items[removed.code]:
                raise ChangesDoNotApply(f"section {removed.code!r} still has items")
            self.order.remove(removed.code)
            del self.titles[removed.code], self.items[removed.code]
        for retitled in _only(changes, SectionRetitled):
            _expect(self.titles.get(retitled.code), retitled.before, retitled)
            self.titles[retitled.code] = retitled.after
        for reordered in _only(changes, SectionsReordered):
            self.order = _reordered(self.order, lambda code: code, reordered)
        for added in sorted(_only(changes, SectionAdded), key=lambda c: c.position):
            if added.code in self.items or added.position > len(self.order):
                raise ChangesDoNotApply(f"{added!r} does not apply")
            self.order.insert(added.position, added.code)
            self.titles[added.code], self.items[added.code] = added.title, []

    def insert(self, section: str, position: int, item: Item) -> None:
        items = self.section(section)
        if position > len(items) or any(i.code == item.code for i in self.all_items()):
            raise ChangesDoNotApply(f"item {item.code!r} cannot go to {section!r} #{position}")
        items.insert(position, item)

    def all_items(self) -> Iterator[Item]:
        return (item for items in self.items.values() for item in items)

    def build(self) -> Checklist:
        sections = tuple(
            Section(code, self.titles[code], tuple(self.items[code])) for code in self.order
        )
        return Checklist(self.code, self.title, sections)


def _edited_field(change: ItemEdit) -> str:
    if isinstance(change, ItemReworded):
        return change.field
    if isinstance(change, FlagChanged):
        return change.flag
    return "points" if isinstance(change, PointsChanged) else "features"


def _expect(actual: object, before: object, change: Change) -> None:
    if actual != before:
        raise ChangesDoNotApply(f"{change!r} does not apply: found {actual!r}")


T = TypeVar("T")
C = TypeVar("C")


def _reordered(
    current: Sequence[T], key: Callable[[T], str], change: SectionsReordered | ItemsReordered
) -> list[T]:
    """`current` (the survivors, in the order `change.before` names) in `change.after` order."""
    by_code = {key(x): x for x in current}
    if tuple(by_code) != change.before or sorted(change.after) != sorted(change.before):
        raise ChangesDoNotApply(f"{change!r} does not apply: found {tuple(by_code)!r}")
    return [by_code[code] for code in change.after]


def _only(changes: Iterable[Change], kind: type[C]) -> list[C]:
    return [c for c in changes if isinstance(c, kind)]


# ---- points ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    before: Decimal
    after: Decimal

    @property
    def delta(self) -> Decimal:
        return self.after - self.before


def totals(old: Checklist, new: Checklist) -> Totals:
    return Totals(old.total_points, new.total_points)


def section_totals(old: Checklist, new: Checklist) -> tuple[tuple[str, Totals], ...]:
    """Points per section code, the new version's sections first, then removed ones;
    a section a version lacks has 0 points in it."""

    def by_section(checklist: Checklist) -> dict[str, Decimal]:
        return {s.code: sum((i.points for i in s.items), Decimal(0)) for s in checklist.sections}

    before, after = by_section(old), by_section(new)
    codes = [*after, *(code for code in before if code not in after)]
    zero = Decimal(0)
    return tuple((code, Totals(before.get(code, zero), after.get(code, zero))) for code in codes)
