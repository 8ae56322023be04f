"""A period's plan on the database: the core's eight rules (`shopper.core.planning`) fed
from the organisation, last period's results and this year's visits.

What the rules are given:
- outlets: every outlet, with its sub-branch;
- inspectors: the active agency inspectors, and the active bank checkers with their scope
  (no sub-branch: head office's, who may check every outlet);
- history, from the *previous period* (the latest one that starts before this one, by dates,
  whatever its state): each outlet's latest released mystery-visit score there
  (`Inspection.score` already holds the latest revised score), and the agency inspector who
  visited it (the inspected assignment if any, else the last one assigned); and the outlet's
  agency visits in the earlier periods of the same year (a closed period counts what was
  inspected: submitted or released; one still planned or open counts what is assigned);
- rules: the period's own thresholds, else the configured defaults (SHOPPER_COVERAGE_SHARE,
  SHOPPER_VIDEO_CHECKS_PER_OUTLET, SHOPPER_REINSPECTION_BELOW, SHOPPER_WORKLOAD_TOLERANCE),
  and the periods left in the year, this one included (`periods_left`).

Functions `flush()` and never commit.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, exists, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from shopper.auth.models import Role, User
from shopper.core import planning
from shopper.db import utcnow
from shopper.inspections.models import Inspection, Status
from shopper.org.models import Outlet
from shopper.periods import service as periods
from shopper.periods.models import Assignment, AssignmentKind, Period, PeriodState
from shopper.refusals import Refused
from shopper.results import service as results

QUARTER = re.compile(r"(\d{4})Q([1-4])")
QUARTERS_A_YEAR = 4


# --- the rules' inputs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    coverage_share: Decimal
    video_checks_per_outlet: int
    reinspection_below: Decimal
    workload_tolerance: int


def _decimal(value: object, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{name} must be a number, not {value!r}") from None


# the configuration's defaults (shopper.config), for a configuration that lacks them
DEFAULTS = {
    "COVERAGE_SHARE": "0.60",
    "VIDEO_CHECKS_PER_OUTLET": 2,
    "REINSPECTION_BELOW": "85",
    "WORKLOAD_TOLERANCE": 1,
}


def thresholds(period: Period, config: Mapping[str, Any]) -> Thresholds:
    """The period's own thresholds where it has them, else the configured defaults."""
    config = {**DEFAULTS, **{k: v for k, v in config.items() if k in DEFAULTS}}
    return Thresholds(
        coverage_share=_decimal(
            period.coverage_share
            if period.coverage_share is not None
            else config["COVERAGE_SHARE"],
            "COVERAGE_SHARE",
        ),
        video_checks_per_outlet=int(
            period.video_checks_per_outlet
            if period.video_checks_per_outlet is not None
            else config["VIDEO_CHECKS_PER_OUTLET"]
        ),
        reinspection_below=_decimal(
            period.reinspection_below
            if period.reinspection_below is not None
            else config["REINSPECTION_BELOW"],
            "REINSPECTION_BELOW",
        ),
        workload_tolerance=int(config["WORKLOAD_TOLERANCE"]),
    )


def year_of(period: Period) -> int:
    """The year a period belongs to: the code's (2026Q4 → 2026), else its first day's."""
    match = QUARTER.fullmatch(period.code)
    return int(match.group(1)) if match else period.starts_on.year


def periods_left(period: Period) -> int:
    """Periods left in the year, this one included (the yearly-coverage rule needs it).

    A quarter's code says it: 2026Q1 → 4, 2026Q4 → 1. Any other code: the days left in
    the year from the period's first day over the period's length, rounded (a month → 12
    in January), at least 1.
    """
    match = QUARTER.fullmatch(period.code)
    if match:
        return QUARTERS_A_YEAR - int(match.group(2)) + 1
    days = (period.ends_on - period.starts_on).days + 1
    rest = (date(period.starts_on.year, 12, 31) - period.starts_on).days + 1
    return max(1, round(rest / days))


