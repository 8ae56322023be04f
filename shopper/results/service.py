"""Results: stored when an inspection is released or revised, read by the pages, the
exports and the period report.

`record(session, inspection)` keeps the stored rows right (idempotent: it recomputes);
`rankings`, `weak_indicators` and the trend functions only read them. A closed period's
rankings come from the snapshot `freeze` took when it closed; a score revised after that
is shown beside the frozen one and never moves the frozen ranking. Functions `flush()` and
never commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from sqlalchemy import (
    Integer,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from shopper.checklists.models import ChecklistVersion
from shopper.core import ranking, scoring
from shopper.inspections.models import Answer, Inspection, Status
from shopper.notices.models import Finding, FindingStatus
from shopper.org.models import Outlet, SubBranch
from shopper.periods.models import Assignment, Period
from shopper.results.models import FrozenOutlet, FrozenResult, ItemResult, OutletResult

KINDS = ("mystery", "video")


@dataclass(frozen=True)
class Settings:
    bands: tuple[scoring.Band, ...]
    video_weight: Decimal = Decimal(0)
    recognition_top: int = 5
    review_count: int = 3  # sub-branches called to the review meeting

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        weight = Decimal(str(config.get("VIDEO_WEIGHT") or 0))
        if not 0 <= weight <= 1:
            raise ValueError("SHOPPER_VIDEO_WEIGHT must be between 0 and 1")
        return cls(
            bands=scoring.bands_from_config(config["SCORE_BANDS"], config.get("RED_LINE_BAND")),
            video_weight=weight,
            recognition_top=int(config.get("RECOGNITION_TOP", 5)),
            review_count=int(config.get("REVIEW_SUB_BRANCHES", 3)),
        )

    @classmethod
    def current(cls) -> Settings:
        """From the running application's configuration, else the defaults."""
        from flask import current_app, has_app_context

        if has_app_context():
            return cls.from_config(current_app.config)
        from shopper.config import DEFAULT_BANDS

        return cls.from_config({"SCORE_BANDS": DEFAULT_BANDS})


# ---- stored on release and revision ---------------------------------------------------


def record(session: Session, inspection: Inspection, settings: Settings | None = None) -> None:
    """Bring the stored results of the inspection's outlet and sub-branch in its period up to
    date. Idempotent: it recomputes them from the released inspections (with their latest
    revised scores and withdrawn findings), so calling it twice, or for an inspection that
    is not released, is harmless. Serialised per sub-branch by locking its row."""
    settings = settings or Settings.current()
    session.flush()
    outlet = session.get(Outlet, inspection.outlet_id)
    assert outlet is not None
    session.execute(
        select(SubBranch.id).where(SubBranch.id == outlet.sub_branch_id).with_for_update()
    )
    _record_outlet(session, inspection.period_id, outlet, settings)
    _record_items(session, inspection.period_id, outlet.sub_branch_id)
    session.flush()


def outlet_inspections_statement(period_id: int, outlet_id: int):
    """The outlet's released, scored inspections of the period, with their kind."""
    return (
        select(
            Assignment.kind, Inspection.score, Inspection.red_line_failed, Assignment.reinspection
        )
        .join(Assignment, Assignment.id == Inspection.assignment_id)
        .where(
            Inspection.period_id == period_id,
            Inspection.outlet_id == outlet_id,
            Inspection.status == Status.RELEASED,
            Inspection.score.is_not(None),
        )
    )


def _ranking_columns(figures: ranking.OutletFigures, settings: Settings) -> dict[str, Any]:
    """The stored ranking score, band, band order and counted red line of an outlet."""
    scored = ranking.outlet_score(figures, settings.bands, settings.video_weight)
    order = {b.code: n for n, b in enumerate(settings.bands)}
    return {
        "score": scored.score,
        "band": scored.band,
        "band_order": None if scored.band is None else order[scored.band],
        "red_line": scored.score is not None
        and (
            figures.mystery_red_line
            or (settings.video_weight > 0 and figures.video_count > 0 and figures.video_red_line)
        ),
    }


def _record_outlet(session: Session, period_id: int, outlet: Outlet, settings: Settings) -> None:
    rows = session.execute(outlet_inspections_statement(period_id, outlet.id)).all()
    session.execute(
        delete(OutletResult).where(
            OutletResult.period_id == period_id, OutletResult.outlet_id == outlet.id
        )
    )
    if not rows:
        return
    mystery = [r for r in rows if r.kind != "video"]
    video = [r for r in rows if r.kind == "video"]
    figures = ranking.OutletFigures(
        outlet.id,
        outlet.sub_branch_id,
        sum((r.score for r in mystery), Decimal(0)),
        len(mystery),
        any(r.red_line_failed for r in mystery),
        sum((r.score for r in video), Decimal(0)),
        len(video),
        any(r.red_line_failed for r in video),
        any(r.reinspection for r in mystery),
    )
    session.add(
        OutletResult(
            period_id=period_id,
            outlet_id=outlet.id,
            sub_branch_id=outlet.sub_branch_id,
            mystery_sum=figures.mystery_sum,
            mystery_count=figures.mystery_count,
            mystery_red_line=figures.mystery_red_line,
            video_sum=figures.video_sum,
            video_count=figures.video_count,
            video_red_line=figures.video_red_line,
            reinspection=figures.reinspection,
            **_ranking_columns(figures, settings),
        )
    )


