"""Rankings of a period: outlets and sub-branches, bottom three, recognitions, deductions,
re-inspections and weak indicators. Pure: plain data in, plain data out.

Scores:
- an outlet's mystery score is the mean of its released mystery-shopper inspections'
  (latest revised) scores in the period; its video score the mean of its released video
  checks'. Its ranking score is `(1 - w) * mystery + w * video` with w the video weight
  (SHOPPER_VIDEO_WEIGHT, default 0), or the mystery score alone when it had no video
  check; rounded to 0.1 half up. An outlet with no released mystery-shopper inspection is
  not ranked: video checks adjust a visit's score, they do not replace it.
- an outlet's band is its ranking score's band, forced to the red-line band when any
  inspection that counted failed a red line (a video check only counts when w > 0).
- a sub-branch's score is the mean of its ranked outlets' scores, rounded to 0.01 half up;
  its band is that mean's band (a red line ranks the outlet, not the whole sub-branch: the
  sub-branch shows how many of its outlets failed one).

Ranks are competition ranks (1, 2, 2, 4): ordered by band first, then score
(`scoring.rank_key`), so a failed red line never ranks above a clean pass; equal keys
share a rank.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Generic, TypeVar

from shopper.core.scoring import Band, band_for, rank_key

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

TENTH = Decimal("0.1")
HUNDREDTH = Decimal("0.01")


@dataclass(frozen=True)
class OutletFigures:
    """What is stored per outlet and period (sums, so the mean is exact)."""

    outlet_id: int
    sub_branch_id: int
    mystery_sum: Decimal = Decimal(0)
    mystery_count: int = 0
    mystery_red_line: bool = False
    video_sum: Decimal = Decimal(0)
    video_count: int = 0
    video_red_line: bool = False
    reinspection: bool = False  # one of its mystery visits re-inspected it


@dataclass(frozen=True)
class Scored(Generic[K]):
    key: K
    score: Decimal | None
    band: str | None


@dataclass(frozen=True)
class Ranked(Generic[K]):
    key: K
    rank: int
    score: Decimal
    band: str


def mean(values: Sequence[Decimal], places: Decimal = TENTH) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(places, rounding=ROUND_HALF_UP)


def outlet_score(
    figures: OutletFigures, bands: Sequence[Band], video_weight: Decimal = Decimal(0)
) -> Scored[int]:
    """The outlet's ranking score and band (None, None when it had no mystery visit)."""
    if figures.mystery_count == 0:
        return Scored(figures.outlet_id, None, None)
    mystery = figures.mystery_sum / figures.mystery_count
    red_line = figures.mystery_red_line
    combined = mystery
    if video_weight > 0 and figures.video_count > 0:
        video = figures.video_sum / figures.video_count
        combined = (1 - video_weight) * mystery + video_weight * video
        red_line = red_line or figures.video_red_line
    value = combined.quantize(TENTH, rounding=ROUND_HALF_UP)
    return Scored(figures.outlet_id, value, band_for(value, bands, red_line).code)


def rank(entries: Iterable[Scored[K]], bands: Sequence[Band]) -> list[Ranked[K]]:
    """Competition ranking (1, 2, 2, 4) by band then score; unscored entries are left out.

    Entries with equal band and score keep their given order but share the rank.
    """
    scored = [e for e in entries if e.score is not None and e.band is not None]
    keyed = sorted(((rank_key(e.band, e.score, bands), n, e) for n, e in enumerate(scored)))
    ranked: list[Ranked[K]] = []
    previous: tuple[int, Decimal] | None = None
    current = 0
    for position, (key, _n, entry) in enumerate(keyed, start=1):
        if key != previous:
            current, previous = position, key
        assert entry.score is not None and entry.band is not None
        ranked.append(Ranked(entry.key, current, entry.score, entry.band))
    return ranked


@dataclass(frozen=True)
class SubBranchScore:
    sub_branch_id: int
    score: Decimal | None
    band: str | None
    outlets: int  # ranked outlets behind the mean
    red_lines: int  # of them, how many failed a red line


def sub_branch_scores(
    outlets: Iterable[OutletFigures],
    bands: Sequence[Band],
    video_weight: Decimal = Decimal(0),
    sub_branch_ids: Iterable[int] = (),
) -> list[SubBranchScore]:
    """Each sub-branch's mean of its ranked outlets' scores (None when none was ranked).

    `sub_branch_ids` adds sub-branches that have no figures at all (shown as unranked).
    """
    scores: dict[int, list[Decimal]] = {sb: [] for sb in sub_branch_ids}
    red: dict[int, int] = {}
    for figures in outlets:
        scores.setdefault(figures.sub_branch_id, [])
        result = outlet_score(figures, bands, video_weight)
        if result.score is None:
            continue
        scores[figures.sub_branch_id].append(result.score)
        if figures.mystery_red_line or (
            video_weight > 0 and figures.video_count > 0 and figures.video_red_line
        ):
            red[figures.sub_branch_id] = red.get(figures.sub_branch_id, 0) + 1
    out = []
    for sb in sorted(scores):
        value = mean(scores[sb], HUNDREDTH)
        band = None if value is None else band_for(value, bands, False).code
        out.append(SubBranchScore(sb, value, band, len(scores[sb]), red.get(sb, 0)))
    return out