def rules(period: Period, config: Mapping[str, Any]) -> planning.Rules:
    t = thresholds(period, config)
    return planning.Rules(
        periods_left=periods_left(period),
        coverage_share=t.coverage_share,
        video_checks_per_outlet=t.video_checks_per_outlet,
        reinspection_below=t.reinspection_below,
        workload_tolerance=t.workload_tolerance,
    )


def previous_period(session: Session, period: Period) -> Period | None:
    """The latest period that starts before this one (by dates)."""
    return session.scalar(
        select(Period)
        .where(Period.starts_on < period.starts_on, Period.id != period.id)
        .order_by(Period.starts_on.desc(), Period.id.desc())
        .limit(1)
    )


def outlets(session: Session) -> list[planning.Outlet]:
    rows = session.execute(select(Outlet.id, Outlet.sub_branch_id).order_by(Outlet.id))
    return [planning.Outlet(id, sub_branch_id) for id, sub_branch_id in rows]


def inspectors(session: Session) -> list[planning.Inspector]:
    """Active agency inspectors, and active bank checkers with their scope."""
    rows = session.execute(
        select(User.id, User.role, User.sub_branch_id)
        .where(User.active.is_(True), User.role.in_([Role.INSPECTOR, Role.BANK_CHECKER]))
        .order_by(User.id)
    )
    return [
        planning.Inspector(id, "agency")
        if role == Role.INSPECTOR
        else planning.Inspector(id, "bank", sub_branch_id)
        for id, role, sub_branch_id in rows
    ]


def last_scores(
    session: Session, period: Period | None, outlet_ids: Iterable[int] | None = None
) -> dict[int, Decimal]:
    """Each outlet's latest released mystery-visit score in `period` (revised if revised)."""
    if period is None:
        return {}
    query = select(Inspection.outlet_id, Inspection.score)
    if outlet_ids is not None:
        query = query.where(Inspection.outlet_id.in_(list(outlet_ids)))
    rows = session.execute(
        query.join(Assignment, Inspection.assignment_id == Assignment.id)
        .where(
            Inspection.period_id == period.id,
            Inspection.status == Status.RELEASED,
            Inspection.score.is_not(None),
            Assignment.kind == AssignmentKind.MYSTERY,
        )
        .order_by(Inspection.released_at, Inspection.id)
    )
    return {outlet_id: Decimal(score) for outlet_id, score in rows}  # the latest wins


def last_scores_of(
    session: Session, period: Period, outlet_ids: Iterable[int]
) -> dict[int, Decimal]:
    """The previous period's scores (as `last_scores`) of these outlets only."""
    ids = set(outlet_ids)
    if not ids:
        return {}
    previous = previous_period(session, period)
    return last_scores(session, previous, ids)


def _last_agency_inspectors(session: Session, period: Period | None) -> dict[int, int]:
    if period is None:
        return {}
    inspected = exists().where(Inspection.assignment_id == Assignment.id)
    rows = session.execute(
        select(Assignment.outlet_id, Assignment.inspector_id)
        .join(User, Assignment.inspector_id == User.id)
        .where(
            Assignment.period_id == period.id,
            Assignment.kind == AssignmentKind.MYSTERY,
            User.role == Role.INSPECTOR,
        )
        .order_by(inspected, Assignment.id)  # an inspected one beats one only assigned
    )
    return {outlet_id: inspector_id for outlet_id, inspector_id in rows}


def _visited_this_year(session: Session, period: Period) -> dict[int, set[str]]:
    """Outlet id → codes of this year's earlier periods in which the agency visited it."""
    year = year_of(period)
    earlier = [
        p
        for p in session.scalars(select(Period).where(Period.starts_on < period.starts_on))
        if year_of(p) == year and p.id != period.id
    ]
    if not earlier:
        return {}
    codes = {p.id: p.code for p in earlier}
    closed = [p.id for p in earlier if p.state == PeriodState.CLOSED]
    others = [p.id for p in earlier if p.state != PeriodState.CLOSED]
    visited: defaultdict[int, set[str]] = defaultdict(set)
    if closed:
        rows = session.execute(
            select(Inspection.outlet_id, Inspection.period_id)
            .join(Assignment, Inspection.assignment_id == Assignment.id)
            .where(
                Inspection.period_id.in_(closed),
                Inspection.status.in_([Status.SUBMITTED, Status.RELEASED]),
                Assignment.kind == AssignmentKind.MYSTERY,
            )
            .distinct()
        )
        for outlet_id, period_id in rows:
            visited[outlet_id].add(codes[period_id])
    if others:
        rows = session.execute(
            select(Assignment.outlet_id, Assignment.period_id)
            .where(Assignment.period_id.in_(others), Assignment.kind == AssignmentKind.MYSTERY)
            .distinct()
        )
        for outlet_id, period_id in rows:
            visited[outlet_id].add(codes[period_id])
    return visited


