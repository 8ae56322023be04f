"""Exports of a period for the appraisal system: columns, rows, both formats, streaming,
flat memory, formulas kept as text, refusals."""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
import tracemalloc

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, update

from shopper.extensions import db
from shopper.inspections.models import Answer, Inspection
from shopper.models import Outlet, Period
from shopper.results import exports
from tests.exports.conftest import OUTLETS, add_inspection

BASE = "/office/results/{period}/exports/{kind}.{fmt}"


def url(programme, kind: str, fmt: str) -> str:
    return BASE.format(period=programme.period_id, kind=kind, fmt=fmt)


def csv_rows(response) -> list[list[str]]:
    data = response.get_data()
    assert data.startswith(codecs.BOM_UTF8), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(data[len(codecs.BOM_UTF8) :].decode("utf-8"))))


def xlsx_rows(response, sheet: str) -> list[list]:
    book = load_workbook(io.BytesIO(response.get_data()), read_only=True)
    rows = [list(r) for r in book[sheet].iter_rows(values_only=True)]
    book.close()
    return rows


def names(kind: str) -> list[str]:
    return [c.name for c in exports.EXPORTS[kind].columns]


def by(rows: list[list], column: str, kind: str) -> dict:
    index = names(kind).index(column)
    return {row[index]: row for row in rows[1:]}


def test_answers_csv_has_one_row_per_answer_with_the_appraisal_columns(office, programme):
    response = office.get(url(programme, "answers", "csv"))
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="shopper-2026Q4-answers.csv"' in response.headers["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == names("answers")
    for needed in ("outlet_code", "sub_branch_code", "period", "inspection_id", "mode"):
        assert needed in rows[0]
    assert len(rows) - 1 == programme.answers
    header = rows[0]
    col = {name: header.index(name) for name in header}
    o42 = [r for r in rows[1:] if r[col["outlet_code"]] == "O42" and r[col["mode"]] == "on_site"]
    assert {r[col["sub_branch_code"]] for r in o42} == {"SB4"}
    assert [r[col["note"]] for r in o42 if r[col["note"]]] == ["柜台物品未按定位摆放"]
    assert {r[col["period"]] for r in rows[1:]} == {"2026Q4"}
    assert {r[col["inspection_score"]] for r in o42} == {"79.0"}
    assert {r[col["inspection_band"]] for r in o42} == {"severe_fail"}
    failed = [r for r in o42 if r[col["result"]] == "fail"]
    assert len(failed) == 3 and {r[col["points_earned"]] for r in failed} == {"0"}
    passed = [r for r in o42 if r[col["result"]] == "pass"]
    assert all(r[col["points_earned"]] == r[col["points"]] != "" for r in passed)
    reinspected = {r[col["outlet_code"]] for r in rows[1:] if r[col["reinspection"]] == "1"}
    assert reinspected == {"O41"}
    videos = {r[col["inspection_id"]] for r in rows[1:] if r[col["mode"]] == "video"}
    assert len(videos) == 3
    assert all(r[col["kind"]] == "video" for r in rows[1:] if r[col["mode"]] == "video")
    assert {r[col["checklist_code"]] for r in rows[1:]} == {
        "five_courtesies",
        "six_s",
        "teller_seven_steps",
    }


def test_answers_xlsx_holds_the_same_rows_and_a_legend_in_chinese_and_english(office, programme):
    response = office.get(url(programme, "answers", "xlsx"))
    assert response.status_code == 200
    assert response.mimetype == exports.XLSX_MEDIA_TYPE
    assert 'filename="shopper-2026Q4-answers.xlsx"' in response.headers["Content-Disposition"]
    rows = xlsx_rows(response, "answers")
    assert rows[0] == names("answers")
    assert len(rows) - 1 == programme.answers
    scores = {r[names("answers").index("inspection_score")] for r in rows[1:]}
    assert 79.0 in scores  # numbers, not text
    legend = xlsx_rows(response, "columns")
    assert legend[0] == ["column", "中文", "English"]
    assert [r[0] for r in legend[1:]] == names("answers")
    english = {r[0]: r[2] for r in legend[1:]}
    assert english["outlet_code"] == "Outlet code"


