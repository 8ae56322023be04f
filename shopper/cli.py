"""Command-line tasks: migrate, publish checklists, seed the demo organisation.

Each command commits once, at its end; a failure commits nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from shopper import demo, migrate
from shopper.checklists import service as checklists
from shopper.core.checklist import ChecklistInvalid
from shopper.extensions import db


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
    """Validate and publish every checklist file; unchanged files publish nothing."""
    directory = directory or Path(current_app.config["CHECKLIST_DIR"])
    try:
        published = checklists.load_directory(db.session, directory)
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


def init_app(app: Flask) -> None:
    for command in (init_db, load_checklists, seed_demo, setup):
        app.cli.add_command(command)
