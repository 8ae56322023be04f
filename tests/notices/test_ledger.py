"""Head office's rectification ledger: filters, overdue against a frozen today, figures,
access, the Excel export and bad filter values."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from shopper.extensions import db
from shopper.inspections.models import Inspection, Status
from shopper.models import Finding, FindingResponse, Notice, Outlet, Period, User
from shopper.notices import ledger as ledger_module
from shopper.notices.ledger import LedgerFilters, ledger, ledger_rows_all, to_xlsx
from shopper.notices.service import local_today
from tests.factories import items, submitted_directly

TODAY = date(2026, 12, 10)
ROLES = ["inspector", "inspector2", "outlet_manager", "outlet_manager3", "sub_branch_manager"]


def fail_without_photo(item) -> str:
    return "pass" if item.photo_required_on_fail else "fail"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def released(inspector_id, app, assignment_id: int) -> tuple[int, list[tuple[int, str, object]]]:
    """An inspection submitted with failures and released; its failed (version, code, item)."""
    inspection_id = submitted_directly(app, inspector_id, assignment_id, fail_without_photo)
    with app.app_context():
        db.session.get(Inspection, inspection_id).status = Status.RELEASED
        db.session.commit()
    failed = [i for i in items(app, inspection_id) if fail_without_photo(i[2]) == "fail"]
    return inspection_id, failed


@pytest.fixture
def book(login, world, app):
    """Seven findings: O1 in 2026Q4 (f1 open overdue, f2 open, f3 answered past its deadline,
    f4 accepted after 3.5 days), O3 in 2026Q4 (f5 withdrawn after 1 day, f6 disputed) and
    O1 in 2026Q3 (f7 open overdue, the same item as f1). O1's notice was reissued once."""
    c = world.users["inspector"]
    one, failed_one = released(c, app, world.assignment_ids["inspector"][0])
    with app.app_context():  # last period, while it was the open one
        db.session.get(Period, world.period_id).is_current = False
        last = db.session.get(Period, world.old_period_id)
        last.is_current, last.state = True, "open"
        db.session.commit()
    old, failed_old = released(c, app, world.assignment_ids["inspector"][2])
    with app.app_context():
        db.session.get(Period, world.period_id).is_current = True
        last = db.session.get(Period, world.old_period_id)
        last.is_current, last.state = False, "closed"
        db.session.commit()
    three, failed_three = released(
        world.users["inspector2"], app, world.assignment_ids["inspector2"][0]
    )
    o1, _o2, o3 = world.outlet_ids
    manager = world.users["outlet_manager"]

    def finding(inspection, outlet, pick, status, deadline, opened=None, closed=None):
        version, code, _item = pick
        return Finding(
            inspection_id=inspection,
            outlet_id=outlet,
            checklist_version_id=version,
            item_code=code,
            status=status,
            deadline=deadline,
            dispute_deadline=deadline,
            opened_at=opened or utc(2026, 11, 20),
            closed_at=closed,
        )

    def response(f, kind, at):
        return FindingResponse(
            finding_id=f.id,
            kind=kind,
            note="done",
            client_uuid=str(uuid.uuid4()),
            by_id=manager,
            at=at,
        )

    with app.app_context():
        s = db.session
        f = {
            "f1": finding(one, o1, failed_one[0], "open", date(2026, 12, 1)),
            "f2": finding(one, o1, failed_one[1], "open", date(2026, 12, 20)),
            "f3": finding(one, o1, failed_one[2], "answered", date(2026, 12, 1)),
            "f4": finding(
                one, o1, failed_one[3], "accepted", date(2026, 12, 1),
                utc(2026, 11, 20), utc(2026, 11, 23, 12),
            ),
            "f5": finding(
                three, o3, failed_three[0], "withdrawn", date(2026, 12, 1),
                utc(2026, 11, 20), utc(2026, 11, 21),
            ),
            "f6": finding(three, o3, failed_three[1], "disputed", date(2026, 12, 30)),
            "f7": finding(old, o1, failed_old[0], "open", date(2026, 9, 30)),
        }  # fmt: skip
        s.add_all(f.values())
        s.flush()
        s.add_all(
            [
                response(f["f3"], "disputed", utc(2026, 12, 2, 3)),
                response(f["f3"], "rectified", utc(2026, 12, 4, 20)),  # 12-05 in Shanghai
                response(f["f5"], "disputed", utc(2026, 11, 20, 8)),
                response(f["f6"], "disputed", utc(2026, 12, 3, 8)),
            ]
        )
        sb1 = s.get(Outlet, o1).sub_branch_id

        def notice(number, supersedes=None):
            return Notice(
                number=number,
                kind="outlet",
                sub_branch_id=sb1,
                outlet_id=o1,
                inspection_id=one,
                period_id=world.period_id,
                lang="zh_CN",
                sha256=number.ljust(64, "0"),
                size=1,
                storage_key=number,
                supersedes_id=supersedes,
            )

        first = notice("ZG-2026Q4-0001")
        s.add(first)
        s.flush()
        second = notice("ZG-2026Q4-0002", first.id)
        s.add(second)
        s.commit()
        ids = {name: x.id for name, x in f.items()}
        ids["notice"] = second.id
        ids["f1_text"] = failed_one[0][2].text
        ids["f1_code"] = failed_one[0][1]
        ids["f2_code"] = failed_one[1][1]
        return ids


