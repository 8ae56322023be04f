"""Checklists: the schema, validation, canonical form and content hash.

A checklist file (YAML) is parsed into plain data, validated as a whole (every
problem reported with the file, the item and the reason), and reduced to a
canonical JSON form whose SHA-256 identifies the published version.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

CHECKLIST_CODE = re.compile(r"^[a-z0-9_]{1,40}$")
SECTION_CODE = CHECKLIST_CODE
FEATURE_CODE = CHECKLIST_CODE
ITEM_CODE = re.compile(r"^(?=.{1,40}$)[A-Z0-9]+(-[A-Z0-9]+)*$")
MAX_TEXT = 1000

CHECKLIST_KEYS = {"code", "title", "sections"}
SECTION_KEYS = {"code", "title", "items"}
ITEM_KEYS = {
    "code",
    "text",
    "guidance",
    "points",
    "red_line",
    "na_allowed",
    "photo_required_on_fail",
    "features",
    "video_observable",
}
TEXT_KEYS = {"zh", "en"}


@dataclass(frozen=True)
class Text:
    zh: str
    en: str | None = None

    def get(self, locale: str) -> str:
        return self.en if locale.startswith("en") and self.en else self.zh


@dataclass(frozen=True)
class Item:
    code: str
    text: Text
    guidance: Text
    points: Decimal
    red_line: bool = False
    na_allowed: bool = False
    photo_required_on_fail: bool = False
    # the outlet features the item needs: an outlet without one of them answers it N/A
    features: tuple[str, ...] = ()
    # false: it cannot be judged from video (heard, not seen), so a video check answers N/A
    video_observable: bool = True


@dataclass(frozen=True)
class Section:
    code: str
    title: Text
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Checklist:
    code: str
    title: Text
    sections: tuple[Section, ...]

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)

    @property
    def total_points(self) -> Decimal:
        return sum((item.points for item in self.items), Decimal(0))

    def item(self, code: str) -> Item | None:
        return next((item for item in self.items if item.code == code), None)


def N_(message: str) -> str:
    """Marks a problem's message for translation; the web layer translates it."""
    return message


def preset_na(checklist: Checklist, features: frozenset[str], video: bool) -> dict[str, str]:
    """The items answered N/A before the visit, by code, with why.

    "outlet": the outlet lacks a feature the item needs; "video": a video check cannot
    judge it. These are not the inspector's answers, and not theirs to change.
    """
    preset: dict[str, str] = {}
    for item in checklist.items:
        if not set(item.features) <= features:
            preset[item.code] = "outlet"
        elif video and not item.video_observable:
            preset[item.code] = "video"
    return preset


@dataclass(frozen=True)
class Problem:
    source: str
    where: str  # "checklist", a section code or an item code
    message: str  # English, with %(name)s placeholders filled from `params`
    params: tuple[tuple[str, str], ...] = ()
    # where in the plain data: ("sections", 0, "items", 2, "points"); () for the whole
    path: tuple[str | int, ...] = ()

    @property
    def reason(self) -> str:
        return self.message % dict(self.params) if self.params else self.message

    def __str__(self) -> str:
        return f"{self.source}: {self.where}: {self.reason}"


