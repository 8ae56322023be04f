"""Results: stored when an inspection is released or revised, read by the pages, the
exports and the period report.

`record(session, inspection)` keeps the stored rows right (idempotent: it recomputes);
`rankings`, `weak_indicators` and the trend functions only read them. A closed period's
rankings come from the snapshot `freeze` took when it closed; a score revised after that
is shown beside the frozen one and never moves the frozen ranking. Functions `flush()` and
never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, insert, literal, select
from sqlalchemy.orm import Session

from shopper.checklists.models import ChecklistVersion
from shopper.core import ranking, scoring
from shopper.inspections.models import Answer, Inspection, Status
from shopper.notices.models import Finding, FindingStatus
from shopper.org.models import Outlet, SubBranch
from shopper.periods.models import Assignment, Period
from shopper.results.models import FrozenResult, ItemResult, OutletResult

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


def record(session: Session, inspection: Inspection) -> None:
    """Bring the stored results of the inspection's outlet and sub-branch in its period up to
    date. Idempotent: it recomputes them from the released inspections (with their latest
    revised scores and withdrawn findings), so calling it twice, or for an inspection that
    is not released, is harmless. Serialised per sub-branch by locking its row."""
    session.flush()
    outlet = session.get(Outlet, inspection.outlet_id)
    assert outlet is not None
    session.execute(
        select(SubBranch.id).where(SubBranch.id == outlet.sub_branch_id).with_for_update()
    )
    _record_outlet(session, inspection.period_id, outlet)
    _record_items(session, inspection.period_id, outlet.sub_branch_id)
    session.flush()


def _record_outlet(session: Session, period_id: int, outlet: Outlet) -> None:
    rows = session.execute(
        select(
            Assignment.kind, Inspection.score, Inspection.red_line_failed, Assignment.reinspection
        )
        .join(Assignment, Assignment.id == Inspection.assignment_id)
        .where(
            Inspection.period_id == period_id,
            Inspection.outlet_id == outlet.id,
            Inspection.status == Status.RELEASED,
            Inspection.score.is_not(None),
        )
    ).all()
    session.execute(
        delete(OutletResult).where(
            OutletResult.period_id == period_id, OutletResult.outlet_id == outlet.id
        )
    )
    if not rows:
        return
    mystery = [r for r in rows if r.kind != "video"]
    video = [r for r in rows if r.kind == "video"]
    session.add(
        OutletResult(
            period_id=period_id,
            outlet_id=outlet.id,
            sub_branch_id=outlet.sub_branch_id,
            mystery_sum=sum((r.score for r in mystery), Decimal(0)),
            mystery_count=len(mystery),
            mystery_red_line=any(r.red_line_failed for r in mystery),
            video_sum=sum((r.score for r in video), Decimal(0)),
            video_count=len(video),
            video_red_line=any(r.red_line_failed for r in video),
            reinspection=any(r.reinspection for r in mystery),
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


def rebuild(session: Session, period_id: int | None = None) -> int:
    """Recompute every stored result (of one period, or all): for existing data, after an
    outlet moved to another sub-branch, or to check nothing drifted. Returns the number of
    outlet rows stored. Frozen snapshots are left alone."""
    periods = [period_id] if period_id else list(session.scalars(select(Period.id)))
    stored = 0
    for pid in periods:
        session.execute(delete(OutletResult).where(OutletResult.period_id == pid))
        session.execute(insert(OutletResult).from_select(OUTLET_COLUMNS, outlet_sums_query(pid)))
        _record_items(session, pid, None)
        stored += (
            session.scalar(
                select(func.count()).select_from(OutletResult).where(OutletResult.period_id == pid)
            )
            or 0
        )
    session.flush()
    return stored


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
    "updated_at",
)


def outlet_sums_query(period_id: int):
    """What `_record_outlet` stores, for every outlet of a period in one statement."""
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


# ---- rankings -------------------------------------------------------------------------


@dataclass(frozen=True)
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
    previous: Decimal | None  # the outlet's ranking score last period
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


@dataclass
class Rankings:
    period_id: int
    period_code: str
    state: str
    frozen_at: datetime | None
    video_weight: Decimal
    previous_code: str | None
    outlets: list[OutletRow]
    sub_branches: list[SubBranchRow]
    bands: tuple[scoring.Band, ...]
    unranked_outlets: int = 0  # outlets with figures but no released mystery visit
    revised_after_close: list[Revised] = field(default_factory=list)
    recognition_top: int = 5

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None

    @property
    def bottom(self) -> list[SubBranchRow]:
        return [s for s in self.sub_branches if s.review]

    @property
    def recognitions(self) -> list[OutletRow]:
        return ranking.recognitions(self.outlets, self.bands, self.recognition_top)  # type: ignore[arg-type]

    @property
    def deductions(self) -> dict[str, list[OutletRow]]:
        return ranking.deductions(self.outlets, self.bands)  # type: ignore[arg-type]

    @property
    def reinspections(self) -> list[OutletRow]:
        return [o for o in self.outlets if o.reinspection]


def previous_period(session: Session, period: Period) -> Period | None:
    return session.scalar(
        select(Period)
        .where(Period.starts_on < period.starts_on)
        .order_by(Period.starts_on.desc(), Period.id.desc())
        .limit(1)
    )


def figures(session: Session, period_id: int) -> list[ranking.OutletFigures]:
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


@dataclass(frozen=True)
class _Live:
    """A period's ranking computed from its stored figures."""

    outlets: list[tuple[ranking.Ranked[int], ranking.OutletFigures]]
    sub_branches: list[ranking.SubBranchScore]
    sub_ranks: dict[int, int]
    unranked: int