def _withdrawn():
    return exists().where(
        Finding.inspection_id == Answer.inspection_id,
        Finding.checklist_version_id == Answer.checklist_version_id,
        Finding.item_code == Answer.item_code,
        Finding.status == FindingStatus.WITHDRAWN,
    )


def item_counts_query(period_id: int, sub_branch_id: int | None = None):
    """(period, sub-branch, kind, checklist, item, applied, failed) recomputed from answers."""
    kind = case((Assignment.kind == "video", literal("video")), else_=literal("mystery"))
    failed = func.sum(case((and_(Answer.result == "fail", ~_withdrawn()), 1), else_=0))
    query = (
        select(
            Inspection.period_id,
            Outlet.sub_branch_id,
            kind.label("kind"),
            ChecklistVersion.code,
            Answer.item_code,
            func.count().label("applied"),
            failed.label("failed"),
        )
        .select_from(Answer)
        .join(Inspection, Inspection.id == Answer.inspection_id)
        .join(Outlet, Outlet.id == Inspection.outlet_id)
        .join(Assignment, Assignment.id == Inspection.assignment_id)
        .join(ChecklistVersion, ChecklistVersion.id == Answer.checklist_version_id)
        .where(
            Inspection.period_id == period_id,
            Inspection.status == Status.RELEASED,
            Answer.result != "na",
        )
        .group_by(
            Inspection.period_id,
            Outlet.sub_branch_id,
            kind,
            ChecklistVersion.code,
            Answer.item_code,
        )
    )
    if sub_branch_id is not None:
        query = query.where(Outlet.sub_branch_id == sub_branch_id)
    return query


ITEM_COLUMNS = (
    "period_id",
    "sub_branch_id",
    "kind",
    "checklist_code",
    "item_code",
    "applied",
    "failed",
)


def _record_items(session: Session, period_id: int, sub_branch_id: int | None) -> None:
    gone = delete(ItemResult).where(ItemResult.period_id == period_id)
    if sub_branch_id is not None:
        gone = gone.where(ItemResult.sub_branch_id == sub_branch_id)
    session.execute(gone)
    session.execute(
        insert(ItemResult).from_select(ITEM_COLUMNS, item_counts_query(period_id, sub_branch_id))
    )


OUTLET_COLUMNS = (
    "period_id",
    "outlet_id",
    "sub_branch_id",
    "mystery_sum",
    "mystery_count",
    "mystery_red_line",
    "video_sum",
    "video_count",
    "video_red_line",
    "reinspection",
    "red_line",
    "updated_at",
)


def outlet_sums_query(period_id: int):
    """The sums `_record_outlet` stores, for every outlet of a period in one statement."""
    video = Assignment.kind == "video"

    def total(when, value):
        return func.coalesce(func.sum(case((when, value), else_=None)), 0)

    def flag(when):
        return func.coalesce(func.max(case((when, 1), else_=0)), 0) == 1

    return (
        select(
            Inspection.period_id,
            Inspection.outlet_id,
            Outlet.sub_branch_id,
            total(~video, Inspection.score),
            func.sum(case((~video, 1), else_=0)),
            flag(and_(~video, Inspection.red_line_failed.is_(True))),
            total(video, Inspection.score),
            func.sum(case((video, 1), else_=0)),
            flag(and_(video, Inspection.red_line_failed.is_(True))),
            flag(and_(~video, Assignment.reinspection.is_(True))),
            literal(False),
            func.current_timestamp(),
        )
        .join(Outlet, Outlet.id == Inspection.outlet_id)
        .join(Assignment, Assignment.id == Inspection.assignment_id)
        .where(
            Inspection.period_id == period_id,
            Inspection.status == Status.RELEASED,
            Inspection.score.is_not(None),
        )
        .group_by(Inspection.period_id, Inspection.outlet_id, Outlet.sub_branch_id)
    )


def rebuild(
    session: Session, period_id: int | None = None, settings: Settings | None = None
) -> int:
    """Recompute every stored result (of one period, or all) from the inspections: for
    existing data, after the bands or the video weight changed, after an outlet moved to
    another sub-branch, or to check nothing drifted. Returns the number of outlet rows.
    Frozen rankings are left alone."""
    settings = settings or Settings.current()
    periods = [period_id] if period_id else list(session.scalars(select(Period.id)))
    stored = 0
    for pid in periods:
        session.execute(delete(OutletResult).where(OutletResult.period_id == pid))
        session.execute(insert(OutletResult).from_select(OUTLET_COLUMNS, outlet_sums_query(pid)))
        updates = [
            {"period_id": pid, "outlet_id": f.outlet_id, **_ranking_columns(f, settings)}
            for f in figures(session, pid)
        ]
        if updates:
            session.execute(update(OutletResult), updates)
        _record_items(session, pid, None)
        stored += len(updates)
    session.flush()
    return stored