class ChecklistInvalid(ValueError):
    """Raised with every problem found; nothing of an invalid checklist is used."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


Path = tuple[str | int, ...]


class _Collector:
    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []

    def add(self, where: str, path: Path, message: str, **params: object) -> None:
        values = tuple((k, str(v)) for k, v in params.items())
        self.problems.append(Problem(self.source, where, message, values, path))

    def mapping(
        self, value: Any, where: str, path: Path, allowed: set[str], required: set[str]
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.add(where, path, N_("expected a mapping, got %(type)s"), type=type(value).__name__)
            return {}
        for key in sorted(set(value) - allowed, key=str):
            self.add(where, (*path, str(key)), N_("unknown key '%(key)s'"), key=key)
        for key in sorted(required - set(value)):
            self.add(where, (*path, key), N_("missing '%(key)s'"), key=key)
        return value

    def text(self, value: Any, where: str, path: Path, what: str) -> Text:
        if isinstance(value, str):
            value = {"zh": value}
        if not isinstance(value, dict):
            self.add(where, path, N_("%(what)s must be a mapping of zh/en texts"), what=what)
            return Text(zh="")
        for key in sorted(set(value) - TEXT_KEYS, key=str):
            self.add(where, path, N_("unknown language '%(key)s' in %(what)s"), key=key, what=what)
        result: dict[str, str | None] = {}
        for lang in ("zh", "en"):
            raw = value.get(lang)
            if raw is None:
                result[lang] = None
                continue
            field = f"{what}.{lang}"
            if not isinstance(raw, str) or not raw.strip():
                self.add(where, (*path, lang), N_("%(field)s must be non-empty text"), field=field)
                result[lang] = None
                continue
            if len(raw) > MAX_TEXT:
                self.add(
                    where,
                    (*path, lang),
                    N_("%(field)s is longer than %(max)s characters"),
                    field=field,
                    max=MAX_TEXT,
                )
            result[lang] = " ".join(raw.split())
        if not result["zh"]:
            if value.get("zh") is None:
                self.add(where, (*path, "zh"), N_("missing %(what)s.zh (Chinese text)"), what=what)
            return Text(zh="", en=result["en"])
        return Text(zh=result["zh"], en=result["en"])

    def flag(self, value: Any, where: str, path: Path, name: str, default: bool = False) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.add(where, path, N_("'%(name)s' must be true or false"), name=name)
            return default
        return value

    def points(self, value: Any, where: str, path: Path) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.add(where, path, N_("points must be a number"))
            return Decimal(0)
        try:
            points = Decimal(str(value))
        except InvalidOperation:
            self.add(where, path, N_("points must be a number"))
            return Decimal(0)
        if not points.is_finite() or points <= 0:
            self.add(where, path, N_("points must be positive"))
        elif points != points.quantize(Decimal("0.1")):
            self.add(where, path, N_("points may have at most one decimal place"))
        elif points > 100:
            self.add(where, path, N_("points must be at most 100"))
        return points

    def features(self, value: Any, where: str, path: Path) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.add(where, path, N_("features must be a list of feature codes"))
            return ()
        codes: list[str] = []
        for n, code in enumerate(value):
            if not isinstance(code, str) or not FEATURE_CODE.match(code):
                self.add(where, (*path, n), N_("feature %(code)r must match [a-z0-9_]+"), code=code)
            elif code in codes:
                self.add(where, (*path, n), N_("feature '%(code)s' is listed twice"), code=code)
            else:
                codes.append(code)
        return tuple(sorted(codes))


def parse(data: Any, source: str = "<checklist>") -> Checklist:
    """Validate plain data (as loaded from YAML/JSON) into a `Checklist`.

    Raises `ChecklistInvalid` listing every problem; never returns a partial checklist.
    Each problem carries the path of the value it is about, for showing it beside its field.
    """
    c = _Collector(source)
    raw = c.mapping(data, "checklist", (), CHECKLIST_KEYS, CHECKLIST_KEYS)
    code = raw.get("code")
    if code is not None and (not isinstance(code, str) or not CHECKLIST_CODE.match(code)):
        c.add("checklist", ("code",), N_("code %(code)r must match [a-z0-9_]+"), code=code)
    title = (
        c.text(raw.get("title"), "checklist", ("title",), "title")
        if "title" in raw
        else Text(zh="")
    )
    sections: list[Section] = []
    seen_sections: set[str] = set()
    seen_items: set[str] = set()
    raw_sections = raw.get("sections")
    if "sections" in raw and (not isinstance(raw_sections, list) or not raw_sections):
        c.add("checklist", ("sections",), N_("sections must be a non-empty list"))
        raw_sections = []
    for s_index, raw_section in enumerate(raw_sections or []):
        where = f"section #{s_index + 1}"
        s_path: Path = ("sections", s_index)
        rs = c.mapping(raw_section, where, s_path, SECTION_KEYS, SECTION_KEYS)
        s_code = rs.get("code")
        if isinstance(s_code, str) and SECTION_CODE.match(s_code):
            where = f"section {s_code}"
            if s_code in seen_sections:
                c.add(where, (*s_path, "code"), N_("duplicate section code"))
            seen_sections.add(s_code)
        elif "code" in rs:
            c.add(
                where,
                (*s_path, "code"),
                N_("section code %(code)r must match [a-z0-9_]+"),
                code=s_code,
            )
        s_title = (
            c.text(rs.get("title"), where, (*s_path, "title"), "title")
            if "title" in rs
            else Text(zh="")
        )
        items: list[Item] = []
        raw_items = rs.get("items")
        if "items" in rs and (not isinstance(raw_items, list) or not raw_items):
            c.add(where, (*s_path, "items"), N_("items must be a non-empty list"))
            raw_items = []
        for i_index, raw_item in enumerate(raw_items or []):
            i_where = f"{where} item #{i_index + 1}"
            p: Path = (*s_path, "items", i_index)
            i_code = raw_item.get("code") if isinstance(raw_item, dict) else None
            if isinstance(i_code, str) and ITEM_CODE.match(i_code):
                i_where = f"item {i_code}"
                if i_code in seen_items:
                    c.add(i_where, (*p, "code"), N_("duplicate item code"))
                seen_items.add(i_code)
            elif i_code is not None:
                c.add(
                    i_where,
                    (*p, "code"),
                    N_("item code %(code)r must be 1-40 of A-Z, 0-9 and dashes"),
                    code=i_code,
                )
            ri = c.mapping(raw_item, i_where, p, ITEM_KEYS, {"code", "text", "guidance", "points"})

            def text(key: str, ri: dict[str, Any] = ri, p: Path = p, w: str = i_where) -> Text:
                return c.text(ri[key], w, (*p, key), key) if key in ri else Text(zh="")

            def flag(
                key: str,
                default: bool = False,
                ri: dict[str, Any] = ri,
                p: Path = p,
                w: str = i_where,
            ) -> bool:
                return c.flag(ri.get(key), w, (*p, key), key, default)

            items.append(
                Item(
                    code=str(i_code),
                    text=text("text"),
                    guidance=text("guidance"),
                    points=(
                        c.points(ri.get("points"), i_where, (*p, "points"))
                        if "points" in ri
                        else Decimal(0)
                    ),
                    red_line=flag("red_line"),
                    na_allowed=flag("na_allowed"),
                    photo_required_on_fail=flag("photo_required_on_fail"),
                    features=c.features(ri.get("features"), i_where, (*p, "features")),
                    video_observable=flag("video_observable", True),
                )
            )
        sections.append(Section(code=str(s_code), title=s_title, items=tuple(items)))
    if c.problems:
        raise ChecklistInvalid(c.problems)
    return Checklist(code=str(code), title=title, sections=tuple(sections))


def publish_problems(
    new: Checklist, history: Sequence[Checklist], features: frozenset[str], source: str
) -> list[Problem]:
    """What stops `new` becoming the next version after `history` (oldest first).

    Every feature an item needs must be one head office keeps; and an item code stays
    with its item: a code whose item was removed in an earlier version may come back
    only for that item (the same Chinese text), never for a different one.
    """
    c = _Collector(source)
    last_text: dict[str, str] = {}
    for old in history:
        last_text.update((item.code, item.text.zh) for item in old.items)
    current = {item.code for item in history[-1].items} if history else set()
    for s_index, section in enumerate(new.sections):
        for i_index, item in enumerate(section.items):
            path: Path = ("sections", s_index, "items", i_index)
            where = f"item {item.code}"
            for n, feature in enumerate(item.features):
                if feature not in features:
                    c.add(
                        where,
                        (*path, "features", n),
                        N_("'%(code)s' is not one of the outlet features head office keeps"),
                        code=feature,
                    )
            before = last_text.get(item.code)
            if item.code not in current and before is not None and before != item.text.zh:
                c.add(
                    where,
                    (*path, "code"),
                    N_(
                        "code %(code)s belonged to an item removed earlier (“%(text)s”); "
                        "give this item a new code"
                    ),
                    code=item.code,
                    text=before,
                )
    return c.problems


def _text_dict(text: Text) -> dict[str, str]:
    return {"zh": text.zh, **({"en": text.en} if text.en else {})}


def _optional(item: Item) -> dict[str, Any]:
    # written only when set, so a version made before these keys existed keeps its hash
    return {
        **({"features": list(item.features)} if item.features else {}),
        **({} if item.video_observable else {"video_observable": False}),
    }


def to_data(checklist: Checklist) -> dict[str, Any]:
    """The canonical plain form: every key explicit, defaults written out."""
    return {
        "code": checklist.code,
        "title": _text_dict(checklist.title),
        "sections": [
            {
                "code": s.code,
                "title": _text_dict(s.title),
                "items": [
                    {
                        "code": i.code,
                        "text": _text_dict(i.text),
                        "guidance": _text_dict(i.guidance),
                        "points": format(i.points.normalize(), "f"),
                        "red_line": i.red_line,
                        "na_allowed": i.na_allowed,
                        "photo_required_on_fail": i.photo_required_on_fail,
                        **_optional(i),
                    }
                    for i in s.items
                ],
            }
            for s in checklist.sections
        ],
    }


def canonical_json(checklist: Checklist) -> str:
    return json.dumps(to_data(checklist), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_hash(checklist: Checklist) -> str:
    return hashlib.sha256(canonical_json(checklist).encode("utf-8")).hexdigest()


def from_canonical(text: str) -> Checklist:
    """Rebuild a stored version; its content was validated when it was published."""
    return parse(json.loads(text), source="<stored version>")
