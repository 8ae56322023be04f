"""Command-line tasks: migrate, publish checklists, seed the demo organisation.

Each command commits once, at its end; a failure commits nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from shopper import demo, migrate
from shopper.backup import backup_command, restore_command
from shopper.checklists import service as checklists
from shopper.core.checklist import ChecklistInvalid
from shopper.doctor import doctor_command
from shopper.extensions import db
from shopper.org.features import ensure_defaults
from shopper.storage_copy import storage_group
from shopper.sweep import sweep


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema to the newest migration."""
    migrate.upgrade(db.engine())
    click.echo("Database is up to date.")


@click.command("load-checklists")
@with_appcontext
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def load_checklists(directory: Path | None) -> None:
    """Validate and publish every checklist file (earlier editions first, on a fresh
    installation); unchanged files publish nothing."""
    directory = directory or Path(current_app.config["CHECKLIST_DIR"])
    ensure_defaults(db.session)
    try:
        published = checklists.load_editions(db.session, directory)
        published += checklists.load_directory(db.session, directory)
    except ChecklistInvalid as exc:
        db.session.rollback()
        click.echo("Checklists refused, nothing was published:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    db.session.commit()
    for result in published:
        v = result.version
        state = "published" if result.created else "unchanged"
        click.echo(f"{v.code} v{v.version} {state} (sha256 {v.sha256[:12]}…, from {v.source})")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create the demo organisation once and print its logins."""
    logins = demo.seed(db.session, Path(current_app.instance_path), current_app.config)
    db.session.commit()
    click.echo("Demo logins (also in instance/demo-logins.txt):")
    for role, username, password in logins:
        click.echo(f"  {role:<20} {username:<14} {password}")


@click.command("setup")
@with_appcontext
@click.pass_context
def setup(ctx: click.Context) -> None:
    """init-db, load-checklists and seed-demo in one go (safe to run again)."""
    ctx.invoke(init_db)
    ctx.invoke(load_checklists)
    ctx.invoke(seed_demo)


@click.command("verify-notice")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_notice(file: Path) -> None:
    """Say whether FILE is a genuine notice; exit 0 only when it is."""
    from shopper.notices.verification import check

    verdict = check(db.session, current_app.config, file.read_bytes())
    status = verdict["status"]
    if status == "genuine":
        state = (
            f"superseded by {verdict['superseded_by']}" if verdict["superseded_by"] else "current"
        )
        to = verdict["outlet"] or verdict["sub_branch"]
        click.echo(
            f"genuine: notice {verdict['number']} to {to}, issued {verdict['issued_on']}, {state}"
        )
        return
    words = {
        "altered": "altered: changed or added to after it was signed",
        "not_ours": "not signed by us",
        "unknown": "unknown notice: our signature, but not a file we issued",
        "not_pdf": "not a PDF",
        "empty": "not a PDF: the file is empty",
        "too_large": "not a notice: the file is too large",
    }
    click.echo(words.get(status, status), err=True)
    sys.exit(1)


@click.command("issue-notices")
@with_appcontext
@click.option("--period", "period_code", required=True, help="e.g. 2026Q4")
@click.option("--workers", type=int, default=None, help="processes (default: every CPU core)")
@click.option("--wait/--no-wait", default=True, help="with a job queue: follow the job to its end")
def issue_notices(period_code: str, workers: int | None, wait: bool) -> None:
    """Issue and sign every due notice of a period (outlet and sub-branch notices): a job on
    the queue when SHOPPER_REDIS_URL is set, else here."""
    from shopper.jobs.cli import start_and_follow
    from shopper.jobs.tasks import ISSUE_NOTICES
    from shopper.periods.models import Period

    if db.session.scalar(select(Period.id).where(Period.code == period_code)) is None:
        click.echo(f"no period {period_code}", err=True)
        sys.exit(2)
    db.session.rollback()  # the job has its own session
    info = start_and_follow(ISSUE_NOTICES, wait=wait, period=period_code, workers=workers)
    if not info.done:
        click.echo(f"job {info.id}: /office/jobs/{info.id}")
        return
    if info.result is None:
        click.echo(f"failed: {info.error}", err=True)
        sys.exit(1)
    made, skipped, failed = info.result["made"], info.result["skipped"], info.result["failed"]
    click.echo(f"{made} issued, {skipped} skipped (issued before), {len(failed)} failed")
    for what, reason in failed:
        click.echo(f"  failed: {what}: {reason}", err=True)
    if failed:
        sys.exit(1)


@click.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Check the audit chain; name the first broken record (exit 1)."""
    from shopper.audit import service as audit

    verdict = audit.verify(db.session)
    if verdict.ok:
        click.echo(f"Audit chain verified: {verdict.records} records, none changed or missing.")
        return
    click.echo(f"Audit chain broken at record {verdict.broken_seq}: {verdict.reason}.", err=True)
    sys.exit(1)


def init_app(app: Flask) -> None:
    for command in (
        audit_group,
        doctor_command,
        init_db,
        load_checklists,
        seed_demo,
        setup,
        verify_notice,
        issue_notices,
        sweep,
        backup_command,
        restore_command,
        storage_group,
    ):
        app.cli.add_command(command)
