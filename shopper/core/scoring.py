"""Scoring: points earned over points applicable, ×100, one decimal.

N/A items leave both sums; a failed red-line item fails the inspection whatever
the total; bands come from configuration, never from constants here.
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


def bands_from_config(rows: Iterable[Sequence[object]]) -> tuple[Band, ...]:
    """Bands sorted from the highest minimum down; the lowest must start at 0."""
    bands = tuple(
        sorted(
            (
                Band(str(code), Decimal(str(minimum)), bool(passing))
                for code, minimum, passing in rows
            ),
            key=lambda b: b.minimum,
            reverse=True,
        )
    )
    if not bands or bands[-1].minimum != 0:
        raise ValueError("score bands must end with one starting at 0")
    return bands


@dataclass(frozen=True)
class Answer:
    result: Result
    note: str = ""
    photos: int = 0


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
    if red_line_failed and band.passing:
        # a red line caps the result at the best failing band
        band = next(b for b in bands if not b.passing)
    return band


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
    if answer.result is Result.NA and not item.na_allowed:
        return ["na_not_allowed"]
    if answer.result is not Result.FAIL:
        return []
    reasons = []
    if not answer.note.strip():
        reasons.append("note_required")
    if item.photo_required_on_fail and answer.photos == 0:
        reasons.append("photo_required")
    return reasons
