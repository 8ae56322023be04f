"""CSV import of sub-branches, outlets, agencies and accounts: a dry run, then exactly that.

`plan` reads a file (UTF-8 with or without BOM, or GB18030 as Excel writes Chinese CSV),
checks every row against the same rules as the screens, and says for each row what it
would do: create, change (old → new per field) or nothing. A file with any problem is
refused whole. `apply` writes a plan; the view re-plans the stored file in the request that
applies it and applies only when the plan is the one head office saw (its digest), so a
change made meanwhile is never overwritten unseen. Rows are keyed by code (sub-branches,
outlets), name (agencies) or username (accounts), compared without regard to case.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from shopper.auth import accounts
from shopper.auth.models import INSPECTING, Role, User
from shopper.org import service
from shopper.org.features import all_features
from shopper.org.models import Agency, Outlet, SubBranch
from shopper.org.service import Collector
from shopper.refusals import Refused

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
# each new account's password is hashed with scrypt (about 0.1 s): a file makes at most this many
MAX_NEW_ACCOUNTS = 200
YES = {"yes", "y", "true", "1", "是"}
NO = {"no", "n", "false", "0", "否"}


@dataclass(frozen=True)
class Kind:
    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    key: str


KINDS = {
    k.name: k
    for k in (
        Kind("sub_branches", ("code", "name"), ("code", "name"), "code"),
        Kind(
            "outlets",
            (
                "code",
                "name",
                "sub_branch",
                "address",
                "timezone",
                "language",
                "latitude",
                "longitude",
                "features",
            ),
            ("code", "name", "sub_branch"),
            "code",
        ),
        Kind("agencies", ("name",), ("name",), "name"),
        Kind(
            "accounts",
            ("username", "display_name", "role", "agency", "outlet", "sub_branch", "active"),
            ("username", "display_name", "role"),
            "username",
        ),
    )
}


@dataclass
class RowProblem:
    line: int
    column: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Row:
    """What one line of the file would do: "create", "change" or "unchanged"."""

    line: int
    key: str
    action: str
    changes: dict[str, list[Any]]  # field → [old, new] as head office reads them
    data: Any = None
    target: Any = None


@dataclass
class Plan:
    kind: str
    sha256: str
    encoding: str
    rows: list[Row]
    problems: list[RowProblem]

    @property
    def digest(self) -> str:
        """What the dry run showed, hashed: applying needs the same."""
        body = json.dumps(
            [self.kind, self.sha256, [[r.key, r.action, r.changes] for r in self.rows]],
            ensure_ascii=False,
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(body.encode()).hexdigest()

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)


# ---- the file ----


def decode(raw: bytes) -> tuple[str, str]:
    """The text and the encoding it was read in. Refused for UTF-16, NUL bytes or bytes
    that are neither UTF-8 nor GB18030."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Refused("import_utf16")
    if b"\x00" in raw:
        raise Refused("import_binary")
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            raise Refused("import_bad_encoding") from None
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        # Excel's "CSV" on a Chinese Windows; GB18030 is a superset of GBK and GB2312
        return raw.decode("gb18030"), "GB18030"
    except UnicodeDecodeError:
        raise Refused("import_bad_encoding") from None


def read(kind: Kind, text: str, problems: list[RowProblem]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, cells by column) of each row after the header; header and shape problems are
    added to `problems`. Blank lines are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise Refused("import_empty")
        names = [h.strip().lower() for h in header]
        seen: set[str] = set()
        for name in names:
            if name not in kind.columns:
                problems.append(
                    RowProblem(
                        1,
                        name,
                        "import_unknown_column",
                        {"value": name[:40], "columns": ", ".join(kind.columns)},
                    )
                )
            elif name in seen:
                problems.append(RowProblem(1, name, "import_repeated_column", {"value": name}))
            seen.add(name)
        for name in kind.required:
            if name not in seen:
                problems.append(RowProblem(1, name, "import_missing_column", {"value": name}))
        if problems:
            return
        count = 0
        last = reader.line_num
        for cells in reader:
            line, last = last + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            count += 1
            if count > MAX_ROWS:
                raise Refused("import_too_many_rows", limit=MAX_ROWS)
            if len(cells) != len(names):
                problems.append(
                    RowProblem(
                        line, "", "import_row_length", {"count": len(cells), "columns": len(names)}
                    )
                )
                continue
            yield line, dict(zip(names, cells, strict=True))
        if count == 0:
            raise Refused("import_no_rows")
    except csv.Error as error:
        raise Refused("import_bad_csv", detail=str(error)[:200]) from None