def _live(session: Session, period_id: int, settings: Settings, sub_branch_ids) -> _Live:
    rows = figures(session, period_id)
    by_outlet = {f.outlet_id: f for f in rows}
    scored = [ranking.outlet_score(f, settings.bands, settings.video_weight) for f in rows]
    ranked = ranking.rank(scored, settings.bands)
    subs = ranking.sub_branch_scores(rows, settings.bands, settings.video_weight, sub_branch_ids)
    sub_ranked = ranking.rank(
        (ranking.Scored(s.sub_branch_id, s.score, s.band) for s in subs), settings.bands
    )
    return _Live(
        [(r, by_outlet[r.key]) for r in ranked],
        subs,
        {r.key: r.rank for r in sub_ranked},
        sum(1 for s in scored if s.score is None),
    )


def _frozen_scores(snapshot: FrozenResult) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    outlets = {row[0]: Decimal(row[3]) for row in snapshot.outlets}
    subs = {row[0]: Decimal(row[2]) for row in snapshot.sub_branches if row[2] is not None}
    return outlets, subs


def _scores_of(
    session: Session, period: Period | None, settings: Settings
) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """Outlet and sub-branch ranking scores of a period: frozen if it was, else live."""
    if period is None:
        return {}, {}
    snapshot = session.get(FrozenResult, period.id)
    if snapshot is not None:
        return _frozen_scores(snapshot)
    rows = figures(session, period.id)
    outlets = {}
    for f in rows:
        s = ranking.outlet_score(f, settings.bands, settings.video_weight)
        if s.score is not None:
            outlets[f.outlet_id] = s.score
    subs = {
        s.sub_branch_id: s.score
        for s in ranking.sub_branch_scores(rows, settings.bands, settings.video_weight)
        if s.score is not None
    }
    return outlets, subs


