"""Jobs: in process without Redis, on RQ with it; progress on the page; retries after a
failure or a worker's death never issue a notice twice; reminders once a day."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from shopper.db import utcnow
from shopper.extensions import db
from shopper.jobs import queue
from shopper.jobs.tasks import ISSUE_NOTICES, REMIND_OVERDUE
from shopper.notices.models import Finding, Kind, Notice, NoticeCounter, NoticeEvent
from tests.conftest import ROOT
from tests.jobs.conftest import work
from tests.notices.test_cli import released_with_failures

JOB_PAGE = re.compile(r"/office/jobs/([0-9a-f-]{36})$")


def notices(app) -> list[Notice]:
    with app.app_context():
        return list(db.session.scalars(select(Notice).order_by(Notice.id)))


def assert_each_issued_once(app, inspections: list[int]) -> None:
    found = notices(app)
    outlet = [n for n in found if n.kind == Kind.OUTLET]
    assert sorted(n.inspection_id for n in outlet) == sorted(inspections)  # one each
    branch = [n.sub_branch_id for n in found if n.kind == Kind.SUB_BRANCH]
    assert len(branch) == len(set(branch)) == 2
    numbers = [n.number for n in found]
    assert len(numbers) == len(set(numbers))
    with app.app_context():
        last = {c.prefix: c.last for c in db.session.scalars(select(NoticeCounter))}
    # a chunk that died used no number: numbers run on without a gap
    assert last == {"ZG-2026Q4": len(inspections), "ZGS-2026Q4": 2}


def test_without_redis_the_button_issues_the_notices_while_you_wait(login, app, world):
    made = released_with_failures(login, app, world)
    admin = login("admin")
    reply = admin.post("/office/jobs/issue-notices", {"period": world.period_id})
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/office/jobs")
    page = admin.get("/office/jobs").get_data(as_text=True)
    assert "Notices: 5 issued, 0 issued before, 0 failed." in page
    assert "No job queue is configured" in page
    assert_each_issued_once(app, made)
    assert {n.issued_by_id for n in notices(app)} == {world.users["admin"]}


def test_the_button_refuses_a_missing_or_unknown_period_and_changes_nothing(login, app, world):
    released_with_failures(login, app, world)
    admin = login("admin")
    for data, says in (
        ({}, "Choose the period whose notices to issue."),
        ({"period": 999999}, "Choose the period whose notices to issue."),
        ({"period": "x"}, "Some fields are missing or invalid: period."),
    ):
        reply = admin.post("/office/jobs/issue-notices", data)
        assert reply.status_code == 400 and says in reply.get_data(as_text=True), data
    assert notices(app) == []


def test_with_redis_the_button_queues_a_job_whose_page_shows_its_progress(login, queued_app, world):
    app = queued_app
    made = released_with_failures(login, app, world)
    admin = login("admin")
    reply = admin.post("/office/jobs/issue-notices", {"period": world.period_id})
    job_id = JOB_PAGE.search(reply.headers["Location"]).group(1)
    page = admin.get(f"/office/jobs/{job_id}").get_data(as_text=True)
    assert "Waiting for a worker" in page and "js/jobs.js" in page
    assert f'data-progress-url="/office/jobs/{job_id}/progress"' in page
    before = admin.get(f"/office/jobs/{job_id}/progress", json=True).json
    assert before["status"] == "queued" and before["done"] is False
    assert notices(app) == []  # nothing happened in the request
    work(app)
    after = admin.get(f"/office/jobs/{job_id}/progress", json=True).json
    assert after["status"] == "finished" and after["done"] is True
    assert after["progress"] == {"done": 5, "total": 5, "made": 5, "skipped": 0, "failed": 0}
    assert after["summary"] == "Notices: 5 issued, 0 issued before, 0 failed."
    assert after["percent"] == 100
    assert_each_issued_once(app, made)
    listing = admin.get("/office/jobs").get_data(as_text=True)
    assert f"/office/jobs/{job_id}" in listing and "2026Q4" in listing


def test_an_unknown_or_malformed_job_id_is_not_found(login, queued_app, world):
    admin = login("admin")
    for job_id in ("0" * 32, "not-a-job", "ABC", "a" * 65):
        assert admin.get(f"/office/jobs/{job_id}").status_code == 404
        assert admin.get(f"/office/jobs/{job_id}/progress", json=True).status_code == 404


def test_a_job_that_dies_after_a_chunk_is_retried_and_issues_each_notice_once(
    login, queued_app, world, monkeypatch
):
    """The first run commits its first chunk (one outlet notice) and dies; the retry finds
    it, issues the rest and no number twice."""
    from shopper.notices import bulk

    app = queued_app
    made = released_with_failures(login, app, world)
    real_chunks, real_lock = bulk._chunks, bulk.lock_numbering
    monkeypatch.setattr(bulk, "_chunks", lambda ids, size: real_chunks(ids, 1))
    calls = []

    def dies_on_the_second_chunk(session, prefix):
        calls.append(prefix)
        if len(calls) == 2:
            raise RuntimeError("the worker's machine lost power")
        return real_lock(session, prefix)

    monkeypatch.setattr(bulk, "lock_numbering", dies_on_the_second_chunk)
    with app.test_request_context():
        started = queue.enqueue(ISSUE_NOTICES, period="2026Q4", workers=0)
    work(app)  # the first run dies, RQ runs it again (interval 0 here) in the same burst
    with app.app_context():
        info = queue.find(started.id)
    assert info.status == "finished" and info.attempt == 2
    assert info.result["made"] == 4 and info.result["skipped"] == 1  # the first run's one
    assert_each_issued_once(app, made)


def test_a_job_with_failed_notices_is_retried_until_they_are_issued(
    login, queued_app, world, monkeypatch
):
    from shopper.notices import signing

    app = queued_app
    made = released_with_failures(login, app, world)
    real = signing.pdf_and_sign_from_html
    failures = []

    def fails_once(html, signer_args, sign_kwargs):
        if sign_kwargs["reason"] == "ZG-2026Q4-00001" and not failures:
            failures.append(1)
            raise RuntimeError("the printer caught fire")
        return real(html, signer_args, sign_kwargs)

    monkeypatch.setattr(signing, "pdf_and_sign_from_html", fails_once)
    with app.test_request_context():
        started = queue.enqueue(ISSUE_NOTICES, period="2026Q4", workers=0)
    work(app)
    with app.app_context():
        info = queue.find(started.id)
    assert info.status == "finished" and info.attempt == 2
    assert info.result == {"period": "2026Q4", "made": 1, "skipped": 4, "failed": []}
    outlet = [n for n in notices(app) if n.kind == Kind.OUTLET]
    assert sorted(n.inspection_id for n in outlet) == sorted(made)
    assert len({n.number for n in notices(app)}) == 5  # 00001 was never used, and never will


def _worker_env(app) -> dict:
    return {
        **os.environ,
        "SHOPPER_DATABASE_URL": app.config["DATABASE_URL"],
        "SHOPPER_STORAGE_DIR": app.config["STORAGE_DIR"],
        "SHOPPER_PKI_DIR": app.config["PKI_DIR"],
        "SHOPPER_SECRET_KEY": app.config["SECRET_KEY"],
        "SHOPPER_REDIS_URL": app.config["REDIS_URL"],
    }


def kill_machine(pid: int) -> None:
    """SIGKILL `pid` and everything below it, as when its machine dies: RQ's work horse is
    a process group of its own (os.setpgrp), its signing processes are in that group."""
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
            found.add(os.getpgid(current))
        except (OSError, ValueError):
            continue
    for group in found:
        with contextlib.suppress(OSError):
            os.killpg(group, signal.SIGKILL)


def test_a_job_whose_worker_is_killed_is_run_again_and_issues_each_notice_once(
    login, queued_app, world, tmp_path
):
    """A real worker (forked work horse, signing processes) is killed with its process group
    in the middle of a period; RQ finds the job abandoned and runs it again."""
    from rq.registry import StartedJobRegistry

    app = queued_app
    made = released_with_failures(login, app, world)
    with app.test_request_context():
        started = queue.enqueue(ISSUE_NOTICES, period="2026Q4", workers=1)  # chunks of 2
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "shopper", "jobs", "worker"],
        cwd=ROOT,
        env=_worker_env(app),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with app.app_context():
                info = queue.find(started.id)
            if info.progress.get("done", 0) >= 2 and not info.done:
                break  # the first chunk is committed, the run goes on
            assert not info.done, "the job ended before it could be killed"
            time.sleep(0.02)
        else:
            raise AssertionError((tmp_path / "worker.log").read_text()[-2000:])
        kill_machine(worker.pid)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        log.close()
    with app.app_context():
        assert queue.find(started.id).status == "started"  # as the dead worker left it
        # what a worker's maintenance does once the job's heartbeat has expired (60 s on)
        registry = StartedJobRegistry(queue.QUEUE, connection=queue.connection(app))
        registry.cleanup(timestamp=time.time() + 3600)
        assert queue.find(started.id).status == "queued"
    work(app)
    with app.app_context():
        info = queue.find(started.id)
    assert info.status == "finished" and info.attempt == 2, info
    assert info.result["skipped"] >= 2, (info, [(n.number, n.inspection_id) for n in notices(app)])
    assert_each_issued_once(app, made)


def test_issue_notices_on_the_command_line_queues_a_job_with_redis(login, queued_app, world):
    app = queued_app
    released_with_failures(login, app, world)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["issue-notices", "--period", "2026Q4", "--no-wait"])
    assert result.exit_code == 0, result.output
    job_id = re.search(r"job ([0-9a-f-]{36}): /office/jobs/\1", result.output).group(1)
    assert notices(app) == []
    work(app)
    with app.app_context():
        assert queue.find(job_id).result["made"] == 5
    unknown = runner.invoke(args=["issue-notices", "--period", "1999Q1"])
    assert unknown.exit_code == 2 and "no period 1999Q1" in unknown.output


def _overdue(app) -> None:
    """Every open finding's deadline was last week."""
    with app.app_context():
        last_week = (utcnow() - timedelta(days=7)).date()
        db.session.execute(update(Finding).values(deadline=last_week))
        db.session.commit()