def plan(session: Session, actor: User, kind_name: str, raw: bytes) -> Plan:
    """The dry run of importing `raw` as `kind_name`. Refused (400) for a file that cannot
    be read at all; row problems are in the plan (then nothing may be applied)."""
    kind = KINDS.get(kind_name)
    if kind is None:
        raise Refused("import_bad_kind")
    if len(raw) > MAX_BYTES:
        raise Refused("import_too_large", limit=MAX_BYTES // (1024 * 1024))
    text, encoding = decode(raw)
    problems: list[RowProblem] = []
    rows: list[Row] = []
    planner = _PLANNERS[kind.name](session, actor)
    first_line: dict[str, int] = {}
    for line, cells in read(kind, text, problems):
        key = cells[kind.key].strip()
        folded = key.lower()
        if folded and folded in first_line:
            problems.append(
                RowProblem(
                    line,
                    kind.key,
                    "import_repeated_key",
                    {"value": key[:80], "line": first_line[folded]},
                )
            )
            continue
        if folded:
            first_line[folded] = line
        c = Collector()
        row = planner.row(line, cells, c)
        problems.extend(RowProblem(line, p.field, p.code, p.params) for p in c.problems)
        if row is not None and not c.problems:
            rows.append(row)
    problems.extend(planner.finish(rows))
    return Plan(
        kind.name,
        hashlib.sha256(raw).hexdigest(),
        encoding,
        rows,
        sorted(problems, key=lambda p: p.line),
    )


def _changes(old: dict[str, Any] | None, new: dict[str, Any]) -> tuple[str, dict[str, list[Any]]]:
    if old is None:
        return "create", {k: [None, v] for k, v in new.items()}
    changes = {k: [old.get(k), v] for k, v in new.items() if old.get(k) != v}
    return ("change" if changes else "unchanged"), changes


# ---- one planner per kind ----


class _SubBranches:
    def __init__(self, session: Session, actor: User) -> None:
        self.by_code = {s.code.lower(): s for s in session.scalars(select(SubBranch))}

    def row(self, line: int, cells: dict[str, str], c: Collector) -> Row | None:
        code = c.take("code", service.clean_code, cells.get("code"))
        name = c.take("name", service.clean_name, cells.get("name"))
        if c.problems:
            return None
        found = self.by_code.get(code.lower())
        old = None if found is None else {"code": found.code, "name": found.name}
        action, changes = _changes(old, {"code": code, "name": name})
        return Row(line, code, action, changes, service.SubBranchData(code, name), found)

    def finish(self, rows: list[Row]) -> list[RowProblem]:
        return []


class _Agencies:
    def __init__(self, session: Session, actor: User) -> None:
        self.by_name = {a.name.lower(): a for a in session.scalars(select(Agency))}

    def row(self, line: int, cells: dict[str, str], c: Collector) -> Row | None:
        name = c.take("name", service.clean_name, cells.get("name"))
        if name is None:
            return None
        found = self.by_name.get(name.lower())
        old = None if found is None else {"name": found.name}
        action, changes = _changes(old, {"name": name})
        return Row(line, name, action, changes, service.AgencyData(name), found)

    def finish(self, rows: list[Row]) -> list[RowProblem]:
        return []


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, frozenset):
        return " ".join(sorted(value))
    return str(value)


FEATURE_SEPARATORS = re.compile(r"[\s;,|]+")


class _Outlets:
    def __init__(self, session: Session, actor: User) -> None:
        self.by_code = {
            o.code.lower(): o
            for o in session.scalars(select(Outlet).options(selectinload(Outlet.features)))
        }
        self.sub_branches = {s.code.lower(): s for s in session.scalars(select(SubBranch))}
        self.codes = {s.id: s.code for s in self.sub_branches.values()}
        self.known = service.known_features(session)

    def shown(self, values: dict[str, Any]) -> dict[str, Any]:
        """An outlet's fields as the dry run shows them (the sub-branch by its code)."""
        shown = {k: _text(v) for k, v in values.items() if k != "sub_branch_id"}
        shown["sub_branch"] = self.codes.get(values["sub_branch_id"], "")
        return shown

    def row(self, line: int, cells: dict[str, str], c: Collector) -> Row | None:
        code = (cells.get("code") or "").strip()
        found = self.by_code.get(code.lower())
        # a column the file lacks keeps what the outlet has (or the default for a new one)
        values = {k: _text(v) for k, v in service.outlet_values(found).items()} if found else {}
        values.update({k: v for k, v in cells.items() if k not in ("sub_branch", "features")})
        sub_branch_code = (cells.get("sub_branch") or "").strip()
        sub_branch = self.sub_branches.get(sub_branch_code.lower())
        if sub_branch is None:
            if sub_branch_code:
                c.add("sub_branch", "org_unknown_sub_branch", value=sub_branch_code[:40])
            else:
                c.add("sub_branch", "org_sub_branch_required")
        if "features" in cells:
            features = FEATURE_SEPARATORS.split(cells["features"])
        else:
            features = sorted(found.feature_codes) if found else []
        data = service.outlet_fields(
            c, values, sub_branch.id if sub_branch else None, features, self.known
        )
        if data is None or c.problems:
            return None
        new = {k: getattr(data, k) for k in service.outlet_values_keys()}
        old = self.shown(service.outlet_values(found)) if found else None
        action, changes = _changes(old, self.shown(new))
        return Row(line, data.code, action, changes, data, found)

    def finish(self, rows: list[Row]) -> list[RowProblem]:
        return []


