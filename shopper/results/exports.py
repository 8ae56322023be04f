"""Exports of a period's results for the bank's performance-appraisal system: the outlet
and sub-branch rankings, every answer of the period, and the reward/deduction list, each
as CSV (UTF-8 with a BOM, so Excel reads the Chinese) or XLSX (openpyxl write-only).

Memory stays flat whatever the number of rows: the rows come from the database in
batches (`yield_per`: a server-side cursor on PostgreSQL) and are written as they come;
an XLSX is built in a temporary file (openpyxl's write-only sheets are temp files too)
and then streamed out of it.

Column headers are fixed machine names in English (`outlet_code`, `score`, …), the same
whatever the viewer's language, so an import mapping set up once keeps working; each
XLSX carries a second sheet naming every column in Chinese and English. Flags are 1/0,
scores numbers with one decimal (sub-branch means two), dates ISO (YYYY-MM-DD).

Only released inspections count, with their latest (revised) score. Plain functions of
(session, period, …): a view streams them, a queue job can write them to a file. Needs an
app context only for the column labels' translations (the legend sheet).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import select
from sqlalchemy.orm import Session

from shopper.checklists.models import ChecklistVersion
from shopper.core.checklist import Text
from shopper.inspections.models import Answer, Inspection, InspectionChecklist, Status
from shopper.org.models import Outlet, SubBranch
from shopper.periods.models import Assignment, Period

FORMATS = ("csv", "xlsx")
BATCH = 2000  # rows fetched from the database at a time
XLSX_MAX_ROWS = 1_048_576  # Excel's limit per sheet, the header included
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 64 * 1024
# a text cell starting with one of these is a formula to Excel: CSV injection
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Column:
    """One column: its fixed name (the header), its label in the viewer's language (the
    legend sheet), and whether its cells are free text (neutralised against formulas)."""

    name: str
    label: Any  # a lazy string
    text: bool = False


@dataclass(frozen=True)
class Export:
    kind: str
    title: Any  # lazy: the export's name on the page
    sheet: str  # the XLSX sheet's name (fixed, like the headers)
    columns: tuple[Column, ...]
    rows: Callable[[Session, Period, Mapping[str, Any]], Iterator[Sequence[Any]]]


# ---- the columns -----------------------------------------------------------------------

PERIOD = Column("period", _l("Period"))
SUB_BRANCH_CODE = Column("sub_branch_code", _l("Sub-branch code"))
SUB_BRANCH_NAME = Column("sub_branch_name", _l("Sub-branch"), text=True)
OUTLET_CODE = Column("outlet_code", _l("Outlet code"))
OUTLET_NAME = Column("outlet_name", _l("Outlet"), text=True)

ANSWER_COLUMNS = (
    PERIOD,
    SUB_BRANCH_CODE,
    SUB_BRANCH_NAME,
    OUTLET_CODE,
    OUTLET_NAME,
    Column("inspection_id", _l("Inspection number")),
    Column("mode", _l("Inspection mode (on_site / video)")),
    Column("kind", _l("Assignment kind (mystery / video)")),
    Column("reinspection", _l("Re-inspection (1 = yes)")),
    Column("visit_date", _l("Visit date")),
    Column("checklist_code", _l("Checklist code")),
    Column("checklist_version", _l("Checklist version")),
    Column("section_code", _l("Section code")),
    Column("item_code", _l("Item code")),
    Column("item_text", _l("Item"), text=True),
    Column("red_line_item", _l("Red-line item (1 = yes)")),
    Column("points", _l("Item points")),
    Column("result", _l("Result (pass / fail / na)")),
    Column("points_earned", _l("Points earned (empty when N/A)")),
    Column("na_reason", _l("Set N/A at the start because of (outlet / video)")),
    Column("note", _l("Inspector's note"), text=True),
    Column("inspection_score", _l("Inspection score")),
    Column("inspection_band", _l("Inspection band")),
    Column("inspection_red_line", _l("Inspection failed a red line (1 = yes)")),
)


# ---- rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ItemInfo:
    section: str
    text: str
    points: Decimal
    red_line: bool
    position: int


def _versions(session: Session, period: Period, lang: str) -> dict[int, tuple[str, int, dict]]:
    """version id → (checklist code, version number, item code → _ItemInfo) for every
    checklist version the period's inspections pinned (a handful: loaded once)."""
    pinned = (
        select(InspectionChecklist.checklist_version_id)
        .join(Inspection, Inspection.id == InspectionChecklist.inspection_id)
        .where(Inspection.period_id == period.id)
        .distinct()
    )
    out: dict[int, tuple[str, int, dict]] = {}
    for version in session.scalars(select(ChecklistVersion).where(ChecklistVersion.id.in_(pinned))):
        items: dict[str, _ItemInfo] = {}
        for section in version.checklist().sections:
            for item in section.items:
                items[item.code] = _ItemInfo(
                    section.code, _text(item.text, lang), item.points, item.red_line, len(items)
                )
        out[version.id] = (version.code, version.version, items)
    return out