def figures(session: Session, period_id: int) -> list[ranking.OutletFigures]:
    """The stored sums of every outlet of the period."""
    rows = session.execute(
        select(
            OutletResult.outlet_id,
            OutletResult.sub_branch_id,
            OutletResult.mystery_sum,
            OutletResult.mystery_count,
            OutletResult.mystery_red_line,
            OutletResult.video_sum,
            OutletResult.video_count,
            OutletResult.video_red_line,
            OutletResult.reinspection,
        ).where(OutletResult.period_id == period_id)
    )
    return [ranking.OutletFigures(*row) for row in rows]


# ---- rankings -------------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: thousands are made per page, and frozen ones cost more
class OutletRow:
    outlet_id: int
    code: str
    name: str
    sub_branch_id: int
    sub_branch_code: str
    rank: int
    score: Decimal
    band: str
    red_line: bool
    reinspection: bool
    mystery_count: int
    video_count: int
    previous: Decimal | None  # the outlet's latest ranking score last period
    change: Decimal | None


@dataclass(frozen=True)
class SubBranchRow:
    sub_branch_id: int
    code: str
    name: str
    rank: int | None  # None: no ranked outlet this period
    score: Decimal | None
    band: str | None
    outlets: int
    red_lines: int
    review: bool  # among the bottom three, called to the review meeting
    previous: Decimal | None
    change: Decimal | None


@dataclass(frozen=True)
class Revised:
    """A closed period's outlet whose score was revised after the period was frozen."""

    outlet_id: int
    code: str
    name: str
    frozen_score: Decimal | None
    score: Decimal | None
    band: str | None


@dataclass(frozen=True)
class ReleasedLate:
    """An inspection of a closed period released after its ranking was frozen: it counts
    for the outlet's results (`score`, the outlet's score now) but not in the frozen
    ranking (`frozen_score`: the outlet's there, None when it was not ranked)."""

    inspection_id: int
    outlet_id: int
    code: str
    name: str
    kind: str  # mystery | video
    inspection_score: Decimal | None
    released_at: datetime
    frozen_score: Decimal | None
    score: Decimal | None
    band: str | None


@dataclass
class Rankings:
    """A period's rankings. From `rankings` every ranked outlet is in `outlets`; from
    `rankings_page` only the page asked for (`outlet_total` counts them all)."""

    period_id: int
    period_code: str
    state: str
    frozen_at: datetime | None
    video_weight: Decimal
    previous_code: str | None
    outlets: list[OutletRow]
    sub_branches: list[SubBranchRow]
    bands: tuple[scoring.Band, ...]
    recognitions: list[OutletRow]
    deductions: dict[str, list[OutletRow]]  # failing band → its outlets (see deduction_total)
    reinspections: list[OutletRow]
    outlet_total: int = 0
    deduction_total: dict[str, int] = field(default_factory=dict)
    reinspection_total: int = 0
    unranked_outlets: int = 0  # outlets with figures but no released mystery visit
    revised_after_close: list[Revised] = field(default_factory=list)
    released_after_close: list[ReleasedLate] = field(default_factory=list)
    recognition_top: int = 5

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None

    @property
    def bottom(self) -> list[SubBranchRow]:
        return [s for s in self.sub_branches if s.review]


def previous_period(session: Session, period: Period) -> Period | None:
    return session.scalar(
        select(Period)
        .where(Period.starts_on < period.starts_on)
        .order_by(Period.starts_on.desc(), Period.id.desc())
        .limit(1)
    )


def _ranked(period_id: int, frozen: bool, previous_id: int | None):
    """Every ranked outlet of the period with its rank and last period's score, as a
    subquery: live ranks come from RANK() over the stored band order and score, frozen ones
    from the snapshot."""
    prev = aliased(OutletResult)
    if frozen:
        src = FrozenOutlet
        rank = FrozenOutlet.rank
        where = [FrozenOutlet.period_id == period_id]
        counts = (FrozenOutlet.mystery_count, FrozenOutlet.video_count)
    else:
        src = OutletResult  # type: ignore[assignment]
        rank = func.rank().over(order_by=(OutletResult.band_order, OutletResult.score.desc()))
        where = [OutletResult.period_id == period_id, OutletResult.score.is_not(None)]
        counts = (OutletResult.mystery_count, OutletResult.video_count)
    query = (
        select(
            src.outlet_id,
            Outlet.code,
            Outlet.name,
            src.sub_branch_id,
            SubBranch.code.label("sub_branch_code"),
            rank.label("rank"),
            src.score,
            src.band,
            src.band_order,
            src.red_line,
            src.reinspection,
            counts[0].label("mystery_count"),
            counts[1].label("video_count"),
            prev.score.label("previous"),
        )
        .join(Outlet, Outlet.id == src.outlet_id)
        .join(SubBranch, SubBranch.id == src.sub_branch_id)
        .outerjoin(
            prev,
            and_(prev.period_id == (previous_id or -1), prev.outlet_id == src.outlet_id),
        )
        .where(*where)
    )
    return query.subquery("ranked")


