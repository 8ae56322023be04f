"""Head office keeps the organisation: sub-branches, outlets and agencies.

Every function here flushes and never commits (the request commits once). Values arrive as
the text a form or a CSV cell holds; `clean_*` turn them into what is stored or name the
problem, so the screens and the CSV import refuse the same things in the same words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

import shopper.models  # noqa: F401  (every table, so every reference to a row is counted)
from shopper.db import Base
from shopper.org.features import all_features
from shopper.org.models import Agency, Feature, Outlet, SubBranch, outlet_features
from shopper.refusals import Refused

CODE = re.compile(r"[A-Za-z0-9_.\-]{1,40}")
MAX_NAME = 200
MAX_ADDRESS = 300
DEFAULT_TIMEZONE = "Asia/Shanghai"
LANGUAGES = ("zh_CN", "en")
SIX_PLACES = Decimal("0.000001")


@dataclass
class Problem:
    """One thing wrong with one field: a sentence code from shopper.org.messages."""

    field: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)


class FieldError(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class Invalid(Refused):
    """A form or a row with problems; speaks the first one's sentence (400)."""

    def __init__(self, problems: list[Problem], status: int = 400) -> None:
        first = problems[0]
        super().__init__(first.code, status, **first.params)
        self.problems = problems


class Collector:
    """Runs each field's cleaner and gathers the problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def take(self, name: str, clean: Callable[..., Any], *args: Any) -> Any:
        try:
            return clean(*args)
        except FieldError as error:
            self.problems.append(Problem(name, error.code, error.params))
            return None

    def add(self, name: str, code: str, **params: Any) -> None:
        self.problems.append(Problem(name, code, params))

    def check(self) -> None:
        if self.problems:
            raise Invalid(self.problems)


# ---- one field at a time ----


def clean_code(text: str | None) -> str:
    value = (text or "").strip()
    if not value:
        raise FieldError("org_code_required")
    if not CODE.fullmatch(value):
        raise FieldError("org_bad_code")
    return value


def clean_name(text: str | None, limit: int = MAX_NAME) -> str:
    value = " ".join((text or "").split())
    if not value:
        raise FieldError("org_name_required")
    if len(value) > limit:
        raise FieldError("org_too_long", limit=limit)
    return value


def clean_address(text: str | None) -> str:
    value = " ".join((text or "").split())
    if len(value) > MAX_ADDRESS:
        raise FieldError("org_too_long", limit=MAX_ADDRESS)
    return value


@cache
def timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def clean_timezone(text: str | None) -> str:
    value = (text or "").strip() or DEFAULT_TIMEZONE
    if value not in timezones():  # the names only: never a path zoneinfo would open
        raise FieldError("org_bad_timezone", value=value[:60])
    return value


def clean_language(text: str | None) -> str:
    value = (text or "").strip() or LANGUAGES[0]
    if value not in LANGUAGES:
        raise FieldError("org_bad_language")
    return value


def clean_coordinate(text: str | None, limit: int) -> Decimal | None:
    value = (text or "").strip()
    if not value:
        return None
    code = "org_bad_latitude" if limit == 90 else "org_bad_longitude"
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise FieldError(code) from None
    if len(value) > 20 or not number.is_finite() or abs(number) > limit:
        raise FieldError(code)
    return number.quantize(SIX_PLACES, rounding=ROUND_HALF_UP)  # what Numeric(9, 6) keeps


def clean_features(codes: Iterable[str], known: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(c.strip() for c in codes if c.strip())
    unknown = sorted(wanted - frozenset(known))
    if unknown:
        raise FieldError("org_unknown_features", value=", ".join(unknown)[:200])
    return wanted


# ---- what each record holds ----


@dataclass(frozen=True)
class SubBranchData:
    code: str
    name: str


@dataclass(frozen=True)
class OutletData:
    code: str
    name: str
    sub_branch_id: int
    address: str
    timezone: str
    language: str
    latitude: Decimal | None
    longitude: Decimal | None
    features: frozenset[str]


@dataclass(frozen=True)
class AgencyData:
    name: str


def sub_branch_data(code: str | None, name: str | None) -> SubBranchData:
    c = Collector()
    data = SubBranchData(c.take("code", clean_code, code), c.take("name", clean_name, name))
    c.check()
    return data


def outlet_data(
    session: Session,
    values: dict[str, str],
    features: Iterable[str],
    collector: Collector | None = None,
) -> OutletData | None:
    """An outlet's fields from text (`sub_branch_id` as the form's id). Raises Invalid with
    every problem, or with `collector` gathers them there and returns None."""
    c = collector or Collector()
    before = len(c.problems)
    sub_branch_id = None
    raw = (values.get("sub_branch_id") or "").strip()
    if raw.isdigit() and len(raw) < 10 and session.get(SubBranch, int(raw)) is not None:
        sub_branch_id = int(raw)
    else:
        c.add("sub_branch_id", "org_sub_branch_required")
    data = outlet_fields(c, values, sub_branch_id, features, known_features(session))
    if collector is None:
        c.check()
    return data if len(c.problems) == before else None


def outlet_fields(
    c: Collector,
    values: dict[str, str],
    sub_branch_id: int | None,
    features: Iterable[str],
    known: Iterable[str],
) -> OutletData | None:
    before = len(c.problems)
    code = c.take("code", clean_code, values.get("code"))
    name = c.take("name", clean_name, values.get("name"))
    address = c.take("address", clean_address, values.get("address"))
    timezone = c.take("timezone", clean_timezone, values.get("timezone"))
    language = c.take("language", clean_language, values.get("language"))
    latitude = c.take("latitude", clean_coordinate, values.get("latitude"), 90)
    longitude = c.take("longitude", clean_coordinate, values.get("longitude"), 180)
    wanted = c.take("features", clean_features, features, known)
    lat_given = bool((values.get("latitude") or "").strip())
    long_given = bool((values.get("longitude") or "").strip())
    if lat_given != long_given:
        c.add("longitude" if lat_given else "latitude", "org_location_half")
    if len(c.problems) > before or sub_branch_id is None:
        return None
    return OutletData(
        code, name, sub_branch_id, address, timezone, language, latitude, longitude, wanted
    )


def agency_data(name: str | None) -> AgencyData:
    c = Collector()
    data = AgencyData(c.take("name", clean_name, name))
    c.check()
    return data


def known_features(session: Session) -> frozenset[str]:
    return frozenset(session.scalars(select(Feature.code)))


# ---- lists ----


def sub_branches(session: Session) -> list[SubBranch]:
    return list(session.scalars(select(SubBranch).order_by(SubBranch.code)))


def outlets(session: Session) -> list[Outlet]:
    return list(
        session.scalars(
            select(Outlet)
            .options(selectinload(Outlet.sub_branch), selectinload(Outlet.features))
            .order_by(Outlet.code)
        )
    )


def agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.name)))


def outlet_counts(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Outlet.sub_branch_id, func.count()).group_by(Outlet.sub_branch_id)
    )
    return {key: count for key, count in rows}


def get(session: Session, model: type, object_id: int) -> Any:
    found = session.get(model, object_id)
    if found is None:
        raise Refused("not_found", 404)
    return found


# ---- writing ----


def _taken(session: Session, column: Any, value: str, own_id: int | None) -> bool:
    found = session.scalar(select(column.class_.id).where(func.lower(column) == value.lower()))
    return found is not None and found != own_id


def save_sub_branch(
    session: Session, data: SubBranchData, sub_branch: SubBranch | None = None
) -> tuple[SubBranch, dict[str, list[Any]]]:
    """Create (no `sub_branch`) or change one; returns it and what changed (field → [old,
    new]). Refused (409) for a code another sub-branch has (case does not matter)."""
    if _taken(session, SubBranch.code, data.code, sub_branch.id if sub_branch else None):
        raise Invalid([Problem("code", "org_sub_branch_code_taken", {"key": data.code})], 409)
    target = sub_branch or SubBranch()
    changes = _assign(target, {"code": data.code, "name": data.name}, new=sub_branch is None)
    session.add(target)
    session.flush()
    return target, changes


def save_agency(
    session: Session, data: AgencyData, agency: Agency | None = None
) -> tuple[Agency, dict[str, list[Any]]]:
    if _taken(session, Agency.name, data.name, agency.id if agency else None):
        raise Invalid([Problem("name", "org_agency_name_taken", {"name": data.name})], 409)
    target = agency or Agency()
    changes = _assign(target, {"name": data.name}, new=agency is None)
    session.add(target)
    session.flush()
    return target, changes


def outlet_values(outlet: Outlet) -> dict[str, Any]:
    """An outlet's stored fields as plain values, as OutletData names them."""
    return {
        "code": outlet.code,
        "name": outlet.name,
        "sub_branch_id": outlet.sub_branch_id,
        "address": outlet.address or "",
        "timezone": outlet.timezone,
        "language": outlet.language,
        "latitude": None if outlet.latitude is None else Decimal(outlet.latitude),
        "longitude": None if outlet.longitude is None else Decimal(outlet.longitude),
        "features": frozenset(outlet.feature_codes),
    }


