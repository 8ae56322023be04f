"""The period report (通报) for the review meeting: coverage, rankings, the bottom three,
recognitions and deductions, weak indicators with their charts, re-inspection outcomes —
a signed PDF made like the notices (shopper.pdf fetches nothing but data: URIs; signed
with the notices' PKI, certified "no changes").

No new schema: a report takes a number from the notices' counters (prefix "TB-<period>"),
its PDF is stored content-addressed (reports/<ab>/<sha256>.pdf, written before anything
records it), and its issue is an audit record ("report.issued", object "period_report",
id = the file's SHA-256: indexed), which is what the public check finds it by.

`build_context` returns a plain dict (no ORM object reaches the template); `issue` renders,
signs, stores and records. Functions flush, never commit. Needs an app context
(templates, translations).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shopper.audit import service as audit
from shopper.audit.models import AuditRecord
from shopper.auth.models import User
from shopper.inspections.models import Inspection, Status
from shopper.notices import document, signing
from shopper.notices import service as notices
from shopper.org.models import Outlet, SubBranch
from shopper.periods.models import Assignment, AssignmentKind, Period, PeriodState
from shopper.photos.storage import Storage
from shopper.results import charts
from shopper.results import service as results

OBJECT_TYPE = "period_report"
ACTION = "report.issued"
TEMPLATE = "results/report.html"
# more ranked outlets than this: the report shows the best and the last OUTLETS_SHOWN
OUTLETS_IN_FULL = 60
OUTLETS_SHOWN = 20
WEAK_SHOWN = 10


def report_key(sha256: str) -> str:
    return f"reports/{sha256[:2]}/{sha256}.pdf"


def _fmt(value: Decimal | None, places: str = "0.1") -> str | None:
    return None if value is None else str(Decimal(value).quantize(Decimal(places)))


def _plain(value: Decimal) -> str:
    """85.0 → "85", 82.5 → "82.5": a threshold as people write it."""
    return format(Decimal(value).normalize(), "f")


def _share(done: int, total: int) -> str | None:
    return None if not total else f"{Decimal(done * 100) / total:.1f}%"


# ---- the context -------------------------------------------------------------------------


def _thresholds(period: Period, config: Mapping[str, Any]) -> dict[str, Decimal | int]:
    """The period's own programme thresholds, else the configured defaults."""

    def pick(own, name, default):
        return own if own is not None else config.get(name, default)

    return {
        "coverage_share": Decimal(str(pick(period.coverage_share, "COVERAGE_SHARE", "0.60"))),
        "video_per_outlet": int(pick(period.video_checks_per_outlet, "VIDEO_CHECKS_PER_OUTLET", 2)),
        "reinspection_below": Decimal(
            str(pick(period.reinspection_below, "REINSPECTION_BELOW", "85"))
        ),
    }