def history(session: Session, period: Period, previous: Period | None) -> planning.History:
    scores = last_scores(session, previous)
    agency = _last_agency_inspectors(session, previous)
    visited = _visited_this_year(session, period)
    ids = scores.keys() | agency.keys() | visited.keys()
    return planning.History(
        {
            o: planning.OutletHistory(
                last_score=scores.get(o),
                last_agency_inspector_id=agency.get(o),
                visited_this_year=frozenset(visited.get(o, ())),
            )
            for o in ids
        }
    )


@dataclass(frozen=True)
class Inputs:
    """Everything the core's rules take for one period."""

    outlets: list[planning.Outlet]
    inspectors: list[planning.Inspector]
    history: planning.History
    rules: planning.Rules
    previous: Period | None


def inputs(session: Session, period: Period, config: Mapping[str, Any] | None = None) -> Inputs:
    config = _config(config)
    previous = previous_period(session, period)
    return Inputs(
        outlets(session),
        inspectors(session),
        history(session, period, previous),
        rules(period, config),
        previous,
    )


def _config(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if config is not None:
        return config
    from flask import current_app  # the application's configuration, when none is given

    return current_app.config


# --- the period's plan ---------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """One assignment of the period as the rules see it."""

    assignment_id: int
    visit: planning.Visit
    seq: int
    started: bool


def planned(session: Session, period: Period, *, started_only: bool = False) -> list[Planned]:
    """The period's assignments in id order, each marked started when inspected."""
    query = (
        select(
            Assignment.id,
            Assignment.outlet_id,
            Assignment.inspector_id,
            Assignment.kind,
            Assignment.reinspection,
            Assignment.seq,
            Inspection.id,
        )
        .where(Assignment.period_id == period.id)
        .order_by(Assignment.id)
    )
    if started_only:
        query = query.join(Inspection, Inspection.assignment_id == Assignment.id)
    else:
        query = query.outerjoin(Inspection, Inspection.assignment_id == Assignment.id)
    Visit = planning.Visit
    return [
        Planned(id, Visit(outlet_id, inspector_id, kind, reinspection), seq, inspection is not None)
        for id, outlet_id, inspector_id, kind, reinspection, seq, inspection in session.execute(
            query
        )
    ]


def check_for(
    session: Session, period: Period, config: Mapping[str, Any] | None = None
) -> list[planning.RuleResult]:
    """Every rule, met or broken, for the period's assignments as they stand."""
    given = inputs(session, period, config)
    visits = [p.visit for p in planned(session, period)]
    return planning.check(visits, given.outlets, given.inspectors, given.history, given.rules)


@dataclass(frozen=True)
class Proposal:
    kept: int  # assignments already started, kept as they are
    removed: int  # unstarted assignments replaced
    added: int
    results: list[planning.RuleResult] = field(default_factory=list)

    @property
    def broken(self) -> list[str]:
        return [r.rule.value for r in self.results if not r.met]


def lock(session: Session, period: Period) -> None:
    """Hold the period's row for this transaction (PostgreSQL: FOR UPDATE), so an
    inspection that starts meanwhile (it reads the row FOR SHARE) waits for the plan."""
    session.execute(select(Period.id).where(Period.id == period.id).with_for_update())


def propose_for(
    session: Session, period: Period, seed: int = 0, config: Mapping[str, Any] | None = None
) -> Proposal:
    """Replace the period's unstarted assignments by a proposed plan, in this transaction.

    Assignments already started are kept and count for the rules: the proposal leaves out
    what they already give (an outlet's agency visit, some of its video checks) and then
    evens the loads out again. Deterministic for a seed. Raises Refused("period_closed_plan",
    409) for a closed period.
    """
    if period.state == PeriodState.CLOSED:
        raise Refused("period_closed_plan", 409, period=period.code)
    lock(session, period)
    given = inputs(session, period, config)
    kept = planned(session, period, started_only=True)
    proposed = planning.propose(
        given.outlets, given.inspectors, given.history, given.rules, seed=seed
    )
    added = _around(kept, proposed, given)
    removed = (
        session.execute(
            delete(Assignment)
            .where(
                Assignment.period_id == period.id,
                ~exists().where(Inspection.assignment_id == Assignment.id),
            )
            .returning(Assignment.id)
            .execution_options(synchronize_session=False)
        )
        .scalars()
        .all()
    )
    for assignment_id in removed:  # what the session held of them is gone
        loaded = session.identity_map.get(identity_key(Assignment, assignment_id))
        if loaded is not None:
            session.expunge(loaded)
    seqs: Counter[tuple[int, int, str]] = Counter(
        (p.visit.outlet_id, p.visit.inspector_id, p.visit.kind) for p in kept
    )
    rows = []
    for visit in added:
        key = (visit.outlet_id, visit.inspector_id, visit.kind)
        seqs[key] += 1
        rows.append(
            {
                "period_id": period.id,
                "outlet_id": visit.outlet_id,
                "inspector_id": visit.inspector_id,
                "kind": visit.kind,
                "reinspection": visit.reinspection,
                "seq": seqs[key],
            }
        )
    _insert(session, rows)
    session.flush()
    plan = [p.visit for p in kept] + added
    results = planning.check(plan, given.outlets, given.inspectors, given.history, given.rules)
    return Proposal(len(kept), len(removed), len(added), results)


COLUMNS = ("period_id", "outlet_id", "inspector_id", "kind", "reinspection", "seq")
# PostgreSQL: one INSERT … SELECT FROM unnest(arrays) — thousands of rows in one statement
# (a row-by-row executemany, or multi-row VALUES, costs seconds there for a bank's plan).
# The arrays go as text literals built here: psycopg's list dumper checks every element
# (a regular expression per string) and costs more than the statement's own parsing.
UNNEST = text(
    "INSERT INTO assignments (period_id, outlet_id, inspector_id, kind, reinspection, seq)"
    " SELECT * FROM unnest(CAST(:period_id AS integer[]), CAST(:outlet_id AS integer[]),"
    " CAST(:inspector_id AS integer[]), CAST(:kind AS varchar[]),"
    " CAST(:reinspection AS boolean[]), CAST(:seq AS integer[]))"
)
_KINDS = frozenset(AssignmentKind)


def _array(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal of ints, booleans or assignment kinds (none needs quoting)."""
    out = []
    for value in values:
        if isinstance(value, bool):
            out.append("t" if value else "f")
        elif isinstance(value, int) or value in _KINDS:
            out.append(str(value))
        else:
            raise ValueError(f"not an assignment column value: {value!r}")
    return "{" + ",".join(out) + "}"


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(UNNEST, {c: _array(row[c] for row in rows) for c in COLUMNS})
    else:  # SQLite: executemany of one prepared statement is fast
        session.execute(insert(Assignment.__table__), rows)


def _around(
    kept: Sequence[Planned], proposed: Sequence[planning.Visit], given: Inputs
) -> list[planning.Visit]:
    """The proposed visits that the kept ones do not already make, with loads evened out."""
    have_mystery = {p.visit.outlet_id for p in kept if p.visit.kind == "mystery"}
    videos_kept = Counter(p.visit.outlet_id for p in kept if p.visit.kind == "video")
    added: list[planning.Visit] = []
    for visit in proposed:
        if visit.kind == "mystery":
            if visit.outlet_id in have_mystery:
                continue
        elif videos_kept[visit.outlet_id] > 0:
            videos_kept[visit.outlet_id] -= 1
            continue
        added.append(visit)
    if not kept:
        return added  # the proposal as it is: already balanced
    by_id = {i.id: i for i in given.inspectors}
    outlets = {o.id: o for o in given.outlets}
    agency = [i.id for i in given.inspectors if i.kind == "agency"]
    scopes: defaultdict[int | None, list[int]] = defaultdict(list)
    for i in given.inspectors:
        if i.kind == "bank":
            scopes[i.scope].append(i.id)
    fixed = [p.visit for p in kept]
    tolerance = given.rules.workload_tolerance
    _even_out(added, fixed, agency, "mystery", tolerance, given.history, by_id, outlets)
    for group in scopes.values():
        _even_out(added, fixed, group, "video", tolerance, given.history, by_id, outlets)
    return added


def _even_out(
    added: list[planning.Visit],
    fixed: Iterable[planning.Visit],
    group: list[int],
    kind: str,
    tolerance: int,
    history: planning.History,
    by_id: Mapping[int, planning.Inspector],
    outlets: Mapping[int, planning.Outlet],
) -> None:
    """Move added visits from the busiest to the idlest inspector of the group while the
    spread is over the tolerance and a move keeps rotation and scope."""
    if len(group) < 2:
        return
    members = set(group)
    load = Counter({i: 0 for i in group})
    for visit in [*fixed, *added]:
        if visit.inspector_id in members:
            load[visit.inspector_id] += 1
    for _ in range(len(added) + 1):
        busiest = max(group, key=lambda i: (load[i], -i))
        idlest = min(group, key=lambda i: (load[i], i))
        if load[busiest] - load[idlest] <= tolerance:
            return
        for n, visit in enumerate(added):
            if visit.inspector_id != busiest or visit.kind != kind:
                continue
            if kind == "mystery":
                if history.of(visit.outlet_id).last_agency_inspector_id == idlest:
                    continue
            elif not by_id[idlest].covers(outlets[visit.outlet_id]):
                continue
            added[n] = planning.Visit(visit.outlet_id, idlest, visit.kind, visit.reinspection)
            load[busiest] -= 1
            load[idlest] += 1
            break
        else:
            return  # nothing can move: the rule stays broken and the screen says so


# --- by hand -------------------------------------------------------------------------------


def add(
    session: Session,
    period: Period,
    outlet_id: int | None,
    inspector_id: int | None,
    kind: str,
    reinspection: bool,
) -> Assignment:
    """One assignment made by hand. Raises Refused for a closed period, an unknown outlet
    or inspector, or an inspector of the wrong kind (a mystery visit is the agency's, a
    video check a bank checker's whose scope covers the outlet, never a re-inspection)."""
    if period.state == PeriodState.CLOSED:
        raise Refused("period_closed_plan", 409, period=period.code)
    if kind not in set(AssignmentKind):
        raise Refused("plan_bad_kind")
    outlet = session.get(Outlet, outlet_id) if outlet_id else None
    if outlet is None:
        raise Refused("plan_unknown_outlet")
    inspector = session.get(User, inspector_id) if inspector_id else None
    if inspector is None or not inspector.active:
        raise Refused("plan_unknown_inspector")
    if kind == AssignmentKind.MYSTERY and inspector.role != Role.INSPECTOR:
        raise Refused("plan_mystery_needs_agency")
    if kind == AssignmentKind.VIDEO:
        if inspector.role != Role.BANK_CHECKER:
            raise Refused("plan_video_needs_checker")
        if inspector.sub_branch_id not in (None, outlet.sub_branch_id):
            raise Refused("plan_checker_out_of_scope", 400, outlet=outlet.code)
        if reinspection:
            raise Refused("plan_video_not_reinspection")
    lock(session, period)
    seq = session.scalar(
        select(Assignment.seq)
        .where(
            Assignment.period_id == period.id,
            Assignment.outlet_id == outlet.id,
            Assignment.inspector_id == inspector.id,
            Assignment.kind == kind,
        )
        .order_by(Assignment.seq.desc())
        .limit(1)
    )
    assignment = Assignment(
        period_id=period.id,
        outlet_id=outlet.id,
        inspector_id=inspector.id,
        kind=kind,
        reinspection=reinspection,
        seq=(seq or 0) + 1,
    )
    session.add(assignment)
    session.flush()
    return assignment


def remove(session: Session, period: Period, assignment_id: int) -> Assignment:
    """Delete an unstarted assignment of the period. Raises Refused("not_found", 404) for
    one of another period, Refused("assignment_started", 409) once inspected."""
    if period.state == PeriodState.CLOSED:
        raise Refused("period_closed_plan", 409, period=period.code)
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.period_id != period.id:
        raise Refused("not_found", 404)
    lock(session, period)
    started = exists().where(Inspection.assignment_id == assignment.id)
    if session.scalar(select(started)):
        raise Refused("assignment_started", 409)
    session.delete(assignment)
    session.flush()
    return assignment


# --- open and close ------------------------------------------------------------------------

MAX_REASON = 2000


def open_period(
    session: Session,
    user: User,
    period: Period,
    reason: str = "",
    config: Mapping[str, Any] | None = None,
) -> list[planning.RuleResult]:
    """Open a planned period: it becomes the current one, whose assignments the phones show.

    Only one period is open at a time: Refused("period_other_open", 409) while another is
    (close it first). A plan that breaks a rule opens only with head office's reason, which
    is kept on the period: Refused("plan_override_required", 409) without one. Returns the
    rules as they were judged.
    """
    if period.state != PeriodState.PLANNED:
        raise Refused("period_not_planned", 409, period=period.code)
    lock(session, period)
    other = session.scalar(
        select(Period.code).where(Period.state == PeriodState.OPEN, Period.id != period.id)
    )
    if other is not None:
        raise Refused("period_other_open", 409, period=period.code, other=other)
    results = check_for(session, period, config)
    broken = [r for r in results if not r.met]
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise Refused("reason_too_long", 400, limit=MAX_REASON)
    if broken and not reason:
        raise Refused("plan_override_required", 409, period=period.code, count=len(broken))
    period.state = PeriodState.OPEN
    period.opened_at = utcnow()
    period.opened_by_id = user.id
    period.override_reason = reason if broken else None
    session.flush()
    periods.make_current(session, period)
    return results


@dataclass(frozen=True)
class Pending:
    """A period's inspections that closing leaves behind: drafts never count, and those
    submitted but not released are not in its frozen results."""

    drafts: list[Inspection]
    waiting: list[Inspection]

    @property
    def any(self) -> bool:
        return bool(self.drafts or self.waiting)


def pending(session: Session, period: Period) -> Pending:
    rows = list(
        session.scalars(
            select(Inspection)
            .where(
                Inspection.period_id == period.id,
                Inspection.status.in_([Status.DRAFT, Status.SUBMITTED]),
            )
            .order_by(Inspection.id)
        )
    )
    return Pending(
        [i for i in rows if i.status == Status.DRAFT],
        [i for i in rows if i.status == Status.SUBMITTED],
    )


def close_period(
    session: Session,
    user: User,
    period: Period,
    *,
    confirmed: bool,
    config: Mapping[str, Any] | None = None,
) -> Pending:
    """Close an open period: no inspection starts or is submitted in it any more, and its
    results are frozen (`shopper.results.service.freeze`). With drafts or inspections
    waiting for release left, only once `confirmed`: Refused("period_close_pending", 409)
    otherwise. Those drafts can no longer be submitted; those waiting may still be
    released or returned by head office, outside the frozen ranking."""
    if period.state != PeriodState.OPEN:
        raise Refused("period_not_open", 409, period=period.code)
    lock(session, period)
    left = pending(session, period)
    if left.any and not confirmed:
        raise Refused(
            "period_close_pending",
            409,
            period=period.code,
            drafts=len(left.drafts),
            waiting=len(left.waiting),
        )
    period.state = PeriodState.CLOSED
    period.is_current = False
    period.closed_at = utcnow()
    period.closed_by_id = user.id
    session.flush()
    results.freeze(session, period, results.Settings.from_config(_config(config)))
    return left
