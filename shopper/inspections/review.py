"""Plain page data for the review screen: a preview of the score and what still stops submission.

The preview is the pure core's score of the answers given so far; while items are
unanswered it is provisional (unanswered items count neither way).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from shopper.core import scoring
from shopper.i18n import localized
from shopper.inspections import service
from shopper.inspections.models import Inspection


def review_data(
    session: Session, inspection: Inspection, bands: Sequence[scoring.Band]
) -> dict[str, Any]:
    pins = service.pinned(inspection)
    checklists = [pin.checklist for pin in pins]
    answers = service.answer_map(session, inspection)
    card = scoring.score(checklists, answers, bands)
    reasons: dict[scoring.AnswerKey, list[str]] = {}
    for gap in scoring.gaps(checklists, answers):
        reasons.setdefault((gap.checklist, gap.item), []).append(gap.reason)
    section_scores = {(s.checklist, s.section): s for s in card.sections}

    score_rows, gap_groups = [], []
    number = 0
    for checklist in checklists:
        rows = []
        for section in checklist.sections:
            found = []
            for item in section.items:
                number += 1
                if (checklist.code, item.code) in reasons:
                    found.append(
                        {
                            "code": item.code,
                            "number": number,
                            "text": localized(item.text),
                            "reasons": reasons[(checklist.code, item.code)],
                        }
                    )
            scored = section_scores[(checklist.code, section.code)]
            answered = sum(1 for i in section.items if (checklist.code, i.code) in answers)
            rows.append(
                {
                    "title": localized(section.title),
                    "earned": scored.earned,
                    "applicable": scored.applicable,
                    "score": scored.score,
                    "answered": answered,
                    "total": len(section.items),
                }
            )
            if found:
                gap_groups.append(
                    {
                        "checklist": localized(checklist.title),
                        "title": localized(section.title),
                        "items": found,
                    }
                )
        score_rows.append({"title": localized(checklist.title), "sections": rows})
    unanswered = sum(1 for found in reasons.values() if "unanswered" in found)
    return {
        "score": card.score,
        "band": card.band.code if card.band else None,
        "red_line_failed": bool(card.red_line_failures),
        "earned": card.earned,
        "applicable": card.applicable,
        "unanswered": unanswered,
        "provisional": unanswered > 0,
        "checklists": score_rows,
        "gaps": gap_groups,
        "gap_count": len(reasons),
        "first_gap": gap_groups[0]["items"][0]["code"] if gap_groups else None,
    }
