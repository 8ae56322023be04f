"""`flask --app shopper doctor`: is this deployment fit to serve? Each problem is a sentence.

Checks the database (reachable, migrated to the code's head), the storage (writable, free
space), the secret key, the fonts the PDFs need, the signing certificate (valid, not near
its end) and the clock. Exit 0 when all is well, 1 with the problems otherwise.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography import x509
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import text
from sqlalchemy.engine import Engine

from shopper.extensions import db
from shopper.migrate import alembic_config

MIN_FREE_BYTES = 1 << 30  # 1 GiB: a busy period's photos
CERT_WARNING_DAYS = 30
FONT = "WenQuanYi Micro Hei"  # notices and printed checklists (see templates/notices)
WEAK_KEYS = {"", "dev", "test", "test-secret", "secret", "changeme", "change-me"}
CLOCK_SKEW_SECONDS = 60

Check = Callable[[dict[str, Any], Engine], list[str]]


def check_database(config: dict[str, Any], engine: Engine) -> list[str]:
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except Exception as exc:  # any driver error: the sentence is what matters here
        return [f"The database cannot be reached: {type(exc).__name__}: {exc}".strip()]
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    if current != head:
        return [
            f"The database is at migration {current or 'none'}, the code needs {head}: "
            "run `flask --app shopper init-db`."
        ]
    return []


def check_storage(config: dict[str, Any], engine: Engine) -> list[str]:
    folder = Path(config["STORAGE_DIR"])
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-") as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as exc:
        return [f"The storage folder {folder} is not writable: {exc.strerror or exc}."]
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        return [f"The storage folder {folder} has only {free // (1 << 20)} MB free (want 1 GB)."]
    return []


def check_secret_key(config: dict[str, Any], engine: Engine) -> list[str]:
    key = str(config.get("SECRET_KEY") or "")
    if key.lower() in WEAK_KEYS or len(key) < 32:
        return [
            "The secret key is a default or too short (under 32 characters): unset "
            "SHOPPER_SECRET_KEY to use the generated instance/secret_key, or set a long random one."
        ]
    return []


def check_fonts(config: dict[str, Any], engine: Engine) -> list[str]:
    try:
        found = subprocess.run(
            ["fc-list", FONT], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        found = ""
    if FONT not in found:
        return [f"The font “{FONT}” is missing: apt-get install fonts-wqy-microhei."]
    return []


def _signing_certificate(config: dict[str, Any]) -> x509.Certificate | None:
    if config.get("SIGNING_P12"):
        from cryptography.hazmat.primitives.serialization import pkcs12

        data = Path(config["SIGNING_P12"]).read_bytes()
        passphrase = config.get("SIGNING_P12_PASSPHRASE")
        _key, cert, _chain = pkcs12.load_key_and_certificates(
            data, passphrase.encode() if passphrase else None
        )
        return cert
    path = Path(config["PKI_DIR"]) / "signing.pem"
    return x509.load_pem_x509_certificate(path.read_bytes()) if path.is_file() else None


def check_signing(config: dict[str, Any], engine: Engine) -> list[str]:
    try:
        cert = _signing_certificate(config)
    except (OSError, ValueError) as exc:
        return [f"The signing certificate cannot be read: {exc}."]
    if cert is None:
        return []  # made on first use: nothing to expire yet
    now = dt.datetime.now(dt.UTC)
    ends = cert.not_valid_after_utc
    if cert.not_valid_before_utc > now:
        return ["The signing certificate is not valid yet: check the clock."]
    if ends <= now:
        return [f"The signing certificate expired on {ends:%Y-%m-%d}: notices cannot be signed."]
    if ends - now < dt.timedelta(days=CERT_WARNING_DAYS):
        return [f"The signing certificate expires on {ends:%Y-%m-%d}: renew it now."]
    return []


def check_clock(config: dict[str, Any], engine: Engine) -> list[str]:
    now = dt.datetime.now(dt.UTC)
    if not 2024 <= now.year <= 2100:
        return [f"The clock says {now:%Y-%m-%d}: set the system time (NTP)."]
    if engine.dialect.name != "postgresql":
        return []
    try:
        with engine.connect() as conn:
            theirs = conn.execute(text("SELECT now()")).scalar_one()
    except Exception:  # reported by the database check
        return []
    skew = abs((theirs - now).total_seconds())
    if skew > CLOCK_SKEW_SECONDS:
        return [f"This host's clock and the database's differ by {skew:.0f} s: set both by NTP."]
    return []


CHECKS: tuple[Check, ...] = (
    check_database,
    check_storage,
    check_secret_key,
    check_fonts,
    check_signing,
    check_clock,
)


def problems(config: dict[str, Any], engine: Engine) -> list[str]:
    return [problem for check in CHECKS for problem in check(config, engine)]


@click.command("doctor")
@with_appcontext
def doctor_command() -> None:
    """Check this deployment; each problem a sentence, exit 1 if there is any."""
    found = problems(dict(current_app.config), db.engine())
    if not found:
        click.echo("All checks passed: database, storage, secret key, fonts, signing, clock.")
        return
    for problem in found:
        click.echo(problem, err=True)
    sys.exit(1)
