"""Checklists: the schema, validation, canonical form and content hash.

A checklist file (YAML) is parsed into plain data, validated as a whole (every
problem reported with the file, the item and the reason), and reduced to a
canonical JSON form whose SHA-256 identifies the published version.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

CHECKLIST_CODE = re.compile(r"^[a-z0-9_]{1,40}$")
SECTION_CODE = CHECKLIST_CODE
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


@dataclass(frozen=True)
class Problem:
    source: str
    where: str  # "checklist", a section code or an item code
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.where}: {self.reason}"


class ChecklistInvalid(ValueError):
    """Raised with every problem found; nothing of an invalid checklist is used."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _Collector:
    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []

    def add(self, where: str, reason: str) -> None:
        self.problems.append(Problem(self.source, where, reason))

    def mapping(
        self, value: Any, where: str, allowed: set[str], required: set[str]
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.add(where, f"expected a mapping, got {type(value).__name__}")
            return {}
        for key in sorted(set(value) - allowed, key=str):
            self.add(where, f"unknown key '{key}'")
        for key in sorted(required - set(value)):
            self.add(where, f"missing '{key}'")
        return value

    def text(self, value: Any, where: str, what: str, required: bool = True) -> Text:
        if value is None and not required:
            return Text(zh="")
        if isinstance(value, str):
            value = {"zh": value}
        if not isinstance(value, dict):
            self.add(where, f"{what} must be a mapping of zh/en texts")
            return Text(zh="")
        for key in sorted(set(value) - TEXT_KEYS, key=str):
            self.add(where, f"unknown language '{key}' in {what}")
        result: dict[str, str | None] = {}
        for lang in ("zh", "en"):
            raw = value.get(lang)
            if raw is None:
                result[lang] = None
                continue
            if not isinstance(raw, str) or not raw.strip():
                self.add(where, f"{what}.{lang} must be non-empty text")
                result[lang] = None
                continue
            if len(raw) > MAX_TEXT:
                self.add(where, f"{what}.{lang} is longer than {MAX_TEXT} characters")
            result[lang] = " ".join(raw.split())
        if not result["zh"]:
            if value.get("zh") is None:
                self.add(where, f"missing {what}.zh (Chinese text)")
            return Text(zh="", en=result["en"])
        return Text(zh=result["zh"], en=result["en"])

    def flag(self, value: Any, where: str, name: str) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            self.add(where, f"'{name}' must be true or false")
            return False
        return value

    def points(self, value: Any, where: str) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.add(where, "points must be a number")
            return Decimal(0)
        try:
            points = Decimal(str(value))
        except InvalidOperation:
            self.add(where, "points must be a number")
            return Decimal(0)
        if not points.is_finite() or points <= 0:
            self.add(where, "points must be positive")
        elif points != points.quantize(Decimal("0.1")):
            self.add(where, "points may have at most one decimal place")
        elif points > 100:
            self.add(where, "points must be at most 100")
        return points


def parse(data: Any, source: str = "<checklist>") -> Checklist:
    """Validate plain data (as loaded from YAML/JSON) into a `Checklist`.

    Raises `ChecklistInvalid` listing every problem; never returns a partial checklist.
    """
    c = _Collector(source)
    raw = c.mapping(data, "checklist", CHECKLIST_KEYS, CHECKLIST_KEYS)
    code = raw.get("code")
    if code is not None and (not isinstance(code, str) or not CHECKLIST_CODE.match(code)):
        c.add("checklist", f"code {code!r} must match [a-z0-9_]+")
    title = c.text(raw.get("title"), "checklist", "title") if "title" in raw else Text(zh="")
    sections: list[Section] = []
    seen_sections: set[str] = set()
    seen_items: set[str] = set()
    raw_sections = raw.get("sections")
    if "sections" in raw and (not isinstance(raw_sections, list) or not raw_sections):
        c.add("checklist", "sections must be a non-empty list")
        raw_sections = []
    for s_index, raw_section in enumerate(raw_sections or [], start=1):
        where = f"section #{s_index}"
        rs = c.mapping(raw_section, where, SECTION_KEYS, SECTION_KEYS)
        s_code = rs.get("code")
        if isinstance(s_code, str) and SECTION_CODE.match(s_code):
            where = f"section {s_code}"
            if s_code in seen_sections:
                c.add(where, "duplicate section code")
            seen_sections.add(s_code)
        elif "code" in rs:
            c.add(where, f"section code {s_code!r} must match [a-z0-9_]+")
        s_title = c.text(rs.get("title"), where, "title") if "title" in rs else Text(zh="")
        items: list[Item] = []
        raw_items = rs.get("items")
        if "items" in rs and (not isinstance(raw_items, list) or not raw_items):
            c.add(where, "items must be a non-empty list")
            raw_items = []
        for i_index, raw_item in enumerate(raw_items or [], start=1):
            i_where = f"{where} item #{i_index}"
            i_code = raw_item.get("code") if isinstance(raw_item, dict) else None
            if isinstance(i_code, str) and ITEM_CODE.match(i_code):
                i_where = f"item {i_code}"
                if i_code in seen_items:
                    c.add(i_where, "duplicate item code")
                seen_items.add(i_code)
            elif i_code is not None:
                c.add(i_where, f"item code {i_code!r} must be 1-40 of A-Z, 0-9 and dashes")
            ri = c.mapping(raw_item, i_where, ITEM_KEYS, {"code", "text", "guidance", "points"})
            items.append(
                Item(
                    code=str(i_code),
                    text=c.text(ri["text"], i_where, "text") if "text" in ri else Text(zh=""),
                    guidance=(
                        c.text(ri["guidance"], i_where, "guidance")
                        if "guidance" in ri
                        else Text(zh="")
                    ),
                    points=c.points(ri.get("points"), i_where) if "points" in ri else Decimal(0),
                    red_line=c.flag(ri.get("red_line"), i_where, "red_line"),
                    na_allowed=c.flag(ri.get("na_allowed"), i_where, "na_allowed"),
                    photo_required_on_fail=c.flag(
                        ri.get("photo_required_on_fail"), i_where, "photo_required_on_fail"
                    ),
                )
            )
        sections.append(Section(code=str(s_code), title=s_title, items=tuple(items)))
    if c.problems:
        raise ChecklistInvalid(c.problems)
    return Checklist(code=str(code), title=title, sections=tuple(sections))


def _text_dict(text: Text) -> dict[str, str]:
    return {"zh": text.zh, **({"en": text.en} if text.en else {})}


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