class _Accounts:
    def __init__(self, session: Session, actor: User) -> None:
        self.session = session
        self.actor = actor
        self.by_name = {u.username.lower(): u for u in session.scalars(select(User))}
        self.agencies = {a.name.lower(): a for a in session.scalars(select(Agency))}
        self.outlets = {o.code.lower(): o for o in session.scalars(select(Outlet))}
        self.sub_branches = {s.code.lower(): s for s in session.scalars(select(SubBranch))}
        self.names = {
            "agency_id": {a.id: a.name for a in self.agencies.values()},
            "outlet_id": {o.id: o.code for o in self.outlets.values()},
            "sub_branch_id": {s.id: s.code for s in self.sub_branches.values()},
        }

    def _ref(
        self, c: Collector, column: str, found: dict[str, Any], code: str, cells: dict[str, str]
    ) -> int | None:
        text = (cells.get(column) or "").strip()
        if not text:
            return None
        target = found.get(text.lower())
        if target is None:
            c.add(column, code, value=text[:80])
            return None
        return target.id

    def shown(self, values: dict[str, Any]) -> dict[str, Any]:
        return {
            "display_name": values["display_name"],
            "role": values["role"],
            "agency": self.names["agency_id"].get(values["agency_id"], ""),
            "outlet": self.names["outlet_id"].get(values["outlet_id"], ""),
            "sub_branch": self.names["sub_branch_id"].get(values["sub_branch_id"], ""),
            "active": "yes" if values["active"] else "no",
        }

    def row(self, line: int, cells: dict[str, str], c: Collector) -> Row | None:
        username = c.take("username", accounts.clean_username, cells.get("username"))
        display = c.take("display_name", service.clean_name, cells.get("display_name"))
        role = c.take("role", accounts.clean_role, cells.get("role"))
        agency_id = self._ref(c, "agency", self.agencies, "org_unknown_agency", cells)
        outlet_id = self._ref(c, "outlet", self.outlets, "org_unknown_outlet", cells)
        sub_branch_id = self._ref(
            c, "sub_branch", self.sub_branches, "org_unknown_sub_branch", cells
        )
        found = self.by_name.get(username.lower()) if username else None
        active = found.active if found is not None else True
        if "active" in cells and cells["active"].strip():
            word = cells["active"].strip().lower()
            if word in YES | NO:
                active = word in YES
            else:
                c.add("active", "import_bad_active")
        if c.problems:
            return None
        scope = Collector()
        accounts.check_scope(scope, role, agency_id, outlet_id, sub_branch_id)
        for p in scope.problems:  # named by the file's column
            c.add(p.field.removesuffix("_id"), p.code, **p.params)
        if c.problems:
            return None
        data = accounts.AccountData(
            found.username if found else username,
            display,
            role,
            agency_id,
            outlet_id,
            sub_branch_id,
        )
        new = {
            "display_name": display,
            "role": role.value,
            "agency_id": agency_id,
            "outlet_id": outlet_id,
            "sub_branch_id": sub_branch_id,
            "active": active,
        }
        if found is not None:
            self._guard(c, found, role, active)
            if c.problems:
                return None
        old = (
            None
            if found is None
            else self.shown(accounts.values_of(found) | {"active": found.active})
        )
        action, changes = _changes(old, self.shown(new))
        return Row(line, data.username, action, changes, (data, active), found)

    def _guard(self, c: Collector, user: User, role: Role, active: bool) -> None:
        losing_admin = (
            user.role == Role.ADMIN and user.active and (role != Role.ADMIN or not active)
        )
        if losing_admin and user.id == self.actor.id:
            c.add("role" if active else "active", "account_self")
        if user.role in INSPECTING and role not in INSPECTING:
            count = accounts.assignments_of(self.session, user)
            if count:
                c.add("role", "account_has_assignments", username=user.username, count=count)

    def finish(self, rows: list[Row]) -> list[RowProblem]:
        created = sum(1 for r in rows if r.action == "create")
        if created > MAX_NEW_ACCOUNTS:
            raise Refused("import_too_many_accounts", limit=MAX_NEW_ACCOUNTS)
        # after the file, one active head-office account must remain
        admins = {u.id for u in self.by_name.values() if u.role == Role.ADMIN and u.active}
        losing = []
        for r in rows:
            data, active = r.data
            if (
                r.target is not None
                and r.target.id in admins
                and (data.role != Role.ADMIN or not active)
            ):
                admins.discard(r.target.id)
                losing.append(r)
            elif data.role == Role.ADMIN and active:
                admins.add(r.target.id if r.target is not None else -r.line)
        if not admins and losing:
            return [RowProblem(losing[-1].line, "role", "account_last_admin")]
        return []