def rankings(session: Session, period: Period, settings: Settings) -> Rankings:
    """The period's rankings: outlets and sub-branches best first (competition ranks), with
    the bottom sub-branches marked, previous period's scores and the change. A frozen (closed)
    period reads its snapshot and lists the outlets revised since beside it."""
    outlets = {
        o.id: o
        for o in session.execute(select(Outlet.id, Outlet.code, Outlet.name, Outlet.sub_branch_id))
    }
    subs = {s.id: s for s in session.execute(select(SubBranch.id, SubBranch.code, SubBranch.name))}
    before = previous_period(session, period)
    prev_outlets, prev_subs = _scores_of(session, before, settings)
    snapshot = session.get(FrozenResult, period.id)
    if snapshot is not None:
        out_rows = [_row(outlets, subs, prev_outlets, *r) for r in snapshot.outlets]
        sub_rows = [_sub_from_snapshot(subs, prev_subs, r) for r in snapshot.sub_branches]
        weight = Decimal(snapshot.video_weight)
        live = _live(session, period.id, settings, ())
        live_scores = {r.key: r for r, _f in live.outlets}
        frozen_scores = {o.outlet_id: o.score for o in out_rows}
        revised = []
        for oid in sorted(set(live_scores) | set(frozen_scores)):
            now = live_scores.get(oid)
            then = frozen_scores.get(oid)
            if (now.score if now else None) != then and oid in outlets:
                revised.append(
                    Revised(
                        oid,
                        outlets[oid].code,
                        outlets[oid].name,
                        then,
                        now.score if now else None,
                        now.band if now else None,
                    )
                )
        unranked = 0
    else:
        live = _live(session, period.id, settings, subs.keys())
        out_rows = [
            _row(
                outlets,
                subs,
                prev_outlets,
                r.key,
                f.sub_branch_id,
                r.rank,
                r.score,
                r.band,
                f.mystery_red_line or (settings.video_weight > 0 and f.video_red_line),
                f.reinspection,
                f.mystery_count,
                f.video_count,
            )
            for r, f in live.outlets
        ]
        sub_rows = _sub_rows(subs, prev_subs, live, settings)
        weight = settings.video_weight
        revised = []
        unranked = live.unranked
    result = Rankings(
        period_id=period.id,
        period_code=period.code,
        state=period.state,
        frozen_at=snapshot.frozen_at if snapshot else None,
        video_weight=weight,
        previous_code=before.code if before else None,
        outlets=out_rows,
        sub_branches=sub_rows,
        bands=settings.bands,
        unranked_outlets=unranked,
        revised_after_close=revised,
        recognition_top=settings.recognition_top,
    )
    return result


def _row(outlets, subs, prev, outlet_id, sub_branch_id, rank, score, band, red, re, m, v):
    o = outlets.get(outlet_id)
    score = Decimal(score)
    previous = prev.get(outlet_id)
    return OutletRow(
        outlet_id,
        o.code if o else str(outlet_id),
        o.name if o else "",
        sub_branch_id,
        subs[sub_branch_id].code if sub_branch_id in subs else "",
        rank,
        score,
        band,
        bool(red),
        bool(re),
        m,
        v,
        previous,
        ranking.change(previous, score),
    )