def _text(text: Text, lang: str) -> str:
    return text.get(lang)


def _flag(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def answer_rows(
    session: Session, period: Period, options: Mapping[str, Any]
) -> Iterator[Sequence[Any]]:
    """One row per answer of the period's released inspections, by sub-branch, outlet and
    inspection, each inspection's answers in checklist order."""
    lang = str(options.get("lang") or "zh_CN")
    versions = _versions(session, period, lang)
    order = {code: n for n, code in enumerate(options.get("checklist_order") or ())}
    query = (
        select(
            SubBranch.code,
            SubBranch.name,
            Outlet.code,
            Outlet.name,
            Outlet.timezone,
            Inspection.id,
            Inspection.mode,
            Assignment.kind,
            Assignment.reinspection,
            Inspection.started_at,
            Inspection.score,
            Inspection.band,
            Inspection.red_line_failed,
            Answer.checklist_version_id,
            Answer.item_code,
            Answer.result,
            Answer.na_reason,
            Answer.note,
        )
        .join(Inspection, Inspection.id == Answer.inspection_id)
        .join(Assignment, Assignment.id == Inspection.assignment_id)
        .join(Outlet, Outlet.id == Inspection.outlet_id)
        .join(SubBranch, SubBranch.id == Outlet.sub_branch_id)
        .where(Inspection.period_id == period.id, Inspection.status == Status.RELEASED)
        .order_by(SubBranch.code, Outlet.code, Inspection.id, Answer.id)
        .execution_options(yield_per=BATCH)
    )
    unknown = _ItemInfo("", "", Decimal(0), False, 1_000_000)

    def key(row: Any) -> tuple:
        code, _number, items = versions.get(row.checklist_version_id, ("", 0, {}))
        return (order.get(code, len(order)), code, items.get(row.item_code, unknown).position)

    group: list[Any] = []
    for row in session.execute(query):
        if group and group[-1][5] != row[5]:
            yield from _answer_group(period, group, versions, key)
            group = []
        group.append(row)
    if group:
        yield from _answer_group(period, group, versions, key)


def _answer_group(period, group, versions, key) -> Iterator[Sequence[Any]]:
    """The rows of one inspection's answers (at most a few hundred), in checklist order."""
    first = group[0]
    visit_day = first.started_at.astimezone(ZoneInfo(first.timezone)).date()
    for row in sorted(group, key=key):
        code, number, items = versions.get(row.checklist_version_id, ("", None, {}))
        item = items.get(row.item_code)
        points = item.points if item else None
        earned = None
        if row.result == "pass":
            earned = points
        elif row.result == "fail" and points is not None:
            earned = Decimal(0)
        yield (
            period.code,
            row[0],
            row[1],
            row[2],
            row[3],
            row[5],
            row.mode,
            row.kind,
            _flag(row.reinspection),
            visit_day,
            code,
            number,
            item.section if item else None,
            row.item_code,
            item.text if item else None,
            _flag(item.red_line) if item else None,
            points,
            row.result,
            earned,
            row.na_reason,
            row.note or None,
            row.score,
            row.band,
            _flag(row.red_line_failed),
        )


# ---- rankings and the reward/deduction list (from results.service.rankings) ----------

OUTLET_COLUMNS = (
    PERIOD,
    Column("rank", _l("Rank")),
    OUTLET_CODE,
    OUTLET_NAME,
    SUB_BRANCH_CODE,
    SUB_BRANCH_NAME,
    Column("score", _l("Score")),
    Column("band", _l("Band")),
    Column("red_line", _l("Failed a red line (1 = yes)")),
    Column("reinspection", _l("Re-inspection (1 = yes)")),
    Column("previous_score", _l("Score last period")),
    Column("change", _l("Change against last period")),
    Column("mystery_inspections", _l("Mystery-shopper visits")),
    Column("video_checks", _l("Video checks")),
    Column("appraisal", _l("Appraisal (recognition / deduction / heavy_deduction)")),
)

SUB_BRANCH_COLUMNS = (
    PERIOD,
    Column("rank", _l("Rank")),
    SUB_BRANCH_CODE,
    SUB_BRANCH_NAME,
    Column("score", _l("Score (mean of its ranked outlets)")),
    Column("band", _l("Band")),
    Column("outlets_ranked", _l("Outlets ranked")),
    Column("red_lines", _l("Outlets that failed a red line")),
    Column("review_meeting", _l("Bottom three: called to the review meeting (1 = yes)")),
    Column("previous_score", _l("Score last period")),
    Column("change", _l("Change against last period")),
)

REWARD_COLUMNS = (
    PERIOD,
    Column("appraisal", _l("Appraisal (recognition / deduction / heavy_deduction)")),
    Column("rank", _l("Rank")),
    OUTLET_CODE,
    OUTLET_NAME,
    SUB_BRANCH_CODE,
    SUB_BRANCH_NAME,
    Column("score", _l("Score")),
    Column("band", _l("Band")),
    Column("red_line", _l("Failed a red line (1 = yes)")),
    Column("reinspection", _l("Re-inspection (1 = yes)")),
)

RECOGNITION = "recognition"
DEDUCTION = "deduction"
HEAVY_DEDUCTION = "heavy_deduction"


def _rankings(session: Session, period: Period, options: Mapping[str, Any]):
    from shopper.results import service as results

    settings = options.get("results_settings")
    if settings is None:
        config = options.get("config")
        if config is None:  # called from a view or a job without options: the app's
            from flask import current_app

            config = current_app.config
        settings = results.Settings.from_config(config)
    return results.rankings(session, period, settings)


def appraisals(ranked) -> dict[int, str]:
    """outlet id → recognition | deduction | heavy_deduction, from the rankings: the
    recognised outlets, then the highest failing band a deduction and every lower one a
    heavy deduction (with the default bands: < 85 and < 80 or a failed red line)."""
    out = {o.outlet_id: RECOGNITION for o in ranked.recognitions}
    for n, (_band, rows) in enumerate(ranked.deductions.items()):
        for o in rows:
            out[o.outlet_id] = DEDUCTION if n == 0 else HEAVY_DEDUCTION
    return out


def outlet_rows(
    session: Session, period: Period, options: Mapping[str, Any]
) -> Iterator[Sequence[Any]]:
    ranked = _rankings(session, period, options)
    names = {s.sub_branch_id: s.name for s in ranked.sub_branches}
    action = appraisals(ranked)
    for o in ranked.outlets:
        yield (
            period.code,
            o.rank,
            o.code,
            o.name,
            o.sub_branch_code,
            names.get(o.sub_branch_id, ""),
            o.score,
            o.band,
            _flag(o.red_line),
            _flag(o.reinspection),
            o.previous,
            o.change,
            o.mystery_count,
            o.video_count,
            action.get(o.outlet_id),
        )


def sub_branch_rows(
    session: Session, period: Period, options: Mapping[str, Any]
) -> Iterator[Sequence[Any]]:
    ranked = _rankings(session, period, options)
    for s in ranked.sub_branches:
        yield (
            period.code,
            s.rank,
            s.code,
            s.name,
            s.score,
            s.band,
            s.outlets,
            s.red_lines,
            _flag(s.review),
            s.previous,
            s.change,
        )


def reward_rows(
    session: Session, period: Period, options: Mapping[str, Any]
) -> Iterator[Sequence[Any]]:
    """The recognised outlets (best first), then the deductions, heavier last."""
    ranked = _rankings(session, period, options)
    names = {s.sub_branch_id: s.name for s in ranked.sub_branches}
    action = appraisals(ranked)
    weight = {RECOGNITION: 0, DEDUCTION: 1, HEAVY_DEDUCTION: 2}
    listed = sorted(
        (o for o in ranked.outlets if o.outlet_id in action),
        key=lambda o: (weight[action[o.outlet_id]], o.rank, o.code),
    )
    for o in listed:
        yield (
            period.code,
            action[o.outlet_id],
            o.rank,
            o.code,
            o.name,
            o.sub_branch_code,
            names.get(o.sub_branch_id, ""),
            o.score,
            o.band,
            _flag(o.red_line),
            _flag(o.reinspection),
        )


EXPORTS: dict[str, Export] = {
    "outlets": Export(
        "outlets", _l("Outlet ranking"), "outlet_ranking", OUTLET_COLUMNS, outlet_rows
    ),
    "sub_branches": Export(
        "sub_branches",
        _l("Sub-branch ranking"),
        "sub_branch_ranking",
        SUB_BRANCH_COLUMNS,
        sub_branch_rows,
    ),
    "rewards": Export(
        "rewards", _l("Recognitions and deductions"), "appraisal", REWARD_COLUMNS, reward_rows
    ),
    "answers": Export("answers", _l("All answers"), "answers", ANSWER_COLUMNS, answer_rows),
}


def export_for(kind: str) -> Export:
    """The export `kind`; KeyError for an unknown one."""
    return EXPORTS[kind]


def filename(period: Period, kind: str, fmt: str) -> str:
    """e.g. shopper-2026Q4-answers.xlsx: ASCII only, the period's code in it."""
    code = _SAFE_NAME.sub("_", period.code) or str(period.id)
    return f"shopper-{code}-{kind.replace('_', '-')}.{fmt}"


# ---- cells -----------------------------------------------------------------------------


def _text_columns(columns: Sequence[Column]) -> tuple[int, ...]:
    return tuple(n for n, c in enumerate(columns) if c.text)


def _csv_row(row: Sequence[Any], text_columns: tuple[int, ...]) -> Sequence[Any]:
    """The csv module writes None as "", numbers and dates by str() (ISO dates); rows
    carry flags as 1/0. Only free text is touched: one that Excel would take for a
    formula gets a leading apostrophe, as OWASP advises against CSV injection."""
    for n in text_columns:
        value = row[n]
        if value and value.startswith(_FORMULA_START):
            row = list(row)
            row[n] = "'" + value
    return row


def csv_chunks(
    session: Session, period: Period, kind: str, options: Mapping[str, Any] | None = None
) -> Iterator[bytes]:
    """The export as CSV, in chunks of about 64 KB: a byte-order mark, the header, then the
    rows as the database gives them (nothing held but the current chunk)."""
    export = export_for(kind)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.name for c in export.columns])
    yield codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    text_columns = _text_columns(export.columns)
    for row in export.rows(session, period, options or {}):
        writer.writerow(_csv_row(row, text_columns))
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def write_csv(
    session: Session,
    period: Period,
    kind: str,
    out: IO[bytes],
    options: Mapping[str, Any] | None = None,
) -> int:
    """Write the CSV export to the binary stream `out`; the number of bytes written."""
    written = 0
    for chunk in csv_chunks(session, period, kind, options):
        out.write(chunk)
        written += len(chunk)
    return written