def reminded(app) -> list[tuple[int, str]]:
    with app.app_context():
        return list(
            db.session.execute(
                select(NoticeEvent.notice_id, NoticeEvent.detail)
                .where(NoticeEvent.kind == "reminded")
                .order_by(NoticeEvent.notice_id)
            )
        )


def test_overdue_reminders_are_recorded_once_a_day_per_current_notice(login, app, world):
    from shopper.audit.models import AuditRecord
    from shopper.jobs import reminders

    released_with_failures(login, app, world)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["issue-notices", "--period", "2026Q4"]).exit_code == 0
    result = runner.invoke(args=["jobs", "run", REMIND_OVERDUE])
    assert '"reminded": 0' in result.output  # nothing is overdue yet
    _overdue(app)
    first = runner.invoke(args=["jobs", "run", REMIND_OVERDUE])
    assert first.exit_code == 0 and '"reminded": 3' in first.output, first.output
    outlet_ids = sorted(n.id for n in notices(app) if n.kind == Kind.OUTLET)
    assert reminded(app) == [(i, "2") for i in outlet_ids]  # two overdue findings each
    again = runner.invoke(args=["jobs", "run", REMIND_OVERDUE])
    assert '"reminded": 0, "already": 3' in again.output
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditRecord)
                .where(AuditRecord.action == "reminded")
            )
            == 3
        )
        tomorrow = utcnow() + timedelta(days=1)
        assert reminders.remind_overdue(db.session, now=tomorrow) == (3, 0)
        db.session.commit()
    assert len(reminded(app)) == 6