def coverage(session: Session, period: Period, config: Mapping[str, Any]) -> dict[str, Any]:
    """How much of the plan was done: sub-branches and outlets visited by the agency, video
    checks by the bank's staff, re-inspections; each against its rule."""
    rules = _thresholds(period, config)
    video = Assignment.kind == AssignmentKind.VIDEO
    released = Inspection.status == Status.RELEASED
    planned = session.execute(
        select(
            func.count(func.distinct(Outlet.sub_branch_id)).filter(~video),
            func.count(func.distinct(Assignment.outlet_id)).filter(~video),
            func.count().filter(video),
            func.count(func.distinct(Assignment.outlet_id)).filter(Assignment.reinspection),
        )
        .select_from(Assignment)
        .join(Outlet, Outlet.id == Assignment.outlet_id)
        .where(Assignment.period_id == period.id)
    ).one()
    done = session.execute(
        select(
            func.count(func.distinct(Outlet.sub_branch_id)).filter(~video),
            func.count(func.distinct(Inspection.outlet_id)).filter(~video),
            func.count().filter(video),
            func.count(func.distinct(Inspection.outlet_id)).filter(Assignment.reinspection),
            func.count(),
        )
        .select_from(Inspection)
        .join(Assignment, Assignment.id == Inspection.assignment_id)
        .join(Outlet, Outlet.id == Inspection.outlet_id)
        .where(Inspection.period_id == period.id, released)
    ).one()
    per_outlet = (
        select(Inspection.outlet_id)
        .join(Assignment, Assignment.id == Inspection.assignment_id)
        .where(Inspection.period_id == period.id, released, video)
        .group_by(Inspection.outlet_id)
        .having(func.count() >= rules["video_per_outlet"])
        .subquery()
    )
    enough_video = session.scalar(select(func.count()).select_from(per_outlet)) or 0
    sub_branches = session.scalar(select(func.count()).select_from(SubBranch)) or 0
    outlets = session.scalar(select(func.count()).select_from(Outlet)) or 0
    share = rules["coverage_share"]
    needed_outlets = -(-int(share * 1000) * outlets // 1000)  # ceil(share × outlets)
    percent = f"{share * 100:.0f}%"
    below = _plain(rules["reinspection_below"])
    rows = [
        {
            "label": _("Sub-branches visited"),
            "planned": planned[0],
            "done": done[0],
            "share": _share(done[0], sub_branches),
            "rule": _("every sub-branch (%(count)s)", count=sub_branches),
            "met": done[0] >= sub_branches,
        },
        {
            "label": _("Outlets visited by the agency"),
            "planned": planned[1],
            "done": done[1],
            "share": _share(done[1], outlets),
            "rule": _("at least %(share)s of %(count)s outlets", share=percent, count=outlets),
            "met": done[1] >= needed_outlets,
        },
        {
            "label": _("Video checks by bank staff"),
            "planned": planned[2],
            "done": done[2],
            "share": _share(done[2], planned[2]),
            "rule": _("at least %(count)s per outlet", count=rules["video_per_outlet"]),
            "met": None,
        },
        {
            "label": _("Outlets with enough video checks"),
            "planned": outlets,
            "done": enough_video,
            "share": _share(enough_video, outlets),
            "rule": _("every outlet"),
            "met": enough_video >= outlets,
        },
        {
            "label": _("Outlets re-inspected"),
            "planned": planned[3],
            "done": done[3],
            "share": _share(done[3], planned[3]),
            "rule": _("every outlet under %(score)s last period", score=below),
            "met": done[3] >= planned[3],
        },
    ]
    return {
        "rows": rows,
        "released": done[4],
        "mystery_done": done[4] - done[2],
        "video_done": done[2],
        "reinspection_below": below,
    }


def _outlet(o, names: Mapping[int, str]) -> dict[str, Any]:
    return {
        "rank": o.rank,
        "code": o.code,
        "name": o.name,
        "sub_branch": names.get(o.sub_branch_id, o.sub_branch_code),
        "score": _fmt(o.score),
        "band": o.band,
        "red_line": bool(o.red_line),
        "reinspection": bool(o.reinspection),
    }


def _deduction_groups(ranked, names) -> list[dict[str, Any]]:
    bands = list(ranked.bands)
    groups = []
    for n, (code, rows) in enumerate(ranked.deductions.items()):
        index = next(i for i, b in enumerate(bands) if b.code == code)
        limit = _fmt(bands[index - 1].minimum, "1") if index > 0 else None
        red = bands[index].red_line
        if n == 0:
            title = _("Performance pay deducted: under %(limit)s", limit=limit)
        elif red:
            title = _("Heavier deduction: under %(limit)s, or a red line failed", limit=limit)
        else:
            title = _("Heavier deduction: under %(limit)s", limit=limit)
        groups.append({"band": code, "title": title, "rows": [_outlet(o, names) for o in rows]})
    return groups


def _reinspections(
    session: Session, period: Period, ranked, names, settings: results.Settings
) -> list[dict]:
    """Each outlet planned for (or flagged as) re-inspection: last period's score, this
    one's, the change and the outcome; the outlets still failing first."""
    passing = {b.code for b in settings.bands if b.passing}
    now = {o.outlet_id: o for o in ranked.outlets}
    planned = session.execute(
        select(Outlet.id, Outlet.code, Outlet.name, Outlet.sub_branch_id)
        .join(Assignment, Assignment.outlet_id == Outlet.id)
        .where(Assignment.period_id == period.id, Assignment.reinspection)
        .distinct()
    ).all()
    outlets = {row.id: (row.code, row.name, row.sub_branch_id) for row in planned}
    for o in ranked.reinspections:
        outlets.setdefault(o.outlet_id, (o.code, o.name, o.sub_branch_id))
    if not outlets:
        return []
    before: dict[int, Decimal] = {}
    previous = results.previous_period(session, period)
    if previous is not None:
        before = {
            o.outlet_id: o.score for o in results.rankings(session, previous, settings).outlets
        }
    rows = []
    for outlet_id, (code, name, sub_branch_id) in outlets.items():
        row = now.get(outlet_id)
        last = (
            row.previous if row is not None and row.previous is not None else before.get(outlet_id)
        )
        outcome = "pending" if row is None else "passed" if row.band in passing else "failed"
        rows.append(
            {
                "code": code,
                "name": name,
                "sub_branch": names.get(sub_branch_id, ""),
                "previous": _fmt(last),
                "score": _fmt(row.score) if row else None,
                "change": _number(row.score - last) if row and last is not None else None,
                "outcome": outcome,
            }
        )
    rows.sort(key=lambda r: ({"failed": 0, "pending": 1, "passed": 2}[r["outcome"]], r["code"]))
    return rows


def _number(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _charts(session, period, ranked, weak, settings) -> list[dict[str, Any]]:
    """The results' SVG charts (shopper.results.charts) as data: URIs, each with its
    text alternative: the renderer fetches nothing else."""
    out = []
    for chart in charts.report_charts(session, period, ranked, weak, settings):
        svg = base64.b64encode(chart["svg"].encode("utf-8")).decode("ascii")
        out.append(
            {
                "section": chart["section"],
                "title": chart["title"],
                "uri": "data:image/svg+xml;base64," + svg,
                "alt": chart.get("alt", ""),
            }
        )
    return out


def build_context(
    session: Session,
    period: Period,
    config: Mapping[str, Any],
    *,
    number: str,
    lang: str,
) -> dict[str, Any]:
    """The report's plain data, in `lang` (its texts are translated here)."""
    settings = notices.Settings.from_config(config)
    result_settings = results.Settings.from_config(config)
    locale = document.locale_for(lang)
    with force_locale(locale):
        ranked = results.rankings(session, period, result_settings)
        names = {s.sub_branch_id: s.name for s in ranked.sub_branches}
        outlets = [_outlet(o, names) for o in ranked.outlets]
        weak = results.weak_indicators(session, period, locale=locale)
        scored = [o.score for o in ranked.outlets]
        passing = {b.code for b in ranked.bands if b.passing}
        context: dict[str, Any] = {
            "number": number,
            "bank": settings.bank or _("Demo Bank"),
            "issuer": settings.issuer or _("Service Quality Office, Head Office"),
            "period": period.code,
            "starts_on": period.starts_on.isoformat(),
            "ends_on": period.ends_on.isoformat(),
            "closed": period.state == PeriodState.CLOSED,
            "issued_on": notices.local_today(config.get("TIMEZONE", "Asia/Shanghai")).isoformat(),
            "verify_url": f"{settings.public_url}/verify/",
            "coverage": coverage(session, period, config),
            "summary": {
                "ranked": len(scored),
                "average": _fmt(sum(scored, Decimal(0)) / len(scored)) if scored else None,
                "failed": sum(1 for o in ranked.outlets if o.band not in passing),
            },
            "sub_branches": [
                {
                    "rank": s.rank,
                    "code": s.code,
                    "name": s.name,
                    "score": _fmt(s.score, "0.01"),
                    "band": s.band,
                    "outlets": s.outlets,
                    "red_lines": s.red_lines,
                    "bottom": bool(s.review),
                }
                for s in ranked.sub_branches
            ],
            "bottom_three": [
                {"rank": s.rank, "code": s.code, "name": s.name, "score": _fmt(s.score, "0.01")}
                for s in ranked.bottom
            ],
            "outlets": outlets,
            "outlets_cut": OUTLETS_SHOWN if len(outlets) > OUTLETS_IN_FULL else 0,
            "outlets_top": outlets[:OUTLETS_SHOWN],
            "outlets_bottom": outlets[-OUTLETS_SHOWN:],
            "recognition_minimum": _fmt(ranked.bands[0].minimum, "1") if ranked.bands else "",
            "recognitions": [_outlet(o, names) for o in ranked.recognitions],
            "deductions": _deduction_groups(ranked, names),
            "weak": [
                {
                    "checklist": w.checklist,
                    "item": w.item,
                    "text": w.text,
                    "applied": w.applied,
                    "failed": w.failed,
                    "rate": _fmt(w.rate),
                    "change": _number(w.change),
                }
                for w in [w for w in weak if w.failed][:WEAK_SHOWN]
            ],
            "reinspection_below": _plain(_thresholds(period, config)["reinspection_below"]),
            "reinspections": _reinspections(session, period, ranked, names, result_settings),
            "charts": _charts(
                session, period, ranked, [w for w in weak if w.failed], result_settings
            ),
        }
    return context


def render_html(context: dict[str, Any], lang: str) -> str:
    """The report's HTML in `lang` (Chinese unless "en"), from `build_context`'s dict."""
    locale = document.locale_for(lang)
    with force_locale(locale):
        return render_template(
            TEMPLATE,
            report=context,
            lang="en" if locale == "en" else "zh",
            page_words=document.page_words(),
            seal_uri=document.seal_data_uri(context["bank"], _("Inspection Seal")),
            qr_uri=document.qr_data_uri(context["verify_url"]),
        )


# ---- issuing and finding -----------------------------------------------------------------


@dataclass(frozen=True)
class IssuedReport:
    number: str
    period_id: int
    period: str
    sha256: str
    size: int
    storage_key: str
    lang: str
    issued_at: str  # ISO, UTC
    issued_by: str


def issue(
    session: Session,
    store: Storage,
    user: User | None,
    period: Period,
    config: Mapping[str, Any],
    *,
    lang: str = "zh_CN",
) -> IssuedReport:
    """Make, sign, store and record a new report of `period` in `lang`; every call is a
    new report with its own number (a report, once issued, is never regenerated). The PDF
    is written before the record that points at it."""
    settings = notices.Settings.from_config(config)
    settings.ready()
    locale = document.locale_for(lang)
    number = notices.next_number(session, f"TB-{period.code}")
    context = build_context(session, period, config, number=number, lang=locale)
    html = render_html(context, locale)
    pdf = signing.pdf_and_sign_from_html(
        html,
        settings.signer_args,
        {
            "signer_name": context["issuer"],
            "reason": number,
            "location": context["bank"],
            "labels": document.stamp_labels(locale),
            "tsa_url": settings.tsa_url,
        },
    )
    sha = hashlib.sha256(pdf).hexdigest()
    key = report_key(sha)
    store.put(key, pdf)
    changes = {
        "number": number,
        "period_id": period.id,
        "period": period.code,
        "lang": locale,
        "size": len(pdf),
        "storage_key": key,
    }
    record = audit.record(session, user, ACTION, OBJECT_TYPE, sha, changes)
    session.flush()
    return _issued(record)


def _issued(record: AuditRecord) -> IssuedReport:
    data = json.loads(record.changes)
    return IssuedReport(
        number=data["number"],
        period_id=int(data["period_id"]),
        period=data["period"],
        sha256=record.object_id,
        size=int(data["size"]),
        storage_key=data["storage_key"],
        lang=data["lang"],
        issued_at=record.at.isoformat(),
        issued_by=record.actor,
    )


def _records(session: Session):
    return session.scalars(
        select(AuditRecord)
        .where(AuditRecord.object_type == OBJECT_TYPE, AuditRecord.action == ACTION)
        .order_by(AuditRecord.seq.desc())
    )


def reports_of(session: Session, period: Period) -> list[IssuedReport]:
    """The period's reports, newest first (a handful of audit records)."""
    return [r for r in map(_issued, _records(session)) if r.period_id == period.id]


def find_by_sha(session: Session, sha256: str) -> IssuedReport | None:
    """The report whose PDF has this SHA-256 (an indexed look-up), or None."""
    record = session.scalar(
        select(AuditRecord).where(
            AuditRecord.object_type == OBJECT_TYPE,
            AuditRecord.object_id == sha256,
            AuditRecord.action == ACTION,
        )
    )
    return _issued(record) if record is not None else None


def find_by_number(session: Session, period: Period, number: str) -> IssuedReport | None:
    return next((r for r in reports_of(session, period) if r.number == number), None)


def verified(issued: IssuedReport, config: Mapping[str, Any]) -> dict[str, Any]:
    """What the public check shows of a genuine report (the verify page's fields)."""
    zone = config.get("TIMEZONE", "Asia/Shanghai")
    return {
        "number": issued.number,
        "kind": OBJECT_TYPE,
        "outlet": None,
        "sub_branch": _("Review meeting of period %(period)s", period=issued.period),
        "issued_on": notices.local_today(zone, datetime.fromisoformat(issued.issued_at)),
        "superseded_by": None,
    }