def _row(r) -> OutletRow:
    score = r.score if type(r.score) is Decimal else _dec(r.score)
    previous = r.previous
    if previous is not None and type(previous) is not Decimal:
        previous = _dec(previous)
    return OutletRow(
        r.outlet_id,
        r.code,
        r.name,
        r.sub_branch_id,
        r.sub_branch_code,
        r.rank,
        score,
        r.band,
        bool(r.red_line),
        bool(r.reinspection),
        r.mystery_count,
        r.video_count,
        previous,
        None if previous is None else score - previous,
    )


def _tenths(column):
    return cast(func.round(column * 10), Integer)


class _RankedRow(NamedTuple):
    """A row of the ranking query, scores as integer tenths and flags as integers."""

    outlet_id: int
    code: str
    name: str
    sub_branch_id: int
    sub_branch_code: str
    rank: int
    score: int
    band: str
    red_line: int
    reinspection: int
    mystery_count: int
    video_count: int
    previous: int | None


def _tenths_row(r: _RankedRow) -> OutletRow:
    """An OutletRow from a row whose scores are integer tenths."""
    score = Decimal(r.score).scaleb(-1)
    previous = None if r.previous is None else Decimal(r.previous).scaleb(-1)
    return OutletRow(
        r.outlet_id,
        r.code,
        r.name,
        r.sub_branch_id,
        r.sub_branch_code,
        r.rank,
        score,
        r.band,
        bool(r.red_line),
        bool(r.reinspection),
        r.mystery_count,
        r.video_count,
        previous,
        None if previous is None else score - previous,
    )


def _dec(value: Any, places: Decimal = ranking.TENTH) -> Decimal:
    # SQLite hands sums of decimals back as floats
    if isinstance(value, float):
        return Decimal(repr(value)).quantize(places)
    return Decimal(value).quantize(places)


SORTS = ("rank", "code", "name", "sub_branch", "score", "previous", "change")


def rankings(session: Session, period: Period, settings: Settings) -> Rankings:
    """The period's rankings, every ranked outlet best first (competition ranks: band first,
    then score), sub-branches with the bottom three marked, recognitions, deductions and
    re-inspections, last period's scores and the change. A frozen (closed) period reads its
    snapshot and lists the outlets revised since beside it."""
    return rankings_page(session, period, settings, per_page=None)


def rankings_page(
    session: Session,
    period: Period,
    settings: Settings,
    *,
    page: int = 1,
    per_page: int | None = 200,
    sort: str = "rank",
    descending: bool = False,
    sub_branch_id: int | None = None,
    band: str | None = None,
    query: str = "",
    listed: int = 40,
    reinspections_listed: int = 100,
) -> Rankings:
    """`rankings` with the outlet ranking filtered (sub-branch, band, code or name), sorted
    (one of SORTS) and cut to one page; the deduction and re-inspection lists to their
    first `listed` and the re-inspections (worst change first) to `reinspections_listed`
    (their totals counted). per_page None: everything, each list in rank order."""
    snapshot = session.get(FrozenResult, period.id)
    before = previous_period(session, period)
    ranked = _ranked(period.id, snapshot is not None, before.id if before else None)
    subs = {s.id: s for s in session.execute(select(SubBranch.id, SubBranch.code, SubBranch.name))}
    whole = per_page is None
    # one query ranks every outlet (5 000 rows at a bank's size); the lists are cut from it
    # here, and only the rows shown become OutletRows
    # scores as integer tenths and flags as integers: no per-value conversion for 5 000 rows
    c = ranked.c
    # Core rows straight from the connection (the ORM's row processing costs more than the
    # query itself at a bank's size), made plain named tuples: a Row's attribute lookup by
    # name costs microseconds, and the lists below look at every one of 5 000 rows
    everyone = list(
        map(
            _RankedRow._make,
            session.connection()
            .execute(
                select(
                    c.outlet_id,
                    c.code,
                    c.name,
                    c.sub_branch_id,
                    c.sub_branch_code,
                    c.rank,
                    _tenths(c.score).label("score"),
                    c.band,
                    cast(c.red_line, Integer).label("red_line"),
                    cast(c.reinspection, Integer).label("reinspection"),
                    c.mystery_count,
                    c.video_count,
                    _tenths(c.previous).label("previous"),
                ).order_by(c.rank, c.code)
            )
            .all(),  # one fetchall, not a fetchone per row
        )
    )

    def change_of(r) -> int | None:
        return None if r.previous is None else r.score - r.previous

    chosen = everyone
    if sub_branch_id is not None:
        chosen = [r for r in chosen if r.sub_branch_id == sub_branch_id]
    if band:
        chosen = [r for r in chosen if r.band == band]
    if query:
        needle = query.lower()
        chosen = [r for r in chosen if needle in r.code.lower() or needle in r.name.lower()]
    if sort != "rank" or descending:
        keys = {
            "rank": lambda r: r.rank,
            "code": lambda r: r.code,
            "name": lambda r: r.name,
            "sub_branch": lambda r: (r.sub_branch_code, r.rank),
            "score": lambda r: r.score,
            "previous": lambda r: r.previous,
            "change": change_of,
        }
        key = keys.get(sort, keys["rank"])
        present = [r for r in chosen if key(r) is not None]
        missing = [r for r in chosen if key(r) is None]  # always last
        present.sort(key=key, reverse=descending)
        chosen = present + missing
    total = len(chosen)
    if not whole:
        size = max(1, per_page or 200)
        start = (max(page, 1) - 1) * size
        chosen = chosen[start : start + size]
    outlets = [_tenths_row(r) for r in chosen]

    top_band = settings.bands[0].code if settings.bands else None
    recognitions = [
        _tenths_row(r)
        for r in everyone
        if r.rank <= settings.recognition_top and r.band == top_band
    ]
    deductions, deduction_total = {}, {}
    for code in (b.code for b in settings.bands if not b.passing):
        in_band = [r for r in everyone if r.band == code]
        deduction_total[code] = len(in_band)
        deductions[code] = [_tenths_row(r) for r in (in_band if whole else in_band[:listed])]
    again = [r for r in everyone if r.reinspection]
    reinspection_total = len(again)
    if not whole:
        again.sort(key=lambda r: (change_of(r) is None, change_of(r) or 0, r.rank, r.code))
        again = again[:reinspections_listed]
    reinspections = [_tenths_row(r) for r in again]

    prev_subs = _sub_scores(session, before, settings) if before else {}
    if snapshot is not None:
        sub_rows = [_sub_from_snapshot(subs, prev_subs, r) for r in snapshot.sub_branches]
        weight = Decimal(snapshot.video_weight)
        late = _released_late(session, period.id, snapshot.frozen_at)
        # an outlet whose change a late release explains is listed with it, not as revised
        explained = {r.outlet_id for r in late}
        revised = [r for r in _revised(session, period.id) if r.outlet_id not in explained]
        unranked = 0
    else:
        sub_rows = _sub_rows(subs, prev_subs, _live_subs(session, period.id, settings), settings)
        weight = settings.video_weight
        revised, late = [], []
        unranked = (
            session.scalar(
                select(func.count())
                .select_from(OutletResult)
                .where(OutletResult.period_id == period.id, OutletResult.score.is_(None))
            )
            or 0
        )
    return Rankings(
        period_id=period.id,
        period_code=period.code,
        state=period.state,
        frozen_at=snapshot.frozen_at if snapshot else None,
        video_weight=weight,
        previous_code=before.code if before else None,
        outlets=outlets,
        sub_branches=sub_rows,
        bands=settings.bands,
        recognitions=recognitions,
        deductions=deductions,
        reinspections=reinspections,
        outlet_total=total,
        deduction_total=deduction_total,
        reinspection_total=reinspection_total,
        unranked_outlets=unranked,
        revised_after_close=revised,
        released_after_close=late,
        recognition_top=settings.recognition_top,
    )


