"""Scoring: points earned over points applicable, ×100, one decimal.

N/A items leave both sums; a failed red-line item puts the inspection in the
configured red-line band (by default the lowest) whatever the total, and ranking
goes by band before score; bands come from configuration, never from constants here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from shopper.core.checklist import Checklist, Item


class Result(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NA = "na"


@dataclass(frozen=True)
class Band:
    code: str
    minimum: Decimal
    passing: bool
    red_line: bool = False  # where a failed red line puts an inspection


def bands_from_config(
    rows: Iterable[Sequence[object]], red_line_band: str | None = None
) -> tuple[Band, ...]:
    """Bands sorted from the highest minimum down; the lowest must start at 0.

    `red_line_band` names the band a failed red line forces; unset, the lowest. It
    must not be a passing band: a red line always fails.
    """
    ordered = sorted(
        ((str(code), Decimal(str(minimum)), bool(passing)) for code, minimum, passing in rows),
        key=lambda row: row[1],
        reverse=True,
    )
    if not ordered or ordered[-1][1] != 0:
        raise ValueError("score bands must end with one starting at 0")
    target = red_line_band or ordered[-1][0]
    bands = tuple(Band(code, low, passing, code == target) for code, low, passing in ordered)
    chosen = next((b for b in bands if b.red_line), None)
    if chosen is None or chosen.passing:
        raise ValueError(f"the red-line band {target!r} must be one of the failing bands")
    return bands


@dataclass(frozen=True)
class Answer:
    result: Result
    note: str = ""
    photos: int = 0
    preset: bool = False  # N/A set at the start (outlet feature, video), not by the inspector


AnswerKey = tuple[str, str]  # (checklist code, item code)


@dataclass(frozen=True)
class SectionScore:
    checklist: str
    section: str
    earned: Decimal
    applicable: Decimal

    @property
    def score(self) -> Decimal | None:
        return percent(self.earned, self.applicable)


@dataclass(frozen=True)
class ScoreCard:
    earned: Decimal
    applicable: Decimal
    score: Decimal | None  # None when nothing applied
    band: Band | None
    red_line_failures: tuple[AnswerKey, ...]
    sections: tuple[SectionScore, ...]

    @property
    def passed(self) -> bool:
        return self.band is not None and self.band.passing


def percent(earned: Decimal, applicable: Decimal) -> Decimal | None:
    if applicable == 0:
        return None
    return (earned * 100 / applicable).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def band_for(score: Decimal, bands: Sequence[Band], red_line_failed: bool) -> Band:
    band = next(b for b in bands if score >= b.minimum)
    if red_line_failed:
        # the red-line band, unless the score alone is already lower
        forced = next(b for b in bands if b.red_line)
        band = min(band, forced, key=lambda b: b.minimum)
    return band


def rank_key(band: str | None, score: Decimal | None, bands: Sequence[Band]) -> tuple[int, Decimal]:
    """Sort key, best first: by band, then by score within the band, unscored last.

    So a 95 whose red line failed (its band forced down) never ranks above a clean 86.
    """
    order = {b.code: n for n, b in enumerate(bands)}
    if band is None or score is None:
        return (len(order) + 1, Decimal(0))
    return (order.get(band, len(order)), -score)


def score(
    checklists: Sequence[Checklist],
    answers: Mapping[AnswerKey, Answer],
    bands: Sequence[Band],
) -> ScoreCard:
    """Score answered items; unanswered items count as neither earned nor applicable."""
    sections: list[SectionScore] = []
    red_lines: list[AnswerKey] = []
    for checklist in checklists:
        for section in checklist.sections:
            earned = applicable = Decimal(0)
            for item in section.items:
                answer = answers.get((checklist.code, item.code))
                if answer is None or answer.result is Result.NA:
                    continue
                applicable += item.points
                if answer.result is Result.PASS:
                    earned += item.points
                elif item.red_line:
                    red_lines.append((checklist.code, item.code))
            sections.append(SectionScore(checklist.code, section.code, earned, applicable))
    earned = sum((s.earned for s in sections), Decimal(0))
    applicable = sum((s.applicable for s in sections), Decimal(0))
    total = percent(earned, applicable)
    band = None if total is None else band_for(total, bands, bool(red_lines))
    return ScoreCard(earned, applicable, total, band, tuple(red_lines), tuple(sections))


@dataclass(frozen=True)
class Gap:
    """Why an inspection cannot be submitted yet, for one item."""

    checklist: str
    item: str
    reason: str  # "unanswered" | "note_required" | "photo_required" | "na_not_allowed"


def gaps(checklists: Sequence[Checklist], answers: Mapping[AnswerKey, Answer]) -> list[Gap]:
    """Everything that stops submission, in checklist order; empty means ready."""
    found: list[Gap] = []
    for checklist in checklists:
        for item in checklist.items:
            answer = answers.get((checklist.code, item.code))
            for reason in _item_gaps(item, answer):
                found.append(Gap(checklist.code, item.code, reason))
    return found


def _item_gaps(item: Item, answer: Answer | None) -> list[str]:
    if answer is None:
        return ["unanswered"]
    if answer.result is Result.NA and not item.na_allowed and not answer.preset:
        return ["na_not_allowed"]
    if answer.result is not Result.FAIL:
        return []
    reasons = []
    if not answer.note.strip():
        reasons.append("note_required")
    if item.photo_required_on_fail and answer.photos == 0:
        reasons.append("photo_required")
    return reasons