def _sub_rows(subs, prev, live: _Live, settings: Settings) -> list[SubBranchRow]:
    ranked = [
        ranking.Ranked(s.sub_branch_id, live.sub_ranks[s.sub_branch_id], s.score, s.band)
        for s in live.sub_branches
        if s.sub_branch_id in live.sub_ranks and s.score is not None and s.band is not None
    ]
    review = {r.key for r in ranking.bottom(ranked, settings.review_count)}
    rows = []
    for s in live.sub_branches:
        sb = subs.get(s.sub_branch_id)
        previous = prev.get(s.sub_branch_id)
        rows.append(
            SubBranchRow(
                s.sub_branch_id,
                sb.code if sb else str(s.sub_branch_id),
                sb.name if sb else "",
                live.sub_ranks.get(s.sub_branch_id),
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
    existing = session.get(FrozenResult, period.id)
    if existing is not None:
        session.delete(existing)
        session.flush()
    subs = {s.id: s for s in session.execute(select(SubBranch.id, SubBranch.code, SubBranch.name))}
    live = _live(session, period.id, settings, subs.keys())
    sub_rows = _sub_rows(subs, {}, live, settings)
    snapshot = FrozenResult(
        period_id=period.id,
        video_weight=settings.video_weight,
        outlets=[
            [
                r.key,
                f.sub_branch_id,
                r.rank,
                str(r.score),
                r.band,
                f.mystery_red_line or (settings.video_weight > 0 and f.video_red_line),
                f.reinspection,
                f.mystery_count,
                f.video_count,
            ]
            for r, f in live.outlets
        ],
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


def item_counts(
    session: Session, period_id: int, sub_branch_id: int | None = None, kinds: Sequence[str] = KINDS
) -> list[ranking.ItemCount]:
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


def distribution(
    session: Session, period: Period, settings: Settings
) -> list[tuple[Decimal, Decimal | None, int]]:
    """How many outlets' ranking scores fall in each score bin of the period."""
    rows = figures(session, period.id)
    scores = [
        s.score
        for s in (ranking.outlet_score(f, settings.bands, settings.video_weight) for f in rows)
        if s.score is not None
    ]
    return ranking.histogram(scores, DISTRIBUTION_EDGES)


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


def outlet_trend(session: Session, outlet_id: int, settings: Settings) -> list[TrendPoint]:
    """The outlet's ranking score in every period (None where it was not ranked)."""
    rows = {
        f.period_id: ranking.OutletFigures(
            f.outlet_id,
            f.sub_branch_id,
            f.mystery_sum,
            f.mystery_count,
            f.mystery_red_line,
            f.video_sum,
            f.video_count,
            f.video_red_line,
            f.reinspection,
        )
        for f in session.scalars(select(OutletResult).where(OutletResult.outlet_id == outlet_id))
    }
    points = []
    for pid, code in _periods(session):
        f = rows.get(pid)
        s = ranking.outlet_score(f, settings.bands, settings.video_weight) if f else None
        points.append(TrendPoint(pid, code, s.score if s else None, s.band if s else None))
    return points


def sub_branch_trend(session: Session, sub_branch_id: int, settings: Settings) -> list[TrendPoint]:
    """The sub-branch's score (mean of its ranked outlets) in every period."""
    by_period: dict[int, list[ranking.OutletFigures]] = {}
    query = select(OutletResult).where(OutletResult.sub_branch_id == sub_branch_id)
    for f in session.scalars(query):
        by_period.setdefault(f.period_id, []).append(
            ranking.OutletFigures(
                f.outlet_id,
                f.sub_branch_id,
                f.mystery_sum,
                f.mystery_count,
                f.mystery_red_line,
                f.video_sum,
                f.video_count,
                f.video_red_line,
                f.reinspection,
            )
        )
    points = []
    for pid, code in _periods(session):
        scores = ranking.sub_branch_scores(
            by_period.get(pid, []), settings.bands, settings.video_weight, [sub_branch_id]
        )
        s = scores[0] if scores else None
        points.append(TrendPoint(pid, code, s.score if s else None, s.band if s else None))
    return points


def periods_with_results(session: Session) -> list[Period]:
    return list(session.scalars(select(Period).order_by(Period.starts_on.desc())))


def counts_equal(a: Iterable[ranking.ItemCount], b: Iterable[ranking.ItemCount]) -> bool:
    return ranking.merge(a) == ranking.merge(b)


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


def ranked_counts(session: Session) -> dict[int, int]:
    """Period id → how many outlets have a released mystery-shopper score in it."""
    rows = session.execute(
        select(OutletResult.period_id, func.count())
        .where(OutletResult.mystery_count > 0)
        .group_by(OutletResult.period_id)
    )
    return {pid: int(n) for pid, n in rows}


def distributions(
    session: Session, settings: Settings
) -> list[tuple[str, list[tuple[Decimal, Decimal | None, int]]]]:
    """Every period's score distribution, oldest first (for the table across periods)."""
    by_period: dict[int, list[Decimal]] = {}
    for f in session.scalars(select(OutletResult).where(OutletResult.mystery_count > 0)):
        s = ranking.outlet_score(_figures_of(f), settings.bands, settings.video_weight)
        if s.score is not None:
            by_period.setdefault(f.period_id, []).append(s.score)
    return [
        (code, ranking.histogram(by_period.get(pid, []), DISTRIBUTION_EDGES))
        for pid, code in _periods(session)
        if pid in by_period
    ]


def _figures_of(f: OutletResult) -> ranking.OutletFigures:
    return ranking.OutletFigures(
        f.outlet_id,
        f.sub_branch_id,
        f.mystery_sum,
        f.mystery_count,
        f.mystery_red_line,
        f.video_sum,
        f.video_count,
        f.video_red_line,
        f.reinspection,
    )