def _revised(session: Session, period_id: int) -> list[Revised]:
    """Outlets whose live score now differs from the frozen one (or that entered or left)."""
    live = aliased(OutletResult)
    rows = session.execute(
        select(Outlet.id, Outlet.code, Outlet.name, FrozenOutlet.score, live.score, live.band)
        .select_from(FrozenOutlet)
        .join(Outlet, Outlet.id == FrozenOutlet.outlet_id)
        .outerjoin(
            live, and_(live.period_id == period_id, live.outlet_id == FrozenOutlet.outlet_id)
        )
        .where(
            FrozenOutlet.period_id == period_id,
            or_(live.score.is_(None), live.score != FrozenOutlet.score),
        )
        .order_by(Outlet.code)
    ).all()
    entered = session.execute(
        select(
            Outlet.id,
            Outlet.code,
            Outlet.name,
            literal(None),
            OutletResult.score,
            OutletResult.band,
        )
        .join(Outlet, Outlet.id == OutletResult.outlet_id)
        .where(
            OutletResult.period_id == period_id,
            OutletResult.score.is_not(None),
            ~exists().where(
                FrozenOutlet.period_id == period_id,
                FrozenOutlet.outlet_id == OutletResult.outlet_id,
            ),
        )
        .order_by(Outlet.code)
    ).all()
    return [
        Revised(
            i,
            code,
            name,
            None if then is None else _dec(then),
            None if now is None else _dec(now),
            band,
        )
        for i, code, name, then, now, band in [*rows, *entered]
    ]


def _released_late(session: Session, period_id: int, frozen_at: datetime) -> list[ReleasedLate]:
    """The period's inspections released after its ranking was frozen (they were waiting
    for release when it closed), with their outlet's frozen score and score now."""
    live = aliased(OutletResult)
    rows = session.execute(
        select(
            Inspection.id,
            Outlet.id,
            Outlet.code,
            Outlet.name,
            Assignment.kind,
            Inspection.score,
            Inspection.released_at,
            FrozenOutlet.score,
            live.score,
            live.band,
        )
        .join(Outlet, Outlet.id == Inspection.outlet_id)
        .join(Assignment, Assignment.id == Inspection.assignment_id)
        .outerjoin(
            FrozenOutlet,
            and_(FrozenOutlet.period_id == period_id, FrozenOutlet.outlet_id == Outlet.id),
        )
        .outerjoin(live, and_(live.period_id == period_id, live.outlet_id == Outlet.id))
        .where(
            Inspection.period_id == period_id,
            Inspection.status == Status.RELEASED,
            Inspection.released_at > frozen_at,
        )
        .order_by(Outlet.code, Inspection.id)
    ).all()
    return [
        ReleasedLate(
            iid,
            oid,
            code,
            name,
            kind,
            None if score is None else _dec(score),
            released_at,
            None if then is None else _dec(then),
            None if now is None else _dec(now),
            band,
        )
        for iid, oid, code, name, kind, score, released_at, then, now, band in rows
    ]