def test_outlet_ranking_ranks_a_red_line_below_every_clean_pass(office, programme):
    rows = csv_rows(office.get(url(programme, "outlets", "csv")))
    assert rows[0] == names("outlets")
    col = {name: n for n, name in enumerate(rows[0])}
    order = [r[col["outlet_code"]] for r in rows[1:]]
    assert len(order) == len(OUTLETS)
    assert order[:4] == ["O11", "O12", "O21", "O51"]
    assert order.index("O22") > order.index("O41")  # 95 with a red line, under 82.5
    o22 = by(rows, "outlet_code", "outlets")["O22"]
    assert o22[col["red_line"]] == "1" and o22[col["band"]] == "severe_fail"
    o11 = by(rows, "outlet_code", "outlets")["O11"]
    assert o11[col["previous_score"]] == "92.0" and o11[col["change"]] == "4.0"
    assert o11[col["video_checks"]] == "2" and o11[col["appraisal"]] == "recognition"
    assert by(rows, "outlet_code", "outlets")["O41"][col["reinspection"]] == "1"
    assert o11[col["sub_branch_name"]] == "东城支行"


def test_outlet_ranking_xlsx_has_the_same_order_and_numbers(office, programme):
    rows = xlsx_rows(office.get(url(programme, "outlets", "xlsx")), "outlet_ranking")
    assert rows[0] == names("outlets")
    first = rows[1]
    assert first[names("outlets").index("outlet_code")] == "O11"
    assert first[names("outlets").index("score")] == 96.0
    assert first[names("outlets").index("rank")] == 1


def test_sub_branch_ranking_marks_the_bottom_three_for_the_review_meeting(office, programme):
    rows = csv_rows(office.get(url(programme, "sub_branches", "csv")))
    assert rows[0] == names("sub_branches")
    col = {name: n for n, name in enumerate(rows[0])}
    review = {r[col["sub_branch_code"]] for r in rows[1:] if r[col["review_meeting"]] == "1"}
    assert review == {"SB3", "SB4", "SB5"}
    assert [r[col["sub_branch_code"]] for r in rows[1:]][:2] == ["SB1", "SB2"]
    assert by(rows, "sub_branch_code", "sub_branches")["SB1"][col["score"]] == "94.75"
    xlsx = xlsx_rows(office.get(url(programme, "sub_branches", "xlsx")), "sub_branch_ranking")
    assert len(xlsx) == len(rows)


def test_reward_list_recognises_the_best_and_deducts_the_failures(office, programme):
    for fmt in ("csv", "xlsx"):
        response = office.get(url(programme, "rewards", fmt))
        rows = csv_rows(response) if fmt == "csv" else xlsx_rows(response, "appraisal")
        assert rows[0] == names("rewards")
        col = {name: n for n, name in enumerate(rows[0])}
        listed = {r[col["outlet_code"]]: r[col["appraisal"]] for r in rows[1:]}
        assert listed == {
            "O11": "recognition",
            "O12": "recognition",
            "O21": "recognition",
            "O51": "recognition",
            "O32": "deduction",
            "O41": "deduction",
            "O22": "heavy_deduction",
            "O42": "heavy_deduction",
        }
        assert [r[col["appraisal"]] for r in rows[1:]] == sorted(
            listed.values(), key=["recognition", "deduction", "heavy_deduction"].index
        )


@pytest.mark.parametrize(
    "path",
    [
        "/office/results/999999/exports/answers.csv",
        "/office/results/99999999999/exports/answers.csv",
        "/office/results/{period}/exports/passwords.csv",
        "/office/results/{period}/exports/answers.pdf",
        "/office/results/999999/exports",
        "/office/results/{period}/reports/TB-2026Q4-99999.pdf",
    ],
)
def test_a_bad_period_kind_or_format_is_a_404_sentence(office, programme, path):
    response = office.get(path.format(period=programme.period_id))
    assert response.status_code == 404
    assert "This page does not exist" in response.get_data(as_text=True)


