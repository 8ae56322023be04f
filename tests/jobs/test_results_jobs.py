"""The period report and a period's XLSX exports as jobs (issue 17): inline without Redis,
on an RQ worker with it; the export kept in storage and downloaded from the job's page."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys

from openpyxl import load_workbook
from sqlalchemy import select

from shopper.extensions import db
from shopper.jobs import queue
from shopper.jobs.results_tasks import EXPORT_PERIOD, PERIOD_REPORT
from shopper.photos import service as photos
from shopper.results import exports, report
from tests.jobs.conftest import work
from tests.jobs.test_jobs import _worker_env

JOB_PAGE = re.compile(r"/office/jobs/([0-9a-f-]{36})$")


def header(kind: str) -> list[str]:
    return [c.name for c in exports.EXPORTS[kind].columns]


def sheet_rows(data: bytes, kind: str) -> list[list]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    rows = [list(r) for r in book[exports.EXPORTS[kind].sheet].iter_rows(values_only=True)]
    book.close()
    return rows


def reports(app) -> list[str]:
    with app.app_context():
        return [r.number for r in report.reports_of(db.session, _period(app))]


def _period(app):
    from shopper.periods.models import Period

    return db.session.scalar(select(Period).where(Period.code == "2026Q4"))


def test_without_redis_the_jobs_run_inline_and_the_page_shows_no_job_buttons(
    app,
    programme,
    office,
):
    page = office.get(f"/office/results/{programme.period_id}/exports").get_data(as_text=True)
    assert "/office/jobs/export" not in page and "/office/jobs/period-report" not in page
    with app.test_request_context():
        made = queue.enqueue(EXPORT_PERIOD, period="2026Q4", kind="outlets")
        assert made.status == "finished_here" and made.id is None
        key = made.result["key"]
        assert re.fullmatch(r"exports/[0-9a-f]{2}/[0-9a-f]{64}\.xlsx", key)
        stored = photos.storage().get(key)
        assert key.endswith(f"{hashlib.sha256(stored).hexdigest()}.xlsx")
        rows = sheet_rows(stored, "outlets")
        assert rows[0] == header("outlets") and len(rows) - 1 == made.result["rows"] > 0
        assert made.result["filename"] == "shopper-2026Q4-outlets.xlsx"
        issued = queue.enqueue(PERIOD_REPORT, period="2026Q4", lang="en")
    assert issued.result["number"] == "TB-2026Q4-00001"
    assert reports(app) == ["TB-2026Q4-00001"]
    pdf = office.get(issued.result["url"])
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF")


def test_without_redis_the_buttons_fall_back_to_the_direct_download_and_the_report(
    app,
    programme,
    office,
):
    period = programme.period_id
    reply = office.post("/office/jobs/export", {"period": period, "kind": "answers"})
    assert reply.status_code == 302
    assert reply.headers["Location"].endswith(f"/office/results/{period}/exports/answers.xlsx")
    reply = office.post("/office/jobs/period-report", {"period": period})
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/exports#reports")
    assert len(reports(app)) == 1


def test_with_redis_the_export_is_a_job_whose_page_offers_the_xlsx(
    queued_app,
    programme,
    office,
):
    app = queued_app
    page = office.get(f"/office/results/{programme.period_id}/exports").get_data(as_text=True)
    assert page.count('action="/office/jobs/export"') == len(exports.EXPORTS)
    assert 'action="/office/jobs/period-report"' in page
    assert page.count('name="csrf_token"') >= len(exports.EXPORTS) + 2
    reply = office.post("/office/jobs/export", {"period": programme.period_id, "kind": "rewards"})
    job_id = JOB_PAGE.search(reply.headers["Location"]).group(1)
    assert office.get(f"/office/jobs/{job_id}/download").status_code == 404  # not done yet
    work(app)
    state = office.get(f"/office/jobs/{job_id}/progress", json=True).json
    assert state["status"] == "finished" and state["progress"]["rows"] == state["result"]["rows"]
    assert state["summary"].endswith("rows written.") or state["summary"] == "1 row written."
    shown = office.get(f"/office/jobs/{job_id}").get_data(as_text=True)
    assert f'href="/office/jobs/{job_id}/download"' in shown
    got = office.get(f"/office/jobs/{job_id}/download")
    assert got.status_code == 200 and got.mimetype == exports.XLSX_MEDIA_TYPE
    assert 'filename="shopper-2026Q4-rewards.xlsx"' in got.headers["Content-Disposition"]
    rows = sheet_rows(got.get_data(), "rewards")
    assert rows[0] == header("rewards") and len(rows) - 1 == state["result"]["rows"]


def test_with_redis_the_report_is_a_job_that_names_its_number_and_download(
    queued_app,
    programme,
    office,
):
    app = queued_app
    reply = office.post("/office/jobs/period-report", {"period": programme.period_id})
    job_id = JOB_PAGE.search(reply.headers["Location"]).group(1)
    assert reports(app) == []  # nothing happened in the request
    work(app)
    state = office.get(f"/office/jobs/{job_id}/progress", json=True).json
    assert state["status"] == "finished"
    number = state["result"]["number"]
    assert reports(app) == [number] and state["summary"] == f"Report {number} issued and signed."
    shown = office.get(f"/office/jobs/{job_id}").get_data(as_text=True)
    assert f'href="{state["result"]["url"]}"' in shown
    assert office.get(state["result"]["url"]).get_data().startswith(b"%PDF")
    with app.app_context():
        (issued,) = report.reports_of(db.session, _period(app))
    assert issued.issued_by  # the head-office user who pressed the button
    # a report job's page has no XLSX to download
    assert office.get(f"/office/jobs/{job_id}/download").status_code == 404


def test_a_real_worker_process_prepares_the_export(
    queued_app,
    programme,
    office,
):
    app = queued_app
    reply = office.post("/office/jobs/export", {"period": programme.period_id, "kind": "outlets"})
    job_id = JOB_PAGE.search(reply.headers["Location"]).group(1)
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "shopper", "jobs", "worker", "--burst"],
        env=_worker_env(app),
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    with app.app_context():
        assert queue.find(job_id).status == "finished"
    got = office.get(f"/office/jobs/{job_id}/download")
    assert got.status_code == 200 and sheet_rows(got.get_data(), "outlets")[0] == header("outlets")


def test_bad_requests_are_refused_with_a_sentence_and_start_nothing(
    queued_app,
    programme,
    office,
):
    app = queued_app
    for path, data, says in (
        ("/office/jobs/export", {"kind": "outlets"}, "Choose the period to report on or export."),
        ("/office/jobs/export", {"period": 999999, "kind": "outlets"}, "Choose the period"),
        (
            "/office/jobs/export",
            {"period": programme.period_id, "kind": "nope"},
            "Choose one of the period&#39;s exports.",
        ),
        ("/office/jobs/period-report", {}, "Choose the period to report on or export."),
    ):
        reply = office.post(path, data)
        assert reply.status_code == 400 and says in reply.get_data(as_text=True), data
    with app.app_context():
        assert queue.recent() == []
    for job_id in ("0" * 32, "not-a-job", "A" * 65):
        reply = office.get(f"/office/jobs/{job_id}/download")
        assert reply.status_code == 404 and "<p" in reply.get_data(as_text=True)