@dataclass(frozen=True)
class _SubFigures:
    sub_branch_id: int
    score: Decimal | None
    band: str | None
    outlets: int
    red_lines: int


def _live_subs(session: Session, period_id: int, settings: Settings) -> list[_SubFigures]:
    """Each sub-branch's mean of its ranked outlets' stored scores (0.01, half up)."""
    sums = {
        sb: (total, n, red)
        for sb, total, n, red in session.execute(
            select(
                OutletResult.sub_branch_id,
                func.sum(OutletResult.score),
                func.count(OutletResult.score),
                func.sum(case((OutletResult.red_line.is_(True), 1), else_=0)),
            )
            .where(OutletResult.period_id == period_id, OutletResult.score.is_not(None))
            .group_by(OutletResult.sub_branch_id)
        )
    }
    out = []
    for sb in sorted(set(sums) | set(session.scalars(select(SubBranch.id)))):
        total, n, red = sums.get(sb, (None, 0, 0))
        if not n:
            out.append(_SubFigures(sb, None, None, 0, 0))
            continue
        mean = (_dec(total) / n).quantize(ranking.HUNDREDTH, rounding=ROUND_HALF_UP)
        out.append(
            _SubFigures(sb, mean, scoring.band_for(mean, settings.bands, False).code, n, int(red))
        )
    return out


def _sub_scores(session: Session, period: Period, settings: Settings) -> dict[int, Decimal]:
    """Sub-branch scores of a period: frozen if it was, else live."""
    snapshot = session.get(FrozenResult, period.id)
    if snapshot is not None:
        return {r[0]: Decimal(r[2]) for r in snapshot.sub_branches if r[2] is not None}
    return {
        s.sub_branch_id: s.score
        for s in _live_subs(session, period.id, settings)
        if s.score is not None
    }


def _sub_rows(subs, prev, live: list[_SubFigures], settings: Settings) -> list[SubBranchRow]:
    ranked = ranking.rank(
        (ranking.Scored(s.sub_branch_id, s.score, s.band) for s in live), settings.bands
    )
    ranks = {r.key: r.rank for r in ranked}
    review = {r.key for r in ranking.bottom(ranked, settings.review_count)}
    rows = []
    for s in live:
        sb = subs.get(s.sub_branch_id)
        previous = prev.get(s.sub_branch_id)
        rows.append(
            SubBranchRow(
                s.sub_branch_id,
                sb.code if sb else str(s.sub_branch_id),
                sb.name if sb else "",
                ranks.get(s.sub_branch_id),
                s.score,
                s.band,
                s.outlets,
                s.red_lines,
                s.sub_branch_id in review,
                previous,
                ranking.change(previous, s.score),
            )
        )
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, r.code))
    return rows


def _sub_from_snapshot(subs, prev, row) -> SubBranchRow:
    sb_id, rank, score, band, outlets, red, review = row
    sb = subs.get(sb_id)
    score = None if score is None else Decimal(score)
    previous = prev.get(sb_id)
    return SubBranchRow(
        sb_id,
        sb.code if sb else str(sb_id),
        sb.name if sb else "",
        rank,
        score,
        band,
        outlets,
        red,
        bool(review),
        previous,
        ranking.change(previous, score),
    )


def freeze(session: Session, period: Period, settings: Settings | None = None) -> FrozenResult:
    """Store the period's rankings as they stand (called when the period closes); a later
    revision changes the live results, shown beside the frozen ranking, never the ranking.
    Freezing again (a period closed a second time) replaces the snapshot. Without
    `settings`, the application's configuration (or the defaults outside one)."""
    settings = settings or Settings.current()
    session.flush()
    session.execute(delete(FrozenOutlet).where(FrozenOutlet.period_id == period.id))
    session.execute(delete(FrozenResult).where(FrozenResult.period_id == period.id))
    subs = {s.id: s for s in session.execute(select(SubBranch.id, SubBranch.code, SubBranch.name))}
    sub_rows = _sub_rows(subs, {}, _live_subs(session, period.id, settings), settings)
    snapshot = FrozenResult(
        period_id=period.id,
        video_weight=settings.video_weight,
        sub_branches=[
            [
                s.sub_branch_id,
                s.rank,
                None if s.score is None else str(s.score),
                s.band,
                s.outlets,
                s.red_lines,
                s.review,
            ]
            for s in sub_rows
        ],
    )
    session.add(snapshot)
    session.flush()
    live = _ranked(period.id, False, None)
    session.execute(
        insert(FrozenOutlet).from_select(
            (
                "period_id",
                "outlet_id",
                "sub_branch_id",
                "rank",
                "score",
                "band",
                "band_order",
                "red_line",
                "reinspection",
                "mystery_count",
                "video_count",
            ),
            select(
                literal(period.id),
                live.c.outlet_id,
                live.c.sub_branch_id,
                live.c.rank,
                live.c.score,
                live.c.band,
                live.c.band_order,
                live.c.red_line,
                live.c.reinspection,
                live.c.mystery_count,
                live.c.video_count,
            ),
        )
    )
    session.flush()
    return snapshot


