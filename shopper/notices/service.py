"""Notices and the rectification loop: release → findings → signed notice → answers →
decisions → closed. Every state change goes through one function here that takes the acting
user and writes a timeline event; functions `flush()` and never commit.

Imports run one way: this module uses shopper.inspections and shopper.photos, never the
reverse.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from shopper.audit import service as audit
from shopper.auth.models import Role, User
from shopper.core import rectification as machine
from shopper.core import scoring, workdays
from shopper.db import change_if, utcnow
from shopper.i18n import localized
from shopper.inspections import service as inspections
from shopper.inspections import visit as visits
from shopper.inspections.models import Answer, Inspection, Status
from shopper.notices import document, signing
from shopper.notices.models import (
    Decision,
    Finding,
    FindingResponse,
    FindingStatus,
    Kind,
    Notice,
    NoticeCounter,
    NoticeEvent,
    ResponseComment,
    ResponseKind,
    ResponsePhoto,
    ScoreRevision,
)
from shopper.notices.pki import ensure_pki
from shopper.org.models import Outlet, SubBranch
from shopper.periods.models import Period
from shopper.photos import service as photos
from shopper.photos.models import Photo
from shopper.photos.storage import Storage, photo_keys
from shopper.refusals import Refused
from shopper.results import service as results

MAX_TEXT = 2000
MAX_RESPONSE_PHOTOS = 6


@dataclass(frozen=True)
class Settings:
    """What issuing needs from configuration, read once by the caller."""

    signer_args: tuple[str | None, str | None, str | None]
    tsa_url: str | None
    public_url: str
    deadline_days: int
    dispute_days: int
    holidays: frozenset[date]
    bands: Sequence[scoring.Band]
    bank: str | None = None
    issuer: str | None = None
    photo_limits: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        return cls(
            signer_args=(
                None if config.get("SIGNING_P12") else config["PKI_DIR"],
                config.get("SIGNING_P12"),
                config.get("SIGNING_P12_PASSPHRASE"),
            ),
            tsa_url=config.get("TSA_URL"),
            public_url=config["PUBLIC_URL"].rstrip("/"),
            deadline_days=int(config["NOTICE_DEADLINE_WORKING_DAYS"]),
            dispute_days=int(config["DISPUTE_WORKING_DAYS"]),
            holidays=workdays.holidays_from(config.get("HOLIDAYS") or []),
            bands=scoring.bands_from_config(config["SCORE_BANDS"], config.get("RED_LINE_BAND")),
            bank=config.get("BANK_NAME"),
            issuer=config.get("ISSUING_OFFICE"),
            photo_limits={
                "max_pixels": config["PHOTO_MAX_PIXELS"],
                "max_pixels_by_format": config["PHOTO_MAX_PIXELS_BY_FORMAT"],
            },
        )

    def ready(self) -> None:
        """Make the organisation's PKI on first use (nothing to do with a PKCS#12 file)."""
        if self.signer_args[0]:
            ensure_pki(self.signer_args[0], organisation=self.bank or "Shopper")


def event(
    session: Session,
    kind: str,
    user: User | None,
    *,
    inspection_id: int | None = None,
    notice_id: int | None = None,
    finding_id: int | None = None,
    detail: str = "",
) -> None:
    session.add(
        NoticeEvent(
            kind=kind,
            user_id=user.id if user else None,
            inspection_id=inspection_id,
            notice_id=notice_id,
            finding_id=finding_id,
            detail=detail,
        )
    )
    # the same change of state, in the audit trail: about the finding, the notice or the
    # inspection, whichever is most specific
    kind_of, object_id = (
        ("finding", finding_id)
        if finding_id
        else ("notice", notice_id)
        if notice_id
        else ("inspection", inspection_id)
    )
    ids = {"inspection": inspection_id, "notice": notice_id, "finding": finding_id}
    changes = {k: v for k, v in ids.items() if v is not None and k != kind_of}
    audit.record(
        session,
        user,
        kind,
        kind_of,
        object_id,
        {**changes, **({"detail": detail} if detail else {})},
    )


def local_today(zone: str, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(zone)).date()


# ---- who sees what ---------------------------------------------------------------------


