"""What the plan screen shows, as plain values: the period's assignments (sorted, a page at a
time), each rule met or broken with what it involves, the workload per inspector and the
coverage of each sub-branch. Reads only."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopper.auth.models import Role, User
from shopper.core import planning
from shopper.inspections.models import Inspection
from shopper.org.models import Outlet, SubBranch
from shopper.periods import plan
from shopper.periods.models import Assignment, Period

PAGE = 200  # assignments per page: a bank's plan has thousands
SHOWN = 30  # outlets or inspectors named per rule; the rest are counted
# the add form suggests this many outlet codes at most (those a broken rule names first):
# every outlet of a bank (5 000 options) made the page 180 KB heavier; any code is checked
# by the server when the form is sent
SUGGESTED = 100
SORTS = {
    "outlet": lambda r: (r["outlet_code"], r["kind"], r["seq"]),
    "sub_branch": lambda r: (r["sub_branch_code"], r["outlet_code"], r["kind"]),
    "inspector": lambda r: (r["inspector"], r["outlet_code"]),
    "kind": lambda r: (r["kind"], r["outlet_code"]),
    "reinspection": lambda r: (not r["reinspection"], r["outlet_code"]),
    "last_score": lambda r: (r["last_score"] is None, r["last_score"] or 0, r["outlet_code"]),
    "status": lambda r: (r["status"] or "", r["outlet_code"]),
}


@dataclass(frozen=True)
class Board:
    period: dict[str, Any]
    rules: list[dict[str, Any]]
    assignments: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    sort: str
    descending: bool
    workload: list[dict[str, Any]]
    coverage: list[dict[str, Any]]
    picture: dict[str, Any]  # the coverage as an SVG's few paths (see coverage_picture)
    outlets: list[dict[str, str]]  # the add form's suggestions (at most SUGGESTED)
    inspectors: list[dict[str, Any]]
    unstarted: int


def build(
    session: Session,
    period: Period,
    config: Mapping[str, Any],
    *,
    sort: str = "outlet",
    descending: bool = False,
    page: int = 1,
) -> Board:
    given = plan.inputs(session, period, config)
    outlets = {
        o.id: o
        for o in session.execute(
            select(Outlet.id, Outlet.code, Outlet.name, Outlet.sub_branch_id).order_by(Outlet.code)
        )
    }
    sub_branches = {
        sb.id: sb for sb in session.execute(select(SubBranch.id, SubBranch.code, SubBranch.name))
    }
    users = {
        u.id: u
        for u in session.execute(
            select(User.id, User.display_name, User.role, User.sub_branch_id, User.active).where(
                User.role.in_([Role.INSPECTOR, Role.BANK_CHECKER])
            )
        )
    }
    rows = session.execute(
        select(
            Assignment.id,
            Assignment.outlet_id,
            Assignment.inspector_id,
            Assignment.kind,
            Assignment.reinspection,
            Assignment.seq,
            Inspection.status,
        )
        .outerjoin(Inspection, Inspection.assignment_id == Assignment.id)
        .where(Assignment.period_id == period.id)
    ).all()
    visits = [planning.Visit(r.outlet_id, r.inspector_id, r.kind, r.reinspection) for r in rows]
    results = planning.check(visits, given.outlets, given.inspectors, given.history, given.rules)

    def scope_name(user: Any) -> str:
        if user is None:
            return ""
        if user.role == Role.INSPECTOR:
            return "agency"
        return sub_branches[user.sub_branch_id].code if user.sub_branch_id else "head_office"

    table = []
    for r in rows:
        outlet = outlets[r.outlet_id]
        user = users.get(r.inspector_id)
        table.append(
            {
                "id": r.id,
                "outlet_code": outlet.code,
                "outlet": outlet.name,
                "sub_branch_code": sub_branches[outlet.sub_branch_id].code,
                "sub_branch": sub_branches[outlet.sub_branch_id].name,
                "inspector": user.display_name if user else str(r.inspector_id),
                "scope": scope_name(user),
                "kind": r.kind,
                "seq": r.seq,
                "reinspection": r.reinspection,
                "last_score": given.history.of(r.outlet_id).last_score,
                "status": r.status,
            }
        )
    sort = sort if sort in SORTS else "outlet"
    table.sort(key=SORTS[sort], reverse=descending)
    pages = max(1, -(-len(table) // PAGE))
    page = min(max(1, page), pages)

    names = {
        "outlet": {o.id: o.code for o in outlets.values()},
        "inspector": {u.id: u.display_name for u in users.values()},
        "sub_branch": {sb.id: f"{sb.code} {sb.name}" for sb in sub_branches.values()},
    }
    coverage = _coverage(visits, given, sub_branches)
    return Board(
        period=_period(period, given),
        rules=[_rule(r, given.rules, names) for r in results],
        assignments=table[(page - 1) * PAGE : page * PAGE],
        total=len(table),
        page=page,
        pages=pages,
        sort=sort,
        descending=descending,
        workload=_workload(visits, given, users, scope_name, results),
        coverage=coverage,
        picture=coverage_picture(coverage),
        outlets=_suggested(results, outlets),
        inspectors=[
            {"id": u.id, "name": u.display_name, "scope": scope_name(u)}
            for u in sorted(users.values(), key=lambda u: (u.role, u.display_name))
            if u.active
        ],
        unstarted=sum(1 for r in rows if r.status is None),
    )


def _period(period: Period, given: plan.Inputs) -> dict[str, Any]:
    rules = given.rules
    return {
        "id": period.id,
        "code": period.code,
        "state": period.state,
        "starts_on": period.starts_on.isoformat(),
        "ends_on": period.ends_on.isoformat(),
        "previous": given.previous.code if given.previous else None,
        "coverage_percent": percent(rules.coverage_share),
        "video_checks_per_outlet": rules.video_checks_per_outlet,
        "reinspection_below": rules.reinspection_below,
        "workload_tolerance": rules.workload_tolerance,
        "periods_left": rules.periods_left,
        "own": {
            "coverage": period.coverage_share is not None,
            "video": period.video_checks_per_outlet is not None,
            "below": period.reinspection_below is not None,
        },
        "override_reason": period.override_reason,
        "outlets": len(given.outlets),
    }


def percent(share: Decimal) -> str:
    value = (share * 100).normalize()
    return f"{value:f}"


def _named(ids: tuple[int, ...], names: Mapping[int, str]) -> dict[str, Any]:
    return {
        "names": [names.get(i, str(i)) for i in ids[:SHOWN]],
        "more": max(0, len(ids) - SHOWN),
    }


def _rule(
    result: planning.RuleResult, rules: planning.Rules, names: Mapping[str, Mapping[int, str]]
) -> dict[str, Any]:
    return {
        "rule": result.rule.value,
        "met": result.met,
        "required": result.required,
        "actual": result.actual,
        "outlets": _named(result.outlet_ids, names["outlet"]),
        "inspectors": _named(result.inspector_ids, names["inspector"]),
        "sub_branches": _named(result.sub_branch_ids, names["sub_branch"]),
        "visits": [
            f"{names['outlet'].get(v.outlet_id, v.outlet_id)} · "
            f"{names['inspector'].get(v.inspector_id, v.inspector_id)}"
            for v in result.visits[:SHOWN]
        ],
        "more_visits": max(0, len(result.visits) - SHOWN),
        "params": {
            "share": percent(rules.coverage_share),
            "per": rules.video_checks_per_outlet,
            "below": rules.reinspection_below,
            "left": rules.periods_left,
        },
    }


def _workload(
    visits: list[planning.Visit],
    given: plan.Inputs,
    users: Mapping[int, Any],
    scope_name: Any,
    results: list[planning.RuleResult],
) -> list[dict[str, Any]]:
    load: defaultdict[int, Counter[str]] = defaultdict(Counter)
    for v in visits:
        load[v.inspector_id][v.kind] += 1
    workload = next(r for r in results if r.rule == planning.Rule.WORKLOAD)
    involved = set(workload.inspector_ids)
    known = {i.id for i in given.inspectors}
    rows = []
    for inspector_id in known | load.keys():
        user = users.get(inspector_id)
        rows.append(
            {
                "name": user.display_name if user else str(inspector_id),
                "scope": scope_name(user),
                "mystery": load[inspector_id]["mystery"],
                "video": load[inspector_id]["video"],
                "total": sum(load[inspector_id].values()),
                "out_of_balance": inspector_id in involved,
                "inactive": inspector_id not in known,
            }
        )
    order = {"agency": 0, "head_office": 1}
    rows.sort(key=lambda r: (order.get(r["scope"], 2), r["scope"], r["name"]))
    return rows


def _coverage(
    visits: list[planning.Visit], given: plan.Inputs, sub_branches: Mapping[int, Any]
) -> list[dict[str, Any]]:
    """Per sub-branch: each outlet visited by the agency or not, due a re-inspection, and
    whether it has its video checks."""
    mystery = {v.outlet_id for v in visits if v.kind == "mystery"}
    reinspected = {v.outlet_id for v in visits if v.kind == "mystery" and v.reinspection}
    videos = Counter(v.outlet_id for v in visits if v.kind == "video")
    need = given.rules.video_checks_per_outlet
    below = given.rules.reinspection_below
    groups: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
    for o in given.outlets:
        score = given.history.of(o.id).last_score
        due = score is not None and score < below
        groups[o.sub_branch_id].append(
            {
                "visited": o.id in mystery,
                "due": due,
                "reinspected": o.id in reinspected,
                "videos_done": videos[o.id] >= need,
            }
        )
    rows = []
    for sb_id, cells in groups.items():
        sb = sub_branches[sb_id]
        rows.append(
            {
                "code": sb.code,
                "name": sb.name,
                "cells": cells,
                "outlets": len(cells),
                "visited": sum(c["visited"] for c in cells),
                "due": sum(c["due"] for c in cells),
                "reinspected": sum(c["due"] and c["reinspected"] for c in cells),
                "videos_done": sum(c["videos_done"] for c in cells),
            }
        )
    rows.sort(key=lambda r: r["code"])
    return rows


def _suggested(
    results: list[planning.RuleResult], outlets: Mapping[int, Any]
) -> list[dict[str, str]]:
    """The add form's outlet suggestions: the outlets broken rules name (re-inspections
    and coverage first, as the rules come), else the first by code; at most SUGGESTED."""
    chosen: dict[int, None] = {}
    for result in results:
        if not result.met:
            for outlet_id in result.outlet_ids:
                if outlet_id in outlets:
                    chosen.setdefault(outlet_id)
    ids = list(chosen)[:SUGGESTED] if chosen else list(outlets)[:SUGGESTED]
    return [{"code": outlets[i].code, "name": outlets[i].name} for i in ids]


def coverage_picture(coverage: list[dict[str, Any]]) -> dict[str, Any]:
    """The coverage picture's geometry: a square per outlet in rows per sub-branch, drawn
    as one SVG path per kind of square (and one for the short-of-video-checks dots), not an
    element per outlet: 5 000 outlets made 900 KB of <rect>s and <circle>s, the paths
    about 150 KB."""
    widest = max((sb["outlets"] for sb in coverage), default=1)
    cell, gap = (18, 3) if widest <= 40 else (9, 2)
    label_w, row_h, per_row = 60, cell + 6, min(widest, 80)
    paths: defaultdict[str, list[str]] = defaultdict(list)
    dots: list[str] = []
    labels = []
    y0 = 4
    for sb in coverage:
        labels.append({"x": 0, "y": y0 + cell - 2, "code": sb["code"]})
        for n, c in enumerate(sb["cells"]):
            x = label_w + (n % per_row) * (cell + gap)
            y = y0 + (n // per_row) * row_h
            kind = "cell " + ("visited" if c["visited"] else "not-visited")
            if c["due"]:
                kind += " due" if c["reinspected"] else " due missed"
            paths[kind].append(f"M{x} {y}h{cell}v{cell}h-{cell}z")
            if not c["videos_done"]:  # a dot: a zero-length line with round caps
                dots.append(f"M{x + cell / 2:g} {y + cell / 2:g}h0")
        y0 += ((max(sb["outlets"], 1) - 1) // per_row + 1) * row_h
    return {
        "width": label_w + per_row * (cell + gap),
        "height": y0 + 4,
        "labels": labels,
        "paths": [{"class": k, "d": "".join(v)} for k, v in sorted(paths.items())],
        "dots": "".join(dots),
        "dot_width": 2 * cell / 5,
    }