def _xlsx_row(row: Sequence[Any], text_columns: tuple[int, ...], sheet) -> Sequence[Any]:
    """openpyxl writes None, numbers (Decimal too) and dates itself, but takes a string
    starting with "=" for a formula: free text that does is written as a text cell."""
    for n in text_columns:
        value = row[n]
        if value and value.startswith("="):
            row = list(row)
            cell = WriteOnlyCell(sheet, value)
            cell.data_type = "s"
            row[n] = cell
    return row


def export_xlsx(
    session: Session,
    period: Period,
    kind: str,
    out: IO[bytes],
    options: Mapping[str, Any] | None = None,
) -> int:
    """Write the XLSX export to the binary stream `out` (seekable or not); the number of
    data rows. Rows beyond Excel's limit of a sheet go on to "<sheet>_2", "<sheet>_3" …
    A last sheet "columns" names each column in Chinese and English."""
    export = export_for(kind)
    book = Workbook(write_only=True)
    header = [c.name for c in export.columns]
    columns = export.columns
    text_columns = _text_columns(columns)
    sheet = book.create_sheet(export.sheet)
    sheet.append(header)
    sheet.freeze_panes = "A2"
    in_sheet, count, sheets = 1, 0, 1
    for row in export.rows(session, period, options or {}):
        if in_sheet >= XLSX_MAX_ROWS:
            sheets += 1
            sheet = book.create_sheet(f"{export.sheet}_{sheets}")
            sheet.append(header)
            in_sheet = 1
        sheet.append(_xlsx_row(row, text_columns, sheet))
        in_sheet += 1
        count += 1
    legend = book.create_sheet("columns")
    legend.append(["column", "中文", "English"])
    for column in columns:
        legend.append([column.name, _label(column, "zh_CN"), _label(column, "en")])
    book.save(out)
    return count


def _label(column: Column, locale: str) -> str:
    with force_locale(locale):
        return str(column.label)


def xlsx_chunks(
    session: Session, period: Period, kind: str, options: Mapping[str, Any] | None = None
) -> Iterator[bytes]:
    """The XLSX export built in a temporary file, then read out of it in 64 KB chunks
    (the file is deleted when the iteration ends or is abandoned)."""
    spool = tempfile.TemporaryFile(prefix="shopper-export-")  # noqa: SIM115 (closed by _read_out)
    try:
        export_xlsx(session, period, kind, spool, options)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return _read_out(spool)


def _read_out(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := spool.read(CHUNK):
            yield chunk
    finally:
        spool.close()