def test_the_response_is_streamed_in_chunks(office, programme, app):
    with app.app_context():
        _more_rows(db.session, programme, rounds=4)
    response = office.get(url(programme, "answers", "csv"), buffered=False)
    assert response.is_streamed
    sizes = []
    for chunk in response.response:  # iterated as the server sends it, never joined
        sizes.append(len(chunk))
    response.close()
    assert len(sizes) > 5
    assert max(sizes) < 2 * exports.CHUNK
    xlsx = office.get(url(programme, "answers", "xlsx"), buffered=False)
    assert xlsx.is_streamed
    pieces = list(xlsx.response)
    xlsx.close()
    assert len(pieces) > 1 and max(len(p) for p in pieces) <= exports.CHUNK


def _more_rows(session, programme, rounds: int) -> None:
    period = session.get(Period, programme.period_id)
    checker = session.scalar(select(Inspection.inspector_id).where(Inspection.mode == "video"))
    from shopper.auth.models import User

    user = session.get(User, checker)
    start = 100 + session.scalar(select(Inspection.id).order_by(Inspection.id.desc()).limit(1))
    for n in range(rounds):
        for code in OUTLETS:
            outlet = session.get(Outlet, programme.outlets[code])
            add_inspection(session, period, outlet, user, "88.0", kind="video", seq=start + n)
    session.commit()


def _peak(fn) -> tuple[int, int]:
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        size = fn()
        return size, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_export_memory_does_not_grow_with_the_number_of_rows(app, programme, monkeypatch):
    """Peak memory of a CSV and an XLSX export with N rows and with about 5N rows: both
    larger than the batch fetched from the database (here 100 rows), so both hold one
    batch, one inspection's answers and one chunk of output, whatever N."""
    monkeypatch.setattr(exports, "BATCH", 100)

    def measure(kind_of_export: str) -> tuple[int, int]:
        with app.app_context(), app.test_request_context():
            period = db.session.get(Period, programme.period_id)
            options = {"lang": "zh_CN", "config": app.config}
            if kind_of_export == "csv":
                return _peak(
                    lambda: sum(
                        len(c) for c in exports.csv_chunks(db.session, period, "answers", options)
                    )
                )
            with tempfile.TemporaryFile() as out:
                return _peak(
                    lambda: exports.export_xlsx(db.session, period, "answers", out, options)
                )

    small = {fmt: measure(fmt) for fmt in ("csv", "xlsx")}
    with app.app_context():
        _more_rows(db.session, programme, rounds=9)
        rows = db.session.scalar(select(func.count()).select_from(Answer))
    assert rows > 4 * programme.answers
    large = {fmt: measure(fmt) for fmt in ("csv", "xlsx")}
    for fmt in ("csv", "xlsx"):
        (small_size, small_peak), (large_size, large_peak) = small[fmt], large[fmt]
        assert large_size > 4 * small_size
        # batches of rows and a chunk of output at most; not the whole file
        assert large_peak < small_peak * 1.25 + 256 * 1024, (fmt, small_peak, large_peak)


def test_a_formula_in_a_note_stays_text_in_csv_and_xlsx(office, programme, app):
    with app.app_context():
        db.session.execute(
            update(Answer).where(Answer.note != "").values(note='=HYPERLINK("http://x","y")')
        )
        db.session.commit()
    rows = csv_rows(office.get(url(programme, "answers", "csv")))
    note = names("answers").index("note")
    assert [r[note] for r in rows[1:] if r[note]] == ['\'=HYPERLINK("http://x","y")']
    response = office.get(url(programme, "answers", "xlsx"))
    book = load_workbook(io.BytesIO(response.get_data()))
    cells = [row[note] for row in book["answers"].iter_rows(min_row=2) if row[note].value]
    assert [(c.value, c.data_type) for c in cells] == [('=HYPERLINK("http://x","y")', "s")]