def test_a_closed_or_answered_notice_is_not_reminded(login, app, world):
    released_with_failures(login, app, world)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["issue-notices", "--period", "2026Q4"]).exit_code == 0
    _overdue(app)
    first, second, third = sorted(
        (n for n in notices(app) if n.kind == Kind.OUTLET), key=lambda n: n.id
    )
    with app.app_context():
        db.session.execute(update(Notice).where(Notice.id == first.id).values(closed_at=utcnow()))
        db.session.execute(
            update(Finding)
            .where(Finding.inspection_id == second.inspection_id)
            .values(status="answered")
        )
        db.session.commit()
    assert '"reminded": 1' in runner.invoke(args=["jobs", "run", REMIND_OVERDUE]).output
    assert reminded(app) == [(third.id, "2")]


def test_the_reminder_and_sweep_buttons_run_and_report(login, queued_app, world):
    admin = login("admin")
    for path in ("/office/jobs/remind-overdue", "/office/jobs/sweep"):
        reply = admin.post(path)
        assert JOB_PAGE.search(reply.headers["Location"]), path
    work(queued_app)
    page = admin.get("/office/jobs").get_data(as_text=True)
    assert "0 notices with overdue findings reminded." in page
    assert "0 unreferenced files and 0 expired sign-ins removed." in page


def test_jobs_run_names_the_jobs_there_are(app):
    result = app.test_cli_runner().invoke(args=["jobs", "run", "nothing"])
    assert result.exit_code == 2 and "issue_notices" in result.output


def test_a_worker_without_redis_says_so(app):
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 2 and "SHOPPER_REDIS_URL is not set" in result.output