def save_outlet(
    session: Session, data: OutletData, outlet: Outlet | None = None
) -> tuple[Outlet, dict[str, list[Any]]]:
    """Create or change an outlet (features too; they apply to inspections started from now
    on). Returns it and what changed. Refused (409) for a code another outlet has."""
    if _taken(session, Outlet.code, data.code, outlet.id if outlet else None):
        raise Invalid([Problem("code", "org_outlet_code_taken", {"key": data.code})], 409)
    target = outlet or Outlet()
    old = outlet_values(target) if outlet is not None else {}
    wanted = {k: getattr(data, k) for k in old or outlet_values_keys()}
    changes = {k: [old.get(k), v] for k, v in wanted.items() if old.get(k) != v or not old}
    for key, value in wanted.items():
        if key != "features":
            setattr(target, key, value)
    if "features" in changes:
        by_code = {f.code: f for f in all_features(session)}
        target.features = [by_code[c] for c in sorted(data.features)]
    session.add(target)
    session.flush()
    return target, _plain(changes)


def outlet_values_keys() -> tuple[str, ...]:
    return tuple(OutletData.__dataclass_fields__)


def _assign(target: Any, values: dict[str, Any], *, new: bool) -> dict[str, list[Any]]:
    changes = {}
    for key, value in values.items():
        old = None if new else getattr(target, key)
        if new or old != value:
            changes[key] = [old, value]
            setattr(target, key, value)
    return changes