# ---- weak indicators ------------------------------------------------------------------


@dataclass(frozen=True)
class WeakRow:
    checklist: str
    item: str
    text: str  # the item's wording in the latest version that has it
    points: Decimal | None
    applied: int
    failed: int
    rate: Decimal
    previous_rate: Decimal | None
    change: Decimal | None


def item_counts_statement(
    period_id: int, sub_branch_id: int | None = None, kinds: Sequence[str] = KINDS
):
    query = (
        select(
            ItemResult.checklist_code,
            ItemResult.item_code,
            func.sum(ItemResult.applied),
            func.sum(ItemResult.failed),
        )
        .where(ItemResult.period_id == period_id, ItemResult.kind.in_(list(kinds)))
        .group_by(ItemResult.checklist_code, ItemResult.item_code)
    )
    if sub_branch_id is not None:
        query = query.where(ItemResult.sub_branch_id == sub_branch_id)
    return query


def item_counts(
    session: Session, period_id: int, sub_branch_id: int | None = None, kinds: Sequence[str] = KINDS
) -> list[ranking.ItemCount]:
    """Applied and failed counts per item code from the stored rows."""
    query = item_counts_statement(period_id, sub_branch_id, kinds)
    return [
        ranking.ItemCount(c, i, int(a or 0), int(f or 0)) for c, i, a, f in session.execute(query)
    ]


def item_texts(session: Session, locale: str) -> dict[tuple[str, str], tuple[str, Decimal]]:
    """(checklist, item code) → (wording, points) from the newest version that has the code."""
    out: dict[tuple[str, str], tuple[str, Decimal]] = {}
    versions = session.scalars(select(ChecklistVersion).order_by(ChecklistVersion.version))
    for version in versions:
        for item in version.checklist().items:
            out[(version.code, item.code)] = (item.text.get(locale), item.points)
    return out


def weak_indicators(
    session: Session,
    period: Period,
    *,
    sub_branch_id: int | None = None,
    kinds: Sequence[str] = ("mystery",),
    locale: str = "zh_CN",
) -> list[WeakRow]:
    """Every item by its stable code across versions with its failure rate, how many
    inspections it applied in and the change against the previous period, worst first;
    for one sub-branch or the whole bank, for mystery visits, video checks or both."""
    before = previous_period(session, period)
    now = item_counts(session, period.id, sub_branch_id, kinds)
    then = item_counts(session, before.id, sub_branch_id, kinds) if before else []
    texts = item_texts(session, locale)
    out = []
    for w in ranking.weak_indicators(now, then):
        text, points = texts.get((w.checklist, w.item), ("", None))
        out.append(
            WeakRow(
                w.checklist,
                w.item,
                text,
                points,
                w.applied,
                w.failed,
                w.rate,
                w.previous_rate,
                w.change,
            )
        )
    return out


# ---- trends and distributions ---------------------------------------------------------


DISTRIBUTION_EDGES = tuple(Decimal(e) for e in (0, 60, 65, 70, 75, 80, 85, 90, 95))


def _bin_of(column):
    """The DISTRIBUTION_EDGES bin a score falls in, in SQL (0 for the lowest)."""
    edges = DISTRIBUTION_EDGES
    return case(*((column >= edges[n], n) for n in range(len(edges) - 1, 0, -1)), else_=0).label(
        "bin"
    )


def _histogram(counts: Mapping[int, int]) -> list[tuple[Decimal, Decimal | None, int]]:
    edges = DISTRIBUTION_EDGES
    return [
        (low, edges[n + 1] if n + 1 < len(edges) else None, int(counts.get(n, 0)))
        for n, low in enumerate(edges)
    ]


def distribution(
    session: Session, period: Period, settings: Settings | None = None
) -> list[tuple[Decimal, Decimal | None, int]]:
    """How many outlets' ranking scores fall in each score bin of the period (counted in
    SQL by the stored scores)."""
    bin_ = _bin_of(OutletResult.score)
    rows = session.execute(
        select(bin_, func.count())
        .where(OutletResult.period_id == period.id, OutletResult.score.is_not(None))
        .group_by(bin_)
    )
    return _histogram({b: n for b, n in rows})