def notices_visible_to(user: User) -> Select:
    """Notices `user` may open: head office all; a sub-branch its own and its outlets'; an
    outlet manager its outlet's notices only. Inspectors none."""
    query = select(Notice)
    role = Role(user.role)
    if role is Role.ADMIN:
        return query
    if role is Role.SUB_BRANCH_MANAGER:
        return query.where(Notice.sub_branch_id == user.sub_branch_id)
    if role is Role.OUTLET_MANAGER:
        return query.where(Notice.kind == Kind.OUTLET, Notice.outlet_id == user.outlet_id)
    return query.where(Notice.id.is_(None))


def findings_visible_to(user: User) -> Select:
    query = select(Finding)
    role = Role(user.role)
    if role is Role.ADMIN:
        return query
    if role is Role.SUB_BRANCH_MANAGER:
        return query.join(Outlet, Finding.outlet_id == Outlet.id).where(
            Outlet.sub_branch_id == user.sub_branch_id
        )
    if role is Role.OUTLET_MANAGER:
        return query.where(Finding.outlet_id == user.outlet_id)
    return query.where(Finding.id.is_(None))


def get_notice(session: Session, user: User, notice_id: int) -> Notice:
    notice = session.scalar(notices_visible_to(user).where(Notice.id == notice_id))
    if notice is None:
        raise Refused("not_found", 404)
    return notice


def get_finding(session: Session, user: User, finding_id: int) -> Finding:
    finding = session.scalar(findings_visible_to(user).where(Finding.id == finding_id))
    if finding is None:
        raise Refused("not_found", 404)
    return finding


def get_response(session: Session, user: User, response_id: int) -> FindingResponse:
    response = session.get(FindingResponse, response_id)
    if response is None:
        raise Refused("not_found", 404)
    get_finding(session, user, response.finding_id)
    return response


def may_view_photo(session: Session, user: User, sha256: str) -> bool:
    """A photo of an answer to a finding the user may see."""
    query = (
        findings_visible_to(user)
        .join(FindingResponse, FindingResponse.finding_id == Finding.id)
        .join(ResponsePhoto, ResponsePhoto.response_id == FindingResponse.id)
        .where(ResponsePhoto.sha256 == sha256)
        .limit(1)
    )
    return session.scalar(query) is not None


def successor(session: Session, notice: Notice) -> Notice | None:
    return session.scalar(select(Notice).where(Notice.supersedes_id == notice.id))


def current_notice(session: Session, inspection: Inspection) -> Notice | None:
    """The inspection's outlet notice that no later notice supersedes."""
    superseded = select(Notice.supersedes_id).where(Notice.supersedes_id.is_not(None))
    return session.scalar(
        select(Notice)
        .where(Notice.inspection_id == inspection.id, Notice.id.not_in(superseded))
        .order_by(Notice.id.desc())
        .limit(1)
    )


def findings_of(session: Session, inspection_id: int) -> list[Finding]:
    return list(
        session.scalars(
            select(Finding).where(Finding.inspection_id == inspection_id).order_by(Finding.id)
        )
    )


def notice_status(session: Session, notice: Notice) -> str:
    findings = findings_of(session, notice.inspection_id) if notice.inspection_id else []
    return machine.notice_status(
        [f.status for f in findings],
        acknowledged=notice.acknowledged_at is not None,
        superseded=successor(session, notice) is not None,
        closed=notice.closed_at is not None or notice.kind == Kind.SUB_BRANCH,
    )


# ---- release and return ----------------------------------------------------------------


def release(
    session: Session,
    store: Storage,
    user: User | None,
    inspection: Inspection,
    settings: Settings,
) -> Notice | None:
    """Release a submitted inspection: it counts, its outlet sees it, its failed items become
    findings and, when there is one, the outlet's signed notice is issued.

    Raises Refused("not_waiting_for_release", 409) when it is not waiting for release.
    """
    inspections.release(session, user, inspection)
    event(session, "released", user, inspection_id=inspection.id)
    today = local_today(inspection.outlet.timezone)
    if not open_findings(session, inspection, settings, today):
        return None
    return issue_outlet_notice(session, store, user, inspection, settings)


def return_to_inspector(session: Session, user: User, inspection: Inspection, reason: str) -> None:
    """See inspections.service.return_to_inspector; writes the timeline event too."""
    inspections.return_to_inspector(session, user, inspection, reason)
    event(session, "returned", user, inspection_id=inspection.id, detail=reason.strip())


