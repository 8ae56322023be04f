"""Fixtures: a migrated database per test run (SQLite, or PostgreSQL when
SHOPPER_DATABASE_URL points at one), emptied after each test; an app per test;
logged-in clients per role; a small organisation built by factories."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shopper import create_app
from shopper.auth.models import Role, User
from shopper.checklists.service import load_directory
from shopper.db import Base, make_engine
from shopper.extensions import db
from shopper.migrate import upgrade
from shopper.models import Agency, Assignment, Outlet, Period, SubBranch
from shopper.org.features import all_features, ensure_defaults

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
APPEND_ONLY = {"audit_records"}
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _database_url(tmp_path_factory, worker: str) -> str:
    base = os.environ.get("SHOPPER_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    url = make_url(base)
    name = f"{url.database}_test_{worker}"
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # a test database need not survive a power cut: commits don't wait for the disk
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, worker_id) -> str:
    url = _database_url(tmp_path_factory, worker_id)
    engine = make_engine(url)
    upgrade(engine)  # the migrations themselves are under test here
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory):
    """One organisation PKI per test worker: made once, the signer loaded once."""
    return tmp_path_factory.mktemp("pki") / "pki"


@pytest.fixture
def app(database_url, tmp_path, pki_dir):
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "STORAGE_DIR": str(tmp_path / "storage"),
            "SECRET_KEY": "test-secret",
            "PKI_DIR": str(pki_dir),
        }
    )
    yield app
    engine = db.engine(app)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in APPEND_ONLY and engine.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {table.name}"))  # its trigger refuses DELETE
            else:
                conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.session


@dataclass
class World:
    period_id: int
    old_period_id: int
    sub_branch_ids: list[int]
    outlet_ids: list[int]
    assignment_ids: dict[str, list[int]]
    users: dict[str, int]


def make_user(session, username: str, role: Role, **scope) -> User:
    user = User(username=username, display_name=username.title(), role=role, **scope)
    user.set_password(PASSWORD, method="pbkdf2:sha256:1000")  # fast for tests
    session.add(user)
    return user


@pytest.fixture
def world(app) -> World:
    """Two sub-branches, three outlets, a current and an old period, one user per role
    (plus a second inspector and a second outlet manager), checklists published."""
    with app.app_context():
        s = db.session
        ensure_defaults(s)
        load_directory(s, ROOT / "checklists")
        period = Period(
            code="2026Q4",
            starts_on=date(2026, 10, 1),
            ends_on=date(2026, 12, 31),
            is_current=True,
            state="open",
        )
        old = Period(
            code="2026Q3", starts_on=date(2026, 7, 1), ends_on=date(2026, 9, 30), state="closed"
        )
        agency = Agency(name="Agency")
        sb1, sb2 = SubBranch(code="SB1", name="East"), SubBranch(code="SB2", name="West")
        o1 = Outlet(code="O1", name="Outlet One", sub_branch=sb1)
        o2 = Outlet(code="O2", name="Outlet Two", sub_branch=sb1)
        o3 = Outlet(code="O3", name="Outlet Three", sub_branch=sb2)
        for outlet in (o1, o2, o3):  # a full outlet: every item applies unless a test says not
            outlet.features = all_features(s)
        s.add_all([period, old, agency, sb1, sb2, o1, o2, o3])
        s.flush()
        users = {
            "admin": make_user(s, "admin", Role.ADMIN),
            "inspector": make_user(s, "inspector", Role.INSPECTOR, agency=agency),
            "inspector2": make_user(s, "inspector2", Role.INSPECTOR, agency=agency),
            "outlet_manager": make_user(s, "outlet_manager", Role.OUTLET_MANAGER, outlet=o1),
            "outlet_manager3": make_user(s, "outlet_manager3", Role.OUTLET_MANAGER, outlet=o3),
            "sub_branch_manager": make_user(
                s, "sub_branch_manager", Role.SUB_BRANCH_MANAGER, sub_branch=sb1
            ),
            # the East sub-branch's video checker; no assignment in the world
            "bank_checker": make_user(s, "bank_checker", Role.BANK_CHECKER, sub_branch=sb1),
        }
        s.flush()
        a = [
            Assignment(period=period, outlet=o1, inspector=users["inspector"]),
            Assignment(period=period, outlet=o2, inspector=users["inspector"]),
            Assignment(period=period, outlet=o3, inspector=users["inspector2"]),
            Assignment(period=old, outlet=o1, inspector=users["inspector"]),
        ]
        s.add_all(a)
        s.commit()
        return World(
            period_id=period.id,
            old_period_id=old.id,
            sub_branch_ids=[sb1.id, sb2.id],
            outlet_ids=[o1.id, o2.id, o3.id],
            assignment_ids={"inspector": [a[0].id, a[1].id, a[3].id], "inspector2": [a[2].id]},
            users={name: u.id for name, u in users.items()},
        )


class Client:
    """A test client that speaks like the browser: CSRF token from the page, JSON on request."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()
        # tests read English sentences; Chinese (the default) has tests of its own
        self.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        self.csrf: str | None = None

    def refresh_csrf(self) -> str:
        page = self.http.get("/login").get_data(as_text=True)
        self.csrf = CSRF_META.search(page).group(1)
        return self.csrf

    def login(self, username: str, password: str = PASSWORD):
        token = self.refresh_csrf()
        response = self.http.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )
        if response.status_code == 302:
            self.csrf = CSRF_META.search(
                self.http.get("/", follow_redirects=True).get_data(as_text=True)
            ).group(1)
        return response

    def get(self, url: str, json: bool = False, **kw):
        headers = {"Accept": "application/json"} if json else {}
        return self.http.get(url, headers=headers, **kw)

    def post(self, url: str, data: dict | None = None, json: bool = False, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf or self.refresh_csrf())
        headers = {"Accept": "application/json"} if json else {}
        return self.http.post(url, data=data, headers=headers, **kw)


@pytest.fixture
def client(app) -> Client:
    return Client(app)


@pytest.fixture
def login(app, world):
    """login("inspector") → a Client signed in as that user of the world."""

    def make(username: str) -> Client:
        c = Client(app)
        response = c.login(username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return c

    return make


def new_uuid() -> str:
    return str(uuid.uuid4())