def distributions(
    session: Session, settings: Settings | None = None
) -> list[tuple[str, list[tuple[Decimal, Decimal | None, int]]]]:
    """Every period's score distribution, oldest first (for the table across periods)."""
    bin_ = _bin_of(OutletResult.score)
    by_period: dict[int, dict[int, int]] = {}
    for pid, b, n in session.execute(
        select(OutletResult.period_id, bin_, func.count())
        .where(OutletResult.score.is_not(None))
        .group_by(OutletResult.period_id, bin_)
    ):
        by_period.setdefault(pid, {})[b] = n
    return [
        (code, _histogram(by_period[pid])) for pid, code in _periods(session) if pid in by_period
    ]


@dataclass(frozen=True)
class TrendPoint:
    period_id: int
    period_code: str
    score: Decimal | None
    band: str | None


def _periods(session: Session) -> list[tuple[int, str]]:
    return [
        (p.id, p.code)
        for p in session.execute(select(Period.id, Period.code).order_by(Period.starts_on))
    ]


def outlet_trend(
    session: Session, outlet_id: int, settings: Settings | None = None
) -> list[TrendPoint]:
    """The outlet's ranking score in every period (None where it was not ranked)."""
    rows = {
        pid: (score, band)
        for pid, score, band in session.execute(
            select(OutletResult.period_id, OutletResult.score, OutletResult.band).where(
                OutletResult.outlet_id == outlet_id
            )
        )
    }
    points = []
    for pid, code in _periods(session):
        score, band = rows.get(pid, (None, None))
        points.append(TrendPoint(pid, code, None if score is None else _dec(score), band))
    return points


def sub_branch_trend(
    session: Session, sub_branch_id: int, settings: Settings | None = None
) -> list[TrendPoint]:
    """The sub-branch's score (mean of its ranked outlets' scores) in every period."""
    settings = settings or Settings.current()
    sums = {
        pid: (total, n)
        for pid, total, n in session.execute(
            select(
                OutletResult.period_id, func.sum(OutletResult.score), func.count(OutletResult.score)
            )
            .where(OutletResult.sub_branch_id == sub_branch_id, OutletResult.score.is_not(None))
            .group_by(OutletResult.period_id)
        )
    }
    points = []
    for pid, code in _periods(session):
        total, n = sums.get(pid, (None, 0))
        if not n:
            points.append(TrendPoint(pid, code, None, None))
            continue
        mean = (_dec(total) / n).quantize(ranking.HUNDREDTH, rounding=ROUND_HALF_UP)
        points.append(
            TrendPoint(pid, code, mean, scoring.band_for(mean, settings.bands, False).code)
        )
    return points


def periods_with_results(session: Session) -> list[Period]:
    return list(session.scalars(select(Period).order_by(Period.starts_on.desc())))


def ranked_counts(session: Session) -> dict[int, int]:
    """Period id → how many outlets are ranked in it (a released mystery-shopper score)."""
    rows = session.execute(
        select(OutletResult.period_id, func.count())
        .where(OutletResult.score.is_not(None))
        .group_by(OutletResult.period_id)
    )
    return {pid: int(n) for pid, n in rows}


# ---- weak indicators into the next checklist version ----------------------------------

MAX_RAISE = Decimal(20)


@dataclass(frozen=True)
class Reweighted:
    drafts: list[Any]  # ChecklistDraft, one per checklist touched
    raised: list[tuple[str, str]]  # (checklist, item) whose points were raised
    missing: list[tuple[str, str]]  # chosen codes the draft no longer has


def reweight(
    session: Session, user: Any, chosen: Sequence[tuple[str, str]], amount: Decimal
) -> Reweighted:
    """Start (or continue) the draft of each chosen item's checklist and raise the chosen
    items' points by `amount` (at most 100 each): weak indicators weigh more next version.

    Raises Refused("reweight_nothing_chosen"), Refused("reweight_bad_amount") for an amount
    that is not above 0, at most 20, with one decimal place.
    """
    import json

    from shopper.checklists import service as checklists
    from shopper.refusals import Refused

    if not chosen:
        raise Refused("reweight_nothing_chosen")
    if (
        not amount.is_finite()
        or amount <= 0
        or amount > MAX_RAISE
        or amount != amount.quantize(TENTH_POINT)
    ):
        raise Refused("reweight_bad_amount", 400, limit=int(MAX_RAISE))
    by_checklist: dict[str, set[str]] = {}
    for code, item in chosen:
        by_checklist.setdefault(code, set()).add(item)
    drafts, raised, missing = [], [], []
    for code in sorted(by_checklist):
        draft = checklists.start_draft(session, user, code)
        data = json.loads(draft.data)
        wanted = by_checklist[code]
        found = set()
        for section in data.get("sections") or []:
            for item in section.get("items") or []:
                if isinstance(item, dict) and item.get("code") in wanted:
                    try:
                        points = Decimal(str(item.get("points")))
                    except ArithmeticError:
                        points = Decimal(0)
                    new = min(Decimal(100), points + amount)
                    item["points"] = int(new) if new == new.to_integral_value() else float(new)
                    found.add(item["code"])
        raised += [(code, i) for i in sorted(found)]
        missing += [(code, i) for i in sorted(wanted - found)]
        if found:
            checklists.save_draft(session, draft, data, draft.revision)
        drafts.append(draft)
    session.flush()
    return Reweighted(drafts, raised, missing)


TENTH_POINT = Decimal("0.1")
