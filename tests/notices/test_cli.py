"""issue-notices (bulk, every core, idempotent) and verify-notice (exit code = verdict)."""

from sqlalchemy import func, select

from shopper.extensions import db
from shopper.notices.models import Kind, Notice
from tests.factories import release, submitted_directly


def two_failures():
    """The first two items that may fail without a photo and are no red line, fail."""
    seen = []

    def result_for(item):
        if not item.red_line and not item.photo_required_on_fail and len(seen) < 2:
            seen.append(item.code)
            return "fail"
        return "pass"

    return result_for


def released_with_failures(login, app, world):
    """O1 and O2 (inspector) and O3 (inspector2), each with two failed items, released."""
    made = []
    for who, assignment in (
        ("inspector", world.assignment_ids["inspector"][0]),
        ("inspector", world.assignment_ids["inspector"][1]),
        ("inspector2", world.assignment_ids["inspector2"][0]),
    ):
        iid = submitted_directly(app, world.users[who], assignment, two_failures())
        release(app, iid)  # without its notice: the bulk command issues them
        made.append(iid)
    return made


def count(app, kind):
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(Notice).where(Notice.kind == kind)
        )


def test_issue_notices_issues_every_due_notice_once(login, app, world):
    released_with_failures(login, app, world)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["issue-notices", "--period", "2026Q4", "--workers", "2"])
    assert first.exit_code == 0, first.output
    assert "5 issued, 0 skipped" in first.output  # three outlets, two sub-branches
    assert count(app, Kind.OUTLET) == 3 and count(app, Kind.SUB_BRANCH) == 2
    again = runner.invoke(args=["issue-notices", "--period", "2026Q4"])
    assert again.exit_code == 0, again.output
    assert again.output.strip().endswith("0 issued, 5 skipped (issued before), 0 failed")
    assert count(app, Kind.OUTLET) == 3 and count(app, Kind.SUB_BRANCH) == 2


def test_issue_notices_for_an_unknown_period_says_so(app, world):
    result = app.test_cli_runner().invoke(args=["issue-notices", "--period", "1999Q1"])
    assert result.exit_code == 2 and "no period 1999Q1" in result.output


def test_verify_notice_exits_zero_only_for_a_genuine_notice(login, app, world, tmp_path):
    released_with_failures(login, app, world)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["issue-notices", "--period", "2026Q4"]).exit_code == 0
    with app.app_context():
        notice = db.session.scalars(select(Notice).where(Notice.kind == Kind.OUTLET)).first()
        from shopper.notices import service
        from shopper.photos.service import storage

        data = service.pdf_of(storage(), notice)
        number = notice.number
    good = tmp_path / "good.pdf"
    good.write_bytes(data)
    result = runner.invoke(args=["verify-notice", str(good)])
    assert result.exit_code == 0 and f"genuine: notice {number}" in result.output
    appended = tmp_path / "appended.pdf"
    appended.write_bytes(data + b"\n% appended\n")
    result = runner.invoke(args=["verify-notice", str(appended)])
    assert result.exit_code == 1 and "altered" in result.output
    text = tmp_path / "text.pdf"
    text.write_text("hello")
    result = runner.invoke(args=["verify-notice", str(text)])
    assert result.exit_code == 1 and "not a PDF" in result.output


def test_one_failing_notice_never_undoes_the_others(login, app, world, monkeypatch):
    """Each notice is recorded in its own savepoint: the first notice failing to sign used to
    roll back every later outlet's findings and the counters while their notices stayed."""
    from shopper.notices import signing
    from shopper.notices.models import Finding, NoticeCounter

    released_with_failures(login, app, world)
    real = signing.pdf_and_sign_from_html

    def failing_first(html, signer_args, sign_kwargs):
        if sign_kwargs["reason"] == "ZG-2026Q4-00001":
            raise RuntimeError("the printer caught fire")
        return real(html, signer_args, sign_kwargs)

    # the worker processes are forked after the patch and find it by this name
    failing_first.__module__, failing_first.__qualname__ = signing.__name__, real.__name__
    monkeypatch.setattr(signing, "pdf_and_sign_from_html", failing_first)
    result = app.test_cli_runner().invoke(args=["issue-notices", "--period", "2026Q4"])
    assert result.exit_code == 1
    assert "4 issued" in result.output and "1 failed" in result.output
    assert "outlet O1: RuntimeError: the printer caught fire" in result.output
    with app.app_context():
        notices = db.session.scalars(select(Notice)).all()
        assert len(notices) == 4
        with_findings = {f.outlet_id for f in db.session.scalars(select(Finding))}
        assert {n.outlet_id for n in notices if n.kind == Kind.OUTLET} <= with_findings
        last = {c.prefix: c.last for c in db.session.scalars(select(NoticeCounter))}
        assert last == {"ZG-2026Q4": 3, "ZGS-2026Q4": 2}  # 00001 stays unused, never reused
    monkeypatch.setattr(signing, "pdf_and_sign_from_html", real)
    again = app.test_cli_runner().invoke(args=["issue-notices", "--period", "2026Q4"])
    assert again.exit_code == 0 and "1 issued" in again.output, again.output
