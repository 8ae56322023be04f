"""The API's requests and responses as marshmallow schemas: the views validate with them and
flask-smorest writes the OpenAPI document from them, so the two cannot drift apart."""

from __future__ import annotations

import json
import re
from datetime import UTC

import marshmallow as ma
from marshmallow import fields, validate

from shopper.api.cursor import MAX_ID, MAX_LENGTH
from shopper.inspections.models import Mode, Status
from shopper.notices.models import FindingStatus, Kind

MAX_LIMIT = 100
DEFAULT_LIMIT = 50
_LEAP_SECOND = re.compile(r":60(?=[.,+\-Z]|$)")


class UtcDateTime(fields.AwareDateTime):
    """An ISO 8601 / RFC 3339 date and time, read as UTC when it names no offset."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=UTC, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):  # RFC 3339 allows a lower-case t and z, and leap seconds
            value = _LEAP_SECOND.sub(":59", value.strip().upper())
        when = super()._deserialize(value, attr, data, **kwargs)
        try:
            return when.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from exc


def _id(description: str) -> fields.Integer:
    return fields.Integer(
        strict=False,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": description},
    )


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE  # a misspelt parameter is refused, never silently ignored


class PageArgs(Strict):
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Rows per page, 1 to {MAX_LIMIT}."},
    )
    cursor = fields.String(
        validate=validate.Regexp(rf"^[A-Za-z0-9_-]{{1,{MAX_LENGTH}}}$"),
        metadata={
            "description": "Where the page starts: the `next_cursor` of the page before, as "
            "given. Leave out for the first page."
        },
    )


class InspectionArgs(PageArgs):
    period = _id("Only inspections of this period.")
    sub_branch = _id("Only inspections of this sub-branch's outlets.")
    outlet = _id("Only inspections of this outlet.")
    changed_since = UtcDateTime(
        metadata={
            "description": "Only inspections changed at or after this time (ISO 8601; UTC when "
            "no offset is given), e.g. 2026-11-23T00:00:00Z."
        }
    )


class NoticeArgs(PageArgs):
    period = _id("Only notices of this period.")
    sub_branch = _id("Only notices to this sub-branch or its outlets.")
    outlet = _id("Only notices to this outlet.")
    kind = fields.String(
        validate=validate.OneOf([k.value for k in Kind]),
        metadata={"description": "outlet (整改通知书) or sub_branch (检查整改书)."},
    )


class OutletArgs(PageArgs):
    sub_branch = _id("Only this sub-branch's outlets.")


class ChecklistVersionArgs(PageArgs):
    code = fields.String(
        validate=validate.Regexp(r"^[a-z0-9_]{1,40}$"),
        metadata={"description": "Only this checklist's versions, e.g. six_s."},
    )


# ---- responses -----------------------------------------------------------------------------


class Error(ma.Schema):
    error = fields.String(
        required=True, metadata={"description": "What went wrong, as a sentence for a person."}
    )
    code = fields.String(required=True, metadata={"description": "A stable code for programs."})
    details = fields.Dict(
        metadata={"description": "Per parameter, what was wrong with it (English)."}
    )


def _time(description: str = "", **kw) -> fields.AwareDateTime:
    return fields.AwareDateTime(
        format="iso", metadata={"description": description} if description else {}, **kw
    )


def _number(description: str = "") -> fields.Float:
    metadata = {"description": description} if description else {}
    return fields.Float(allow_none=True, metadata=metadata)


class PeriodOut(ma.Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    is_current = fields.Boolean(required=True)
    checklist_version_ids = fields.Function(
        lambda p: [c.checklist_version_id for c in p.checklists],
        required=True,
        metadata={
            "type": "array",
            "items": {"type": "integer"},
            "description": "The versions its inspections pin when they start; empty: the "
            "latest published when each starts.",
        },
    )


class OutletOut(ma.Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    sub_branch_id = fields.Integer(required=True)
    sub_branch_code = fields.Function(lambda o: o.sub_branch.code, required=True)
    sub_branch_name = fields.Function(lambda o: o.sub_branch.name, required=True)
    timezone = fields.String(required=True)
    features = fields.Function(
        lambda o: sorted(o.feature_codes),
        required=True,
        metadata={"type": "array", "items": {"type": "string"}},
    )


class AnswerOut(ma.Schema):
    checklist_version_id = fields.Integer(required=True)
    item_code = fields.String(required=True)
    result = fields.String(required=True, validate=validate.OneOf(["pass", "fail", "na"]))
    note = fields.String(required=True)
    na_reason = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "Set when the start answered it N/A: outlet (lacks a feature the "
            "item needs) or video (cannot be judged on video)."
        },
    )
    updated_at = _time(required=True)


class SectionScoreOut(ma.Schema):
    checklist_version_id = fields.Integer(required=True)
    section_code = fields.String(required=True)
    earned = fields.Float(required=True)
    applicable = fields.Float(required=True)
    score = _number()


class VisitOut(ma.Schema):
    arrived_at = _time(allow_none=True)
    departed_at = _time(allow_none=True)
    ticket_at = _time("The queue ticket's time.", allow_none=True)
    called_at = _time(allow_none=True)
    customers_waiting = fields.Integer(allow_none=True)
    windows_open = fields.Integer(allow_none=True)
    windows_total = fields.Integer(allow_none=True)
    business = fields.String(allow_none=True)
    teller_window = fields.String(allow_none=True)
    teller_badge = fields.String(allow_none=True)
    checkin_band = fields.String(allow_none=True)


class InspectionOut(ma.Schema):
    id = fields.Integer(required=True)
    period_id = fields.Integer(required=True)
    period_code = fields.String(required=True)
    outlet_id = fields.Integer(required=True)
    outlet_code = fields.String(required=True)
    sub_branch_id = fields.Integer(required=True)
    mode = fields.String(required=True, validate=validate.OneOf([m.value for m in Mode]))
    status = fields.String(
        required=True,
        validate=validate.OneOf([s.value for s in Status]),
        metadata={"description": "Other scopes than head office see released ones only."},
    )
    started_at = _time(required=True)
    submitted_at = _time(allow_none=True, required=True)
    released_at = _time(allow_none=True, required=True)
    changed_at = _time(
        "When it last changed: what changed_since and the order go by.", required=True
    )
    score = _number("0–100, one decimal; null until submitted (or with nothing applicable).")
    band = fields.String(allow_none=True, required=True)
    red_line_failed = fields.Boolean(allow_none=True, required=True)
    points_earned = _number()
    points_applicable = _number()
    checklist_version_ids = fields.List(fields.Integer(), required=True)
    visit = fields.Nested(VisitOut, required=True)
    section_scores = fields.List(fields.Nested(SectionScoreOut), required=True)
    answers = fields.List(fields.Nested(AnswerOut), required=True)


class FindingOut(ma.Schema):
    id = fields.Integer(required=True)
    inspection_id = fields.Integer(required=True)
    outlet_id = fields.Integer(required=True)
    checklist_version_id = fields.Integer(required=True)
    item_code = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in FindingStatus]))
    deadline = fields.Date(required=True)
    dispute_deadline = fields.Date(required=True)
    opened_at = _time(required=True)
    closed_at = _time(allow_none=True, required=True)


class NoticeOut(ma.Schema):
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in Kind]))
    status = fields.String(required=True)
    sub_branch_id = fields.Integer(required=True)
    outlet_id = fields.Integer(allow_none=True, required=True)
    inspection_id = fields.Integer(allow_none=True, required=True)
    period_id = fields.Integer(allow_none=True, required=True)
    range_start = fields.Date(allow_none=True, required=True)
    range_end = fields.Date(allow_none=True, required=True)
    issued_at = _time(required=True)
    deadline = fields.Date(allow_none=True, required=True)
    sha256 = fields.String(
        required=True, metadata={"description": "Of the signed PDF, as /verify/ checks it."}
    )
    supersedes_id = fields.Integer(allow_none=True, required=True)
    superseded_by_id = fields.Integer(allow_none=True, required=True)
    acknowledged_at = _time(allow_none=True, required=True)
    closed_at = _time(allow_none=True, required=True)
    findings = fields.List(fields.Nested(FindingOut), required=True)


class ChecklistVersionOut(ma.Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    version = fields.Integer(required=True)
    title_zh = fields.String(required=True)
    title_en = fields.String(allow_none=True, required=True)
    sha256 = fields.String(
        required=True,
        metadata={
            "description": "SHA-256 of the canonical content: JSON with sorted keys, no "
            'spaces (separators "," and ":"), UTF-8.'
        },
    )
    published_at = _time(required=True)
    withdrawn_at = _time(allow_none=True, required=True)


class ChecklistVersionDetail(ChecklistVersionOut):
    content = fields.Function(
        lambda v: json.loads(v.content),
        required=True,
        metadata={
            "type": "object",
            "description": "The version's content (sections, items, points, flags, wording).",
        },
    )


def _page_of(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    return ma.Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(
                allow_none=True,
                required=True,
                metadata={"description": "Pass as `cursor` for the next page; null: no more."},
            ),
        },
        name=name,
    )


PeriodPage = _page_of(PeriodOut, "PeriodPage")
OutletPage = _page_of(OutletOut, "OutletPage")
InspectionPage = _page_of(InspectionOut, "InspectionPage")
NoticePage = _page_of(NoticeOut, "NoticePage")
ChecklistVersionPage = _page_of(ChecklistVersionOut, "ChecklistVersionPage")