_PLANNERS: dict[str, Callable[[Session, User], Any]] = {
    "sub_branches": _SubBranches,
    "outlets": _Outlets,
    "agencies": _Agencies,
    "accounts": _Accounts,
}


# ---- applying ----


@dataclass
class Applied:
    """What an import did, for the page and the audit trail."""

    created: int = 0
    changed: int = 0
    # (username, display name, password) of each new account: shown once, never stored
    passwords: list[tuple[str, str, str]] = field(default_factory=list)
    records: list[tuple[str, str, Any, dict[str, Any]]] = field(default_factory=list)


def apply(session: Session, actor: User, plan: Plan) -> Applied:
    """Write the plan's rows (a plan with problems is refused whole). Flushes once for the
    whole file (the plan already checked every key against what exists and within the
    file; a record made meanwhile by someone else is a constraint's 409). Returns what was
    done and, for accounts, each new account's generated password."""
    if plan.problems:
        raise Refused("import_invalid")
    done = Applied()
    via = {"via": "import", "file_sha256": plan.sha256}
    written: list[tuple[Row, Any]] = []
    features = {f.code: f for f in all_features(session)} if plan.kind == "outlets" else {}
    for row in plan.rows:
        if row.action == "unchanged":
            continue
        if plan.kind == "sub_branches":
            target = row.target or SubBranch()
            target.code, target.name = row.data.code, row.data.name
        elif plan.kind == "agencies":
            target = row.target or Agency()
            target.name = row.data.name
        elif plan.kind == "outlets":
            target = row.target or Outlet()
            for key in service.outlet_values_keys():
                if key != "features":
                    setattr(target, key, getattr(row.data, key))
            if row.target is None or "features" in row.changes:
                target.features = [features[c] for c in sorted(row.data.features)]
        else:
            target = _apply_account(session, actor, row, done)
        session.add(target)
        written.append((row, target))
        if row.action == "create":
            done.created += 1
        else:
            done.changed += 1
    session.flush()
    kind = {"sub_branches": "sub_branch", "agencies": "agency", "outlets": "outlet"}
    for row, target in written:
        verb = "created" if row.action == "create" else "changed"
        name = kind.get(plan.kind, "account")
        object_type = kind.get(plan.kind, "user")
        done.records.append((f"{name}.{verb}", object_type, target.id, row.changes | via))
    return done


def _apply_account(session: Session, actor: User, row: Row, done: Applied) -> User:
    data, active = row.data
    if row.target is None:
        user, password = accounts.create(session, data, None)
        user.active = active
        done.passwords.append((user.username, user.display_name, password or ""))
        return user
    user = row.target
    accounts.update(session, actor, user, data)
    if user.active and not active:
        accounts.disable(session, actor, user)
    elif active and not user.active:
        accounts.enable(session, user)
    return user


def existing_count(session: Session, kind: str) -> int:
    model = {"sub_branches": SubBranch, "outlets": Outlet, "agencies": Agency, "accounts": User}[
        kind
    ]
    return session.scalar(select(func.count()).select_from(model)) or 0


def template_csv(kind: str) -> str:
    """A header row and one example row, for head office to fill in."""
    examples = {
        "sub_branches": ["SB01", "城东支行"],
        "outlets": [
            "SB01-01",
            "人民路网点",
            "SB01",
            "人民路100号",
            "Asia/Shanghai",
            "zh_CN",
            "31.230416",
            "121.473701",
            "cash_counter vip_room",
        ],
        "agencies": ["明镜服务质量咨询公司"],
        "accounts": ["zhang.wei", "张伟", "inspector", "明镜服务质量咨询公司", "", "", "yes"],
    }
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(KINDS[kind].columns)
    writer.writerow(examples[kind])
    return out.getvalue()