def open_findings(
    session: Session, inspection: Inspection, settings: Settings, today: date
) -> list[Finding]:
    """One finding per failed item of the inspection (idempotent)."""
    existing = {
        (f.checklist_version_id, f.item_code): f for f in findings_of(session, inspection.id)
    }
    deadline = workdays.add_working_days(today, settings.deadline_days, settings.holidays)
    dispute = workdays.add_working_days(today, settings.dispute_days, settings.holidays)
    failed = session.scalars(
        select(Answer)
        .where(Answer.inspection_id == inspection.id, Answer.result == scoring.Result.FAIL)
        .order_by(Answer.id)
    )
    found = []
    for answer in failed:
        key = (answer.checklist_version_id, answer.item_code)
        finding = existing.get(key)
        if finding is None:
            finding = Finding(
                inspection_id=inspection.id,
                outlet_id=inspection.outlet_id,
                checklist_version_id=answer.checklist_version_id,
                item_code=answer.item_code,
                status=FindingStatus.OPEN,
                deadline=deadline,
                dispute_deadline=dispute,
            )
            session.add(finding)
        found.append(finding)
    session.flush()
    return found


# ---- issuing ---------------------------------------------------------------------------


def next_number(session: Session, prefix: str) -> str:
    """The next notice number under `prefix`; a number once used is never used again.

    An atomic `last = last + 1` (it takes the row's write lock): two notices issued at once
    never get the same number."""
    bumped = session.execute(
        update(NoticeCounter)
        .where(NoticeCounter.prefix == prefix)
        .values(last=NoticeCounter.last + 1)
        .execution_options(synchronize_session=False)
    )
    if bumped.rowcount == 0:
        session.add(NoticeCounter(prefix=prefix, last=1))
        session.flush()
    last = session.scalar(
        select(NoticeCounter.last)
        .where(NoticeCounter.prefix == prefix)
        .execution_options(populate_existing=True)
    )
    return f"{prefix}-{last:05d}"


def notice_key(sha256: str) -> str:
    return f"notices/{sha256[:2]}/{sha256}.pdf"