def bottom(ranked: Sequence[Ranked[K]], count: int = 3) -> list[Ranked[K]]:
    """The last `count` of a ranking, and every entry tied with the last of them: a tie at
    the boundary brings all who share that rank (so four may be called when two share third
    from the bottom). Whoever ranks first is never called in: with three or fewer ranked,
    the bottom is everyone below the first (one ranked alone, or all tied, is no bottom).
    Worst last, as in the ranking."""
    below_first = sorted((r for r in ranked if r.rank > 1), key=lambda r: r.rank)
    if count <= 0 or not below_first:
        return []
    if len(below_first) <= count:
        return below_first
    boundary = below_first[len(below_first) - count].rank
    return [r for r in below_first if r.rank >= boundary]


def recognitions(
    ranked: Sequence[Ranked[K]], bands: Sequence[Band], top: int = 5
) -> list[Ranked[K]]:
    """The best `top` ranks in the highest band (by default >= 90): ties at the fifth place
    are all recognised. A failed red line is never in the highest band."""
    if not bands:
        return []
    best = bands[0].code
    return [r for r in ranked if r.rank <= top and r.band == best]


def deductions(ranked: Sequence[Ranked[K]], bands: Sequence[Band]) -> dict[str, list[Ranked[K]]]:
    """Every ranked entry in a failing band, by band code (highest failing band first): with
    the default bands "fail" (< 85) and "severe_fail" (< 80, and every failed red line)."""
    failing = [b.code for b in bands if not b.passing]
    out: dict[str, list[Ranked[K]]] = {code: [] for code in failing}
    for r in ranked:
        if r.band in out:
            out[r.band].append(r)
    return out


def change(previous: Decimal | None, current: Decimal | None) -> Decimal | None:
    """Current minus previous score (None unless both exist)."""
    if previous is None or current is None:
        return None
    return current - previous


# ---- weak indicators ------------------------------------------------------------------


@dataclass(frozen=True)
class ItemCount:
    """How often an item (by its stable code, whatever the version) applied and failed."""

    checklist: str
    item: str
    applied: int
    failed: int


@dataclass(frozen=True)
class WeakIndicator:
    checklist: str
    item: str
    applied: int
    failed: int
    rate: Decimal  # failure rate in percent, one decimal
    previous_rate: Decimal | None
    change: Decimal | None  # percentage points against the previous period


def rate(failed: int, applied: int) -> Decimal:
    if applied <= 0:
        return Decimal(0)
    return (Decimal(failed) * 100 / applied).quantize(TENTH, rounding=ROUND_HALF_UP)


def merge(counts: Iterable[ItemCount]) -> dict[tuple[str, str], ItemCount]:
    """Sum counts of the same (checklist, item) code: versions and sub-branches add up."""
    totals: dict[tuple[str, str], list[int]] = {}
    for c in counts:
        pair = totals.setdefault((c.checklist, c.item), [0, 0])
        pair[0] += c.applied
        pair[1] += c.failed
    return {k: ItemCount(k[0], k[1], v[0], v[1]) for k, v in totals.items()}


def weak_indicators(
    current: Iterable[ItemCount], previous: Iterable[ItemCount] = ()
) -> list[WeakIndicator]:
    """Every item that applied at least once, worst first: highest failure rate, then most
    failures, then by code. The change is against the previous period's rate of the same
    code (None when it did not apply then)."""
    now = merge(current)
    before = merge(previous)
    out = []
    for key, c in now.items():
        if c.applied <= 0:
            continue
        r = rate(c.failed, c.applied)
        old = before.get(key)
        old_rate = rate(old.failed, old.applied) if old and old.applied > 0 else None
        out.append(
            WeakIndicator(
                c.checklist,
                c.item,
                c.applied,
                c.failed,
                r,
                old_rate,
                None if old_rate is None else r - old_rate,
            )
        )
    out.sort(key=lambda w: (-w.rate, -w.failed, w.checklist, w.item))
    return out


def histogram(
    scores: Iterable[Decimal], edges: Sequence[Decimal]
) -> list[tuple[Decimal, Decimal | None, int]]:
    """Counts of scores in [edges[i], edges[i+1]) (the last bin has no upper edge)."""
    ordered = sorted(edges)
    bins = [0] * len(ordered)
    for s in scores:
        for n in range(len(ordered) - 1, -1, -1):
            if s >= ordered[n]:
                bins[n] += 1
                break
    return [
        (low, ordered[n + 1] if n + 1 < len(ordered) else None, bins[n])
        for n, low in enumerate(ordered)
    ]


def by_key(items: Iterable[T], key: Callable[[T], K]) -> Mapping[K, T]:
    return {key(item): item for item in items}
