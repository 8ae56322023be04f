"""Defect 5: a database that never answers, and a SQLite file that was read-only for a while.

Both are a 503 sentence at once, and the server recovers by itself, without a restart."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time

import pytest
from sqlalchemy.orm import Session

from shopper import create_app
from shopper.auth.models import Role, User
from shopper.db import make_engine
from shopper.migrate import upgrade
from tests.conftest import PASSWORD, Client

UNAVAILABLE = "The database is not answering"


@contextlib.contextmanager
def silent_server():
    """A TCP server that accepts every connection and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def test_a_database_that_never_answers_gives_a_503_within_seconds(tmp_path):
    with silent_server() as port:
        app = create_app(
            {
                "DATABASE_URL": f"postgresql://u:p@127.0.0.1:{port}/shopper",
                "DATABASE_CONNECT_TIMEOUT": 2,
                "STORAGE_DIR": str(tmp_path / "storage"),
                "SECRET_KEY": "test-secret",
            }
        )
        client = Client(app)
        client.refresh_csrf()
        outcome: dict = {}

        def sign_in() -> None:
            started = time.monotonic()
            response = client.post("/login", {"username": "someone", "password": "x"})
            outcome.update(response=response, seconds=time.monotonic() - started)

        request = threading.Thread(target=sign_in, daemon=True)
        request.start()
        request.join(timeout=15)
        assert not request.is_alive(), "the request still waits for the silent database"
        response = outcome["response"]
        assert response.status_code == 503
        assert UNAVAILABLE in response.get_data(as_text=True)
        assert outcome["seconds"] < 6


def test_the_default_timeouts_are_short_enough_for_a_phone():
    from shopper.config import load

    config = load(__import__("pathlib").Path("/nonexistent"), {"SECRET_KEY": "x"})
    assert 0 < config["DATABASE_CONNECT_TIMEOUT"] <= 10
    assert 0 < config["DATABASE_STATEMENT_TIMEOUT"] <= 30


def test_postgresql_connections_carry_the_statement_timeout(app):
    from sqlalchemy import text

    from shopper.extensions import db

    if db.engine(app).dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (SHOPPER_DATABASE_URL)")
    with app.app_context():
        assert db.session.scalar(text("SHOW statement_timeout")) == "15s"


def _set_read_only(paths, read_only: bool) -> None:
    """Read-only for this process: chmod, or for root (whom chmod does not stop) the
    immutable attribute."""
    for path in paths:
        if os.geteuid() == 0:
            flag = "+i" if read_only else "-i"
            if subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode:
                pytest.skip("cannot make a file read-only for root here (chattr)")
        else:
            path.chmod((0o555 if path.is_dir() else 0o444) if read_only else 0o755)


@pytest.fixture
def sqlite_app(tmp_path):
    """An app on its own SQLite file (whatever database the suite runs on), one user."""
    folder = tmp_path / "data"
    folder.mkdir()
    url = f"sqlite:///{folder / 'shopper.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as s:
        user = User(username="admin", display_name="Admin", role=Role.ADMIN)
        user.set_password(PASSWORD, method="pbkdf2:sha256:1000")
        s.add(user)
        s.commit()
    engine.dispose()
    app = create_app(
        {"DATABASE_URL": url, "STORAGE_DIR": str(tmp_path / "s"), "SECRET_KEY": "test-secret"}
    )
    app.testing = False  # what gunicorn does: exceptions become error pages
    yield app, folder
    _set_read_only([folder, *folder.iterdir()], False)


def test_a_read_only_sqlite_file_is_a_503_then_writes_work_again_without_a_restart(sqlite_app):
    app, folder = sqlite_app
    files = [folder, *folder.iterdir()]
    client = Client(app)
    _set_read_only(files, True)
    try:
        refused = client.login("admin")  # signing in writes the login session
        assert refused.status_code == 503, refused.get_data(as_text=True)[:500]
        assert UNAVAILABLE in refused.get_data(as_text=True)
        again = client.login("admin")
        assert again.status_code == 503
    finally:
        _set_read_only(files, False)
    assert client.login("admin").status_code == 302