def _plain(changes: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Changes as the audit trail keeps them: decimals as text, feature sets as lists."""

    def plain(value: Any) -> Any:
        if isinstance(value, frozenset):
            return sorted(value)
        if isinstance(value, Decimal):
            return str(value)
        return value

    return {k: [plain(old), plain(new)] for k, (old, new) in changes.items()}


# ---- deleting only what nothing uses ----

# what head office calls the rows of each table that may point at a record
_WORDS: dict[str, Callable[[int], str]] = {
    "outlets": lambda n: ngettext("%(num)d outlet", "%(num)d outlets", n),
    "users": lambda n: ngettext("%(num)d account", "%(num)d accounts", n),
    "assignments": lambda n: ngettext("%(num)d assignment", "%(num)d assignments", n),
    "inspections": lambda n: ngettext("%(num)d inspection", "%(num)d inspections", n),
    "notices": lambda n: ngettext("%(num)d notice", "%(num)d notices", n),
    "findings": lambda n: ngettext("%(num)d finding", "%(num)d findings", n),
    "api_tokens": lambda n: ngettext("%(num)d API token", "%(num)d API tokens", n),
}


def _other(n: int) -> str:
    return ngettext("%(num)d other record", "%(num)d other records", n)


def uses(session: Session, table_name: str, row_id: int) -> dict[str, int]:
    """How many rows of each table point at the row (every foreign key in the metadata, so
    tables added later are counted too); the outlet's own feature ticks are not a use."""
    found: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        if table is outlet_features:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name != table_name:
                continue
            count = session.scalar(
                select(func.count()).select_from(table).where(fk.parent == row_id)
            )
            if count:
                found[table.name] = found.get(table.name, 0) + count
    return found


def describe_uses(found: dict[str, int]) -> str:
    """ "3 outlets, 2 accounts" in the user's language, in a fixed order."""
    order = [t for t in _WORDS if t in found] + sorted(t for t in found if t not in _WORDS)
    return ", ".join(_WORDS.get(t, _other)(found[t]) for t in order)


def _delete(session: Session, row: Any, refusal: str, **params: Any) -> None:
    found = uses(session, row.__tablename__, row.id)
    if found:
        raise Refused(refusal, 409, uses=describe_uses(found), **params)
    if isinstance(row, Outlet):
        row.features = []
    session.delete(row)
    session.flush()


def delete_sub_branch(session: Session, sub_branch: SubBranch) -> None:
    """Remove a sub-branch nothing points at; Refused (409) naming what does."""
    _delete(session, sub_branch, "org_sub_branch_in_use", key=sub_branch.code)


def delete_outlet(session: Session, outlet: Outlet) -> None:
    """Remove an outlet nothing points at (its feature ticks go with it)."""
    _delete(session, outlet, "org_outlet_in_use", key=outlet.code)


def delete_agency(session: Session, agency: Agency) -> None:
    _delete(session, agency, "org_agency_in_use", name=agency.name)