def frozen(zone: str) -> date:
    return TODAY


def run(app, filters=None, today=frozen, **kw):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        return ledger(
            db.session,
            admin,
            filters or LedgerFilters(),
            today=today,
            limit=kw.get("limit", 50),
            offset=kw.get("offset", 0),
        )


def ids_of(rows) -> set[int]:
    return {r["id"] for r in rows}


def listed(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [
        int(x) for x in re.findall(r'<td class="num">(\d+)</td>', response.get_data(as_text=True))
    ]


# ---- the query layer ---------------------------------------------------------------------


def test_every_finding_is_in_the_ledger_with_its_figures(app, book):
    rows, total, counts = run(app)
    assert total == 7 and len(rows) == 7
    assert counts == {
        "total": 7,
        "open": 3,
        "waiting": 2,
        "overdue": 2,
        "closed": 2,
        "closure_rate": 28.6,  # 2 / 7
        "average_days_to_close": 2.3,  # (3.5 + 1.0) / 2, rounded half up
    }


def test_figures_follow_the_filters(app, book, world):
    _rows, total, counts = run(app, LedgerFilters(sub_branch_id=world.sub_branch_ids[1]))
    assert total == 2
    assert counts["closed"] == 1 and counts["closure_rate"] == 50.0
    assert counts["average_days_to_close"] == 1.0 and counts["overdue"] == 0
    _rows, total, counts = run(app, LedgerFilters(status="open"))
    assert counts["closure_rate"] == 0.0 and counts["average_days_to_close"] is None


def test_no_findings_gives_empty_figures_not_an_error(app, book, world):
    rows, total, counts = run(app, LedgerFilters(outlet_id=world.outlet_ids[1]))
    assert rows == [] and total == 0
    assert counts["closure_rate"] is None and counts["average_days_to_close"] is None


@pytest.mark.parametrize(
    "status, expected",
    [
        ("open", {"f1", "f2", "f7"}),
        ("answered", {"f3"}),
        ("disputed", {"f6"}),
        ("accepted", {"f4"}),
        ("withdrawn", {"f5"}),
        ("overdue", {"f1", "f7"}),
    ],
)
def test_filter_by_status(app, book, status, expected):
    rows, total, _counts = run(app, LedgerFilters(status=status))
    assert ids_of(rows) == {book[name] for name in expected} and total == len(expected)


def test_filter_by_period_sub_branch_outlet_and_item(app, book, world):
    def found(**kw):
        return ids_of(run(app, LedgerFilters(**kw))[0])

    assert found(period_id=world.old_period_id) == {book["f7"]}
    assert len(found(period_id=world.period_id)) == 6
    assert found(sub_branch_id=world.sub_branch_ids[1]) == {book["f5"], book["f6"]}
    assert found(outlet_id=world.outlet_ids[2]) == {book["f5"], book["f6"]}
    assert found(outlet_id=world.outlet_ids[1]) == set()
    # f1, f7 and O3's f5 are the same checklist's first failed item
    assert found(item_code=book["f1_code"]) == {book["f1"], book["f5"], book["f7"]}
    assert found(item_code=book["f1_code"], period_id=world.old_period_id) == {book["f7"]}
    assert found(item_code=book["f2_code"]) == {book["f2"], book["f6"]}
    assert found(item_code="no-such-item") == set()


def test_overdue_is_an_open_finding_past_its_deadline_on_a_frozen_today(app, book):
    rows = {r["id"]: r for r in run(app, today=lambda zone: date(2026, 12, 21))[0]}
    # answered (f3) is head office's turn, not late; f2's deadline has now passed too
    assert {i for i, r in rows.items() if r["overdue"]} == {book["f1"], book["f2"], book["f7"]}
    rows = {r["id"]: r for r in run(app, today=lambda zone: date(2026, 12, 1))[0]}
    assert {i for i, r in rows.items() if r["overdue"]} == {
        book["f7"]
    }  # the deadline day itself is not late
    _rows, total, counts = run(
        app, LedgerFilters(status="overdue"), today=lambda z: date(2026, 12, 1)
    )
    assert total == counts["overdue"] == 1


def test_overdue_uses_each_outlets_own_today(app, book, world):
    with app.app_context():
        db.session.get(Outlet, world.outlet_ids[0]).timezone = "America/New_York"
        db.session.commit()
    # 2026-12-21 02:00 UTC: already the 21st in Shanghai, still the 20th in New York
    now = utc(2026, 12, 21, 2)
    rows, _total, counts = run(app, today=lambda zone: local_today(zone, now))
    overdue = {r["id"] for r in rows if r["overdue"]}
    assert book["f2"] not in overdue and overdue == {book["f1"], book["f7"]}
    assert counts["overdue"] == 2


def test_a_row_says_what_the_finding_is(app, book, world):
    rows = {r["id"]: r for r in run(app)[0]}
    f1, f3 = rows[book["f1"]], rows[book["f3"]]
    assert (f1["outlet_code"], f1["outlet"], f1["sub_branch"], f1["period"]) == (
        "O1", "Outlet One", "East", "2026Q4"
    )  # fmt: skip
    assert f1["item_code"] == book["f1_code"] and f1["item_text"] == book["f1_text"].get("en")
    assert f1["status"] == "open" and f1["status_label"] == "Open" and f1["overdue"] is True
    assert f1["deadline"] == date(2026, 12, 1)
    # the notice no later notice supersedes
    assert f1["notice_number"] == "ZG-2026Q4-0002"
    assert f1["notice_href"] == f"/notices/{book['notice']}"
    assert f1["answer_kind"] is None and f1["answered_on"] is None
    # the latest answer, dated in the outlet's time zone
    assert f3["answer_kind"] == "rectified" and f3["answer_label"] == "Rectified"
    assert f3["answered_on"] == date(2026, 12, 5)
    assert rows[book["f5"]]["notice_number"] is None
    assert rows[book["f4"]]["closed_on"] == date(2026, 11, 23)


def test_paging_keeps_the_figures_of_the_whole_set(app, book):
    first, total, counts = run(app, limit=4)
    second, _total, _counts = run(app, limit=4, offset=4)
    assert total == 7 and counts["total"] == 7
    assert len(first) == 4 and len(second) == 3 and not ids_of(first) & ids_of(second)


def test_export_rows_are_every_row_in_page_order(app, book):
    with app.test_request_context():
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        every = ledger_rows_all(db.session, admin, LedgerFilters(), today=frozen)
    assert [r["id"] for r in every] == [r["id"] for r in run(app)[0]]


def test_bad_filter_values_are_dropped():
    cleaned = LedgerFilters.clean(
        period_id=-3, sub_branch_id=0, outlet_id=None, status="nonsense", item_code="x" * 41
    )
    assert cleaned == LedgerFilters()
    assert LedgerFilters.clean(status="overdue", item_code=" A1 ").item_code == "A1"


def test_workbook_text_is_never_a_formula():
    data = to_xlsx([{"name": '=HYPERLINK("http://evil")', "n": 3}], [("name", "N"), ("n", "#")])
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet["A2"].data_type == "s" and sheet["A2"].value.startswith("=HYPERLINK")
    assert sheet["B2"].value == 3


# ---- the page and the export -------------------------------------------------------------


@pytest.fixture
def frozen_today(monkeypatch):
    monkeypatch.setattr(ledger_module, "local_today", lambda zone, now=None: TODAY)


def test_head_office_sees_the_ledger_page(login, book, frozen_today):
    response = login("admin").get("/office/findings/")
    page = response.get_data(as_text=True)
    assert sorted(listed(response)) == sorted(book[f"f{n}"] for n in range(1, 8))
    assert "7 findings" in page and "28.6%" in page and "2.3" in page
    assert f'href="/notices/{book["notice"]}"' in page and "ZG-2026Q4-0002" in page
    assert "/office/findings/export.xlsx" in page
    assert page.count('class="overdue"') == 2


def test_the_page_filters_and_its_export_link_keeps_them(login, book, world, frozen_today):
    admin = login("admin")
    assert set(listed(admin.get("/office/findings/?status=overdue"))) == {book["f1"], book["f7"]}
    response = admin.get(f"/office/findings/?period={world.old_period_id}&page=1")
    assert listed(response) == [book["f7"]]
    assert f"export.xlsx?period={world.old_period_id}" in response.get_data(as_text=True)
    assert set(listed(admin.get(f"/office/findings/?sub_branch={world.sub_branch_ids[1]}"))) == {
        book["f5"], book["f6"]
    }  # fmt: skip
    assert set(listed(admin.get(f"/office/findings/?outlet={world.outlet_ids[2]}"))) == {
        book["f5"], book["f6"]
    }  # fmt: skip
    assert book["f1"] in listed(admin.get(f"/office/findings/?item={book['f1_code']}"))
    assert listed(admin.get("/office/findings/?status=accepted")) == [book["f4"]]


@pytest.mark.parametrize(
    "query",
    [
        "period=abc",
        "status=nonsense",
        "sub_branch=-1",
        "outlet=1e9",
        "item=" + "x" * 300,
        "page=abc",
        "page=-4",
    ],
)
def test_a_bad_filter_value_is_ignored(login, book, query):
    admin = login("admin")
    response = admin.get(f"/office/findings/?{query}")
    assert response.status_code == 200
    if not query.startswith(("item", "page=9")):
        assert len(listed(response)) == 7
    assert admin.get(f"/office/findings/export.xlsx?{query}").status_code == 200


@pytest.mark.parametrize(
    "query", ["period=99999999999999999999", "outlet=2147483648", "page=99999999999999999999"]
)
def test_a_number_beyond_any_id_is_a_404_sentence(login, book, query):
    admin = login("admin")
    for url in (f"/office/findings/?{query}", f"/office/findings/export.xlsx?{query}"):
        response = admin.get(url)
        assert response.status_code == 404 and "<h1>" in response.get_data(as_text=True)


def test_a_page_past_the_end_is_empty_not_an_error(login, book):
    page = login("admin").get("/office/findings/?page=40").get_data(as_text=True)
    assert "No findings match these filters." in page


@pytest.mark.parametrize("path", ["/office/findings/", "/office/findings/export.xlsx"])
def test_only_head_office_opens_the_ledger(login, client, world, path):
    assert login("admin").get(path).status_code == 200
    for role in ROLES:
        assert login(role).get(path).status_code == 403, role
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_export_is_a_workbook_of_the_filtered_rows(login, book, world, frozen_today):
    response = login("admin").get(f"/office/findings/export.xlsx?period={world.period_id}")
    assert response.status_code == 200
    assert response.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert 'filename="findings-2026Q4.xlsx"' in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Finding", "Outlet code", "Outlet"]
    assert {"Deadline", "Overdue", "Notice", "Latest answer", "Answered on"} <= set(header)
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}7"
    assert sheet.column_dimensions["A"].width > 0
    rows = [
        dict(zip(header, (c.value for c in r), strict=True)) for r in sheet.iter_rows(min_row=2)
    ]
    assert sorted(r["Finding"] for r in rows) == sorted(book[f"f{n}"] for n in range(1, 7))
    f1 = next(r for r in rows if r["Finding"] == book["f1"])
    assert isinstance(f1["Finding"], int)
    assert f1["Deadline"] == datetime(2026, 12, 1)  # a date cell, not text
    assert f1["Overdue"] == "Yes" and f1["Status"] == "Open" and f1["Notice"] == "ZG-2026Q4-0002"
    f3 = next(r for r in rows if r["Finding"] == book["f3"])
    assert f3["Answered on"] == datetime(2026, 12, 5) and f3["Latest answer"] == "Rectified"
    assert sheet.cell(2, header.index("Deadline") + 1).is_date


def test_the_export_without_a_period_is_named_all(login, book):
    response = login("admin").get("/office/findings/export.xlsx")
    assert 'filename="findings-all.xlsx"' in response.headers["Content-Disposition"]
    assert load_workbook(io.BytesIO(response.data)).active.max_row == 8


def test_the_export_header_is_in_the_users_language(login, book, world):
    admin = login("admin")
    admin.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    response = admin.get("/office/findings/export.xlsx")
    header = [c.value for c in load_workbook(io.BytesIO(response.data)).active[1]]
    assert header[2] == "网点" and header[3] == "支行"  # translated already in the catalogue