def _data_uri(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def _fmt(value: Any) -> str | None:
    return None if value is None else f"{value:.1f}" if not isinstance(value, str) else value


def outlet_context(
    session: Session,
    store: Storage,
    inspection: Inspection,
    settings: Settings,
    *,
    number: str,
    supersedes: str | None,
    issued_on: date,
) -> dict[str, Any]:
    """The plain data of an outlet notice, in the current locale (the notice's language).
    Item texts are those of the version the inspection pinned; photos are print copies."""
    findings = {
        (f.checklist_version_id, f.item_code): f
        for f in findings_of(session, inspection.id)
        if f.status != FindingStatus.WITHDRAWN
    }
    answers = {
        (a.checklist_version_id, a.item_code): a
        for a in session.scalars(select(Answer).where(Answer.inspection_id == inspection.id))
    }
    photo_map: dict[tuple[int, str], list[Photo]] = {}
    for photo in session.scalars(
        select(Photo).where(Photo.inspection_id == inspection.id).order_by(Photo.id)
    ):
        photo_map.setdefault((photo.checklist_version_id, photo.item_code), []).append(photo)
    scores = {(s.checklist_version_id, s.section_code): s for s in inspection.section_scores}
    rows, sections = [], []
    for pin in inspections.pinned(inspection):
        checklist_title = localized(pin.checklist.title)
        for section in pin.checklist.sections:
            scored = scores.get((pin.version.id, section.code))
            if scored is not None:
                sections.append(
                    {
                        "checklist": checklist_title,
                        "title": localized(section.title),
                        "earned": _fmt(scored.earned),
                        "applicable": _fmt(scored.applicable),
                        "score": _fmt(scored.score),
                    }
                )
            for item in section.items:
                finding = findings.get((pin.version.id, item.code))
                if finding is None:
                    continue
                answer = answers.get((pin.version.id, item.code))
                rows.append(
                    {
                        "n": len(rows) + 1,
                        "checklist": checklist_title,
                        "section": localized(section.title),
                        "code": item.code,
                        "text": localized(item.text),
                        "points": _fmt(item.points),
                        "red_line": item.red_line,
                        "note": answer.note if answer else "",
                        "action": localized(item.guidance),
                        "photos": [
                            _data_uri(store.get(photo_keys(p.sha256)["print"]))
                            for p in photo_map.get((pin.version.id, item.code), [])
                        ],
                        "deadline": finding.deadline.isoformat(),
                    }
                )
    visit = visits.visit_data(inspection)
    windows = (
        f"{visit['windows_open']} / {visit['windows_total']}"
        if visit["windows_open"] and visit["windows_total"]
        else None
    )
    original = inspection.submissions[-1].score if inspection.submissions else None
    deadlines = [f.deadline for f in findings.values()]
    disputes = [f.dispute_deadline for f in findings.values()]
    outlet = inspection.outlet
    return {
        "kind": Kind.OUTLET.value,
        "number": number,
        "supersedes": supersedes,
        "bank": settings.bank or _("Demo Bank"),
        "issuer": settings.issuer or _("Service Quality Office, Head Office"),
        "issued_on": issued_on.isoformat(),
        "deadline": max(deadlines).isoformat() if deadlines else None,
        "dispute_deadline": max(disputes).isoformat() if disputes else None,
        "outlet": outlet.name,
        "outlet_code": outlet.code,
        "sub_branch": outlet.sub_branch.name,
        "period": inspection.period.code,
        "visit_date": visit["day"],
        "mode": inspection.mode,
        "agency": inspection.inspector.agency.name if inspection.inspector.agency else "",
        "inspector": inspection.inspector.display_name,
        "visit": {
            "arrived": visit["arrived_at"],
            "departed": visit["departed_at"],
            "waiting_minutes": visit["waiting_minutes"],
            "customers_waiting": visit["customers_waiting"] or None,
            "windows": windows,
            "business": visit["business"],
            "teller_window": visit["teller_window"],
            "teller_badge": visit["teller_badge"],
        },
        "score": _fmt(inspection.score),
        "band": inspection.band,
        "red_line_failed": bool(inspection.red_line_failed),
        "revised_from": _fmt(original) if original != inspection.score else None,
        "sections": sections,
        "findings": rows,
        "verify_url": f"{settings.public_url}/verify/{number}",
    }


def store_notice(store: Storage, pdf: bytes) -> tuple[str, str]:
    """Write the PDF (before any row points at it); its SHA-256 and storage key."""
    sha = hashlib.sha256(pdf).hexdigest()
    key = notice_key(sha)
    store.put(key, pdf)
    return sha, key


@dataclass
class Prepared:
    """A notice ready to render: its number and context, and the row's fields."""

    context: dict[str, Any]
    lang: str
    fields: dict[str, Any]
    supersedes: Notice | None = None

    def html(self) -> str:
        return document.render_html(self.context, self.lang)

    def sign_kwargs(self, settings: Settings) -> dict[str, Any]:
        return {
            "signer_name": self.context["issuer"],
            "reason": self.context["number"],
            "location": self.context["bank"],
            "labels": document.stamp_labels(self.lang),
            "tsa_url": settings.tsa_url,
        }


def prepare_outlet_notice(
    session: Session,
    store: Storage,
    inspection: Inspection,
    settings: Settings,
    *,
    supersedes: Notice | None = None,
) -> Prepared:
    """Number and context of the outlet's notice of a released inspection.

    Raises Refused("not_released", 409) and Refused("no_findings", 409).
    """
    if inspection.status != Status.RELEASED:
        raise Refused("not_released", 409)
    if not [f for f in findings_of(session, inspection.id) if f.status != FindingStatus.WITHDRAWN]:
        raise Refused("no_findings", 409)
    lang = document.locale_for(inspection.outlet.language)
    number = next_number(session, f"ZG-{inspection.period.code}")
    today = local_today(inspection.outlet.timezone)
    with force_locale(lang):
        context = outlet_context(
            session,
            store,
            inspection,
            settings,
            number=number,
            supersedes=supersedes.number if supersedes else None,
            issued_on=today,
        )
    fields = {
        "number": number,
        "kind": Kind.OUTLET,
        "sub_branch_id": inspection.outlet.sub_branch_id,
        "outlet_id": inspection.outlet_id,
        "inspection_id": inspection.id,
        "period_id": inspection.period_id,
        "lang": lang,
        "deadline": date.fromisoformat(context["deadline"]) if context["deadline"] else None,
    }
    return Prepared(context, lang, fields, supersedes)


def sign_prepared(prepared: Prepared, settings: Settings) -> bytes:
    """Render and sign in this process (the bulk command signs in worker processes)."""
    settings.ready()
    return signing.pdf_and_sign_from_html(
        prepared.html(), settings.signer_args, prepared.sign_kwargs(settings)
    )


def record_prepared(
    session: Session, store: Storage, user: User | None, prepared: Prepared, pdf: bytes
) -> Notice:
    return _record(session, store, user, pdf, supersedes=prepared.supersedes, **prepared.fields)


def issue_outlet_notice(
    session: Session,
    store: Storage,
    user: User | None,
    inspection: Inspection,
    settings: Settings,
    *,
    supersedes: Notice | None = None,
) -> Notice:
    """Issue (render, sign, store) the outlet's notice of a released inspection.

    Raises Refused("not_released", 409) and Refused("no_findings", 409). A notice is never
    regenerated: with `supersedes` a new number is made that names the older notice.
    """
    prepared = prepare_outlet_notice(session, store, inspection, settings, supersedes=supersedes)
    return record_prepared(session, store, user, prepared, sign_prepared(prepared, settings))


def _record(session: Session, store: Storage, user: User | None, pdf: bytes, **fields) -> Notice:
    sha, key = store_notice(store, pdf)
    supersedes = fields.pop("supersedes", None)
    notice = Notice(
        sha256=sha,
        size=len(pdf),
        storage_key=key,
        issued_by_id=user.id if user else None,
        supersedes_id=supersedes.id if supersedes else None,
        **fields,
    )
    session.add(notice)
    session.flush()
    detail = supersedes.number if supersedes else ""
    event(
        session,
        "reissued" if supersedes else "issued",
        user,
        inspection_id=notice.inspection_id,
        notice_id=notice.id,
        detail=detail,
    )
    session.flush()
    return notice


def pdf_of(store: Storage, notice: Notice) -> bytes:
    return store.get(notice.storage_key)


def find_by_sha(session: Session, sha256: str) -> Notice | None:
    return session.scalar(select(Notice).where(Notice.sha256 == sha256))


def find_by_number(session: Session, number: str) -> Notice | None:
    return session.scalar(select(Notice).where(Notice.number == number))


# ---- sub-branch notices ----------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    start: date
    end: date
    period: Period | None = None

    @property
    def label(self) -> str:
        if self.period is not None:
            return self.period.code
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


def released_in(session: Session, span: Range) -> list[Inspection]:
    query = select(Inspection).where(Inspection.status == Status.RELEASED)
    if span.period is not None:
        query = query.where(Inspection.period_id == span.period.id)
    else:
        # a day either side in UTC, then the visit's own day in the outlet's time zone
        lo = datetime.combine(span.start, time.min, UTC) - timedelta(days=1)
        hi = datetime.combine(span.end, time.max, UTC) + timedelta(days=1)
        query = query.where(Inspection.started_at.between(lo, hi))
    found = session.scalars(query.order_by(Inspection.id))
    return [i for i in found if span.start <= visits.visit_day(i) <= span.end]


def ranking(inspections_: Sequence[Inspection]) -> list[tuple[int, float | None]]:
    """Sub-branches by their outlets' average score, best first: (sub_branch_id, average)."""
    by_branch: dict[int, list[float]] = {}
    for i in inspections_:
        by_branch.setdefault(i.outlet.sub_branch_id, [])
        if i.score is not None:
            by_branch[i.outlet.sub_branch_id].append(float(i.score))
    averages = [
        (branch, round(sum(s) / len(s), 1) if s else None) for branch, s in by_branch.items()
    ]
    return sorted(averages, key=lambda r: (r[1] is None, -(r[1] or 0), r[0]))


def sub_branch_contexts(
    session: Session, span: Range, settings: Settings, *, lang: str = "zh_CN"
) -> list[tuple[SubBranch, dict[str, Any], list[Inspection]]]:
    """One context per sub-branch with released inspections in `span` (number unset)."""
    released = released_in(session, span)
    if not released:
        raise Refused("nothing_in_range", 409)
    ranked = ranking(released)
    bottom = {b for b, _avg in ranked[-3:]} if len(ranked) > 3 else set()
    result = []
    for rank, (branch_id, average) in enumerate(ranked, start=1):
        branch = session.get(SubBranch, branch_id)
        assert branch is not None
        mine = [i for i in released if i.outlet.sub_branch_id == branch_id]
        outlets = []
        for i in sorted(mine, key=lambda i: i.outlet.code):
            notice = current_notice(session, i)
            open_ = [f for f in findings_of(session, i.id) if f.status != FindingStatus.WITHDRAWN]
            outlets.append(
                {
                    "outlet": i.outlet.name,
                    "code": i.outlet.code,
                    "score": _fmt(i.score),
                    "band": i.band,
                    "red_line_failed": bool(i.red_line_failed),
                    "findings": len(open_),
                    "notice": notice.number if notice else None,
                    "deadline": notice.deadline.isoformat() if notice and notice.deadline else None,
                    "visit_date": visits.visit_day(i).isoformat(),
                    "mode": i.mode,
                }
            )
        with force_locale(lang):
            context = {
                "kind": Kind.SUB_BRANCH.value,
                "number": "",
                "supersedes": None,
                "bank": settings.bank or _("Demo Bank"),
                "issuer": settings.issuer or _("Service Quality Office, Head Office"),
                "issued_on": local_today(mine[0].outlet.timezone).isoformat(),
                "deadline": max((o["deadline"] for o in outlets if o["deadline"]), default=None),
                "sub_branch": branch.name,
                "range": span.label,
                "rank": rank,
                "of": len(ranked),
                "bottom_three": branch_id in bottom,
                "average": _fmt(average),
                "outlets": outlets,
                "verify_url": "",
            }
        result.append((branch, context, mine))
    return result


def prepare_sub_branch_notices(
    session: Session,
    span: Range,
    settings: Settings,
    *,
    lang: str = "zh_CN",
    skip_issued: bool = False,
) -> list[Prepared]:
    """One 检查整改书 per sub-branch for `span` (a period or a date range), numbered."""
    prepared = []
    for branch, context, _mine in sub_branch_contexts(session, span, settings, lang=lang):
        if (
            skip_issued
            and span.period is not None
            and session.scalar(
                select(Notice.id).where(
                    Notice.kind == Kind.SUB_BRANCH,
                    Notice.sub_branch_id == branch.id,
                    Notice.period_id == span.period.id,
                )
            )
        ):
            continue
        prefix = f"ZGS-{span.period.code}" if span.period else f"ZGS-{span.start.year}"
        number = next_number(session, prefix)
        context = {
            **context,
            "number": number,
            "verify_url": f"{settings.public_url}/verify/{number}",
        }
        fields = {
            "number": number,
            "kind": Kind.SUB_BRANCH,
            "sub_branch_id": branch.id,
            "outlet_id": None,
            "inspection_id": None,
            "period_id": span.period.id if span.period else None,
            "range_start": span.start,
            "range_end": span.end,
            "lang": lang,
            "deadline": date.fromisoformat(context["deadline"]) if context["deadline"] else None,
        }
        prepared.append(Prepared(context, lang, fields))
    return prepared


def issue_sub_branch_notices(
    session: Session,
    store: Storage,
    user: User | None,
    span: Range,
    settings: Settings,
    *,
    lang: str = "zh_CN",
    skip_issued: bool = False,
) -> list[Notice]:
    """Issue one signed 检查整改书 per sub-branch for `span` (with `skip_issued`, none for a
    sub-branch that has its report of that period already)."""
    prepared = prepare_sub_branch_notices(
        session, span, settings, lang=lang, skip_issued=skip_issued
    )
    return [record_prepared(session, store, user, p, sign_prepared(p, settings)) for p in prepared]


# ---- the rectification loop -------------------------------------------------------------


def acknowledge(session: Session, user: User, notice: Notice) -> None:
    """The outlet confirms it received the notice (idempotent)."""
    if notice.kind != Kind.OUTLET or user.role != Role.OUTLET_MANAGER:
        raise Refused("not_found", 404)
    if notice.acknowledged_at is None:
        notice.acknowledged_at = utcnow()
        notice.acknowledged_by_id = user.id
        event(
            session, "acknowledged", user, inspection_id=notice.inspection_id, notice_id=notice.id
        )
        session.flush()


def _text(value: str | None, code: str = "text") -> str:
    value = (value or "").strip()
    if not value:
        raise Refused(f"{code}_required")
    if len(value) > MAX_TEXT:
        raise Refused(f"{code}_too_long", 400, limit=MAX_TEXT)
    return value


def respond(
    session: Session,
    store: Storage,
    user: User,
    finding: Finding,
    *,
    kind: str,
    note: str,
    photos_data: Sequence[bytes],
    client_uuid: str,
    settings: Settings,
    gate: Any = None,
) -> FindingResponse:
    """The outlet answers a finding: rectified (what was done, photos of the fix) or disputed
    (申诉: why, with evidence) — a dispute only until the finding's dispute deadline.

    Idempotent per (user, client_uuid). Raises Refused for another kind, an empty or long
    note, too many or bad photos, a finding not open, a late dispute; nothing is written.
    """
    existing = session.scalar(
        select(FindingResponse).where(
            FindingResponse.by_id == user.id, FindingResponse.client_uuid == client_uuid
        )
    )
    if existing is not None:
        if existing.finding_id != finding.id:
            raise Refused("uuid_reused", 409)
        return existing
    if kind not in set(ResponseKind):
        raise Refused("bad_response_kind")
    note = _text(note)
    if len(photos_data) > MAX_RESPONSE_PHOTOS:
        raise Refused("too_many_photos", 400, limit=MAX_RESPONSE_PHOTOS)
    if finding.status != FindingStatus.OPEN:
        raise Refused("finding_not_open", 409)
    today = local_today(session.get(Outlet, finding.outlet_id).timezone)  # type: ignore[union-attr]
    if kind == ResponseKind.DISPUTED and today > finding.dispute_deadline:
        raise Refused("dispute_too_late", 409, date=finding.dispute_deadline.isoformat())
    # every photo is checked before any is written: one bad photo leaves no stray files
    processed = [photos.check_photo(d, gate=gate, **settings.photo_limits) for d in photos_data]
    for photo in processed:
        photos.put_photo(store, photo)
    response = FindingResponse(
        finding_id=finding.id, kind=kind, note=note, client_uuid=client_uuid, by_id=user.id
    )
    response.photos = [
        ResponsePhoto(sha256=p.sha256, width=p.main.width, height=p.main.height) for p in processed
    ]
    # the status moves only from "open", under the row's lock: two answers at once, one wins
    _move_finding(
        session, finding, FindingStatus.OPEN, machine.next_status(FindingStatus.OPEN, kind)
    )
    session.add(response)
    session.flush()
    notice = current_notice(session, session.get(Inspection, finding.inspection_id))  # type: ignore[arg-type]
    event(
        session,
        kind,
        user,
        inspection_id=finding.inspection_id,
        notice_id=notice.id if notice else None,
        finding_id=finding.id,
        detail=note,
    )
    session.flush()
    return response


def _move_finding(session: Session, finding: Finding, before: str, after: str) -> None:
    """Change a finding's status only from `before` (a conditional UPDATE takes the lock)."""
    if not change_if(session, finding, Finding.status == before, status=after):
        raise Refused("finding_not_open", 409)


def comment(session: Session, user: User, response: FindingResponse, text: str) -> ResponseComment:
    """The sub-branch's supervision note on an outlet's answer."""
    if user.role != Role.SUB_BRANCH_MANAGER:
        raise Refused("not_found", 404)
    entry = ResponseComment(response_id=response.id, by_id=user.id, text=_text(text))
    session.add(entry)
    finding = response.finding
    event(
        session,
        "commented",
        user,
        inspection_id=finding.inspection_id,
        finding_id=finding.id,
        detail=entry.text,
    )
    session.flush()
    return entry


def decide(
    session: Session,
    store: Storage,
    user: User,
    response: FindingResponse,
    decision: str,
    reason: str,
    settings: Settings,
) -> Notice | None:
    """Head office decides an answer. A rejected fix or a dismissed dispute sends the finding
    back to the outlet; an upheld dispute withdraws it, revises the score (the original is
    kept) and reissues the notice when findings remain. When every finding is accepted or
    withdrawn the notice is closed. Returns a reissued notice, if one was made.

    Raises Refused("bad_decision"), Refused("reason_required"), Refused("response_decided",
    409). A decision is final.
    """
    if user.role != Role.ADMIN:
        raise Refused("not_found", 404)
    if decision not in machine.DECISIONS.get(response.kind, ()):
        raise Refused("bad_decision")
    if response.decision is not None:
        raise Refused("response_decided", 409)
    reason = (reason or "").strip()
    if decision in machine.NEEDS_REASON:
        reason = _text(reason, "reason")
    elif len(reason) > MAX_TEXT:
        raise Refused("reason_too_long", 400, limit=MAX_TEXT)
    finding = response.finding
    if not change_if(session, response, FindingResponse.decision.is_(None), decision=decision):
        # decided meanwhile, by another click or another person
        raise Refused("response_decided", 409)
    try:
        after = machine.next_status(finding.status, decision)
    except machine.NotAllowed as exc:
        raise Refused("response_decided", 409) from exc
    _move_finding(session, finding, finding.status, after)
    response.decision = decision
    response.decision_reason = reason or None
    response.decided_by_id = user.id
    response.decided_at = utcnow()
    if finding.status in machine.CLOSED:
        finding.closed_at = utcnow()
    inspection = session.get(Inspection, finding.inspection_id)
    assert inspection is not None
    notice = current_notice(session, inspection)
    event(
        session,
        decision,
        user,
        inspection_id=inspection.id,
        notice_id=notice.id if notice else None,
        finding_id=finding.id,
        detail=reason,
    )
    session.flush()
    reissued = None
    if decision == Decision.UPHELD:
        revise_score(session, user, inspection, finding, reason, settings)
        remaining = [
            f for f in findings_of(session, inspection.id) if f.status not in machine.CLOSED
        ]
        if remaining and notice is not None:
            reissued = issue_outlet_notice(
                session, store, user, inspection, settings, supersedes=notice
            )
            notice = reissued
    if notice is not None and all(
        f.status in machine.CLOSED for f in findings_of(session, inspection.id)
    ):
        notice.closed_at = utcnow()
        event(session, "closed", user, inspection_id=inspection.id, notice_id=notice.id)
    session.flush()
    return reissued


def revise_score(
    session: Session,
    user: User,
    inspection: Inspection,
    finding: Finding,
    reason: str,
    settings: Settings,
) -> ScoreRevision:
    """Score the inspection again with every withdrawn finding counted as passed; the
    original score stays in the submission history and the revision records both."""
    pins = inspections.pinned(inspection)
    answers = dict(inspections.answer_map(session, inspection))
    code_of = {p.version.id: p.checklist.code for p in pins}
    for f in findings_of(session, inspection.id):
        if f.status == FindingStatus.WITHDRAWN:
            key = (code_of[f.checklist_version_id], f.item_code)
            if key in answers:
                answers[key] = scoring.Answer(scoring.Result.PASS, answers[key].note, 0)
    card = scoring.score([p.checklist for p in pins], answers, settings.bands)
    revision = ScoreRevision(
        inspection_id=inspection.id,
        finding_id=finding.id,
        score_before=inspection.score,
        band_before=inspection.band,
        score_after=card.score,
        band_after=card.band.code if card.band else None,
        reason=reason,
        decided_by_id=user.id,
    )
    session.add(revision)
    inspections.set_score(inspection, card, {p.checklist.code: p.version.id for p in pins})
    results.record(session, inspection)
    event(
        session,
        "revised",
        user,
        inspection_id=inspection.id,
        finding_id=finding.id,
        detail=f"{revision.score_before} → {revision.score_after}",
    )
    session.flush()
    return revision


def revisions_of(session: Session, inspection_id: int) -> list[ScoreRevision]:
    return list(
        session.scalars(
            select(ScoreRevision)
            .where(ScoreRevision.inspection_id == inspection_id)
            .order_by(ScoreRevision.id)
        )
    )


def timeline(session: Session, notice: Notice) -> list[NoticeEvent]:
    """Everything that happened to the notice and its inspection's findings, oldest first."""
    query = select(NoticeEvent)
    if notice.inspection_id is not None:
        query = query.where(NoticeEvent.inspection_id == notice.inspection_id)
    else:
        query = query.where(NoticeEvent.notice_id == notice.id)
    return list(session.scalars(query.order_by(NoticeEvent.at, NoticeEvent.id)))
