"""Defect 3: sign-ins are throttled per account and per address (HTTP 429, a sentence saying
when to try again, Retry-After); head office can lift an account's lock; a disabled account
takes as long to refuse as a wrong password."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import pytest

from shopper.auth.models import User
from shopper.extensions import db
from tests.conftest import PASSWORD, Client

LOCKED = "Too many failed sign-ins for this account"
BUSY_ADDRESS = "Too many failed sign-ins from this network"


@pytest.fixture
def limits(app):
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "5 per 15 minutes"
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "12 per 15 minutes"
    return app


def _fail(client: Client, username: str, times: int) -> None:
    for _ in range(times):
        assert client.login(username, "wrong").status_code == 401


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, world, limits):
    _fail(client, "inspector", 5)
    response = client.login("inspector", PASSWORD)
    assert response.status_code == 429
    body = response.get_data(as_text=True)
    assert LOCKED in body and re.search(r"after \d\d:\d\d", body), body[-800:]
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60


def test_the_lock_is_the_accounts_not_the_browsers(app, world, limits):
    _fail(Client(app), "inspector", 5)
    other = Client(app)  # another phone, same account
    assert other.login("inspector").status_code == 429
    assert Client(app).login("inspector2").status_code == 302  # other accounts sign in


def test_an_unknown_account_is_locked_the_same_way(client, world, limits):
    _fail(client, "no-such-user", 5)
    assert client.login("no-such-user", "x").status_code == 429  # no way to tell who exists


def test_many_accounts_tried_from_one_address_block_that_address(app, world, limits):
    client = Client(app)
    for n in range(12):
        assert client.login(f"guess{n}", "wrong").status_code == 401
    response = client.login("inspector2")
    assert response.status_code == 429
    assert BUSY_ADDRESS in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    elsewhere = Client(app)
    elsewhere.http.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert elsewhere.login("inspector2").status_code == 302


def test_right_passwords_are_never_counted(app, world, limits):
    for _ in range(8):
        assert Client(app).login("inspector").status_code == 302


def test_json_clients_get_the_sentence_and_retry_after(client, world, limits):
    _fail(client, "inspector", 5)
    response = client.post("/login", {"username": "inspector", "password": PASSWORD}, json=True)
    assert response.status_code == 429
    assert LOCKED in response.json["error"]
    assert response.headers["Retry-After"]


def test_head_office_sees_the_locked_account_and_lifts_the_lock(app, world, limits, login):
    _fail(Client(app), "inspector", 5)
    admin = login("admin")
    page = admin.get("/office/sign-in-locks")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<td>inspector</td>" in html and "<td>inspector2</td>" not in html
    refused = admin.post("/office/sign-in-locks/inspector/lift", csrf=False)
    assert refused.status_code == 400  # no CSRF token: nothing lifted
    assert Client(app).login("inspector").status_code == 429
    lifted = admin.post("/office/sign-in-locks/inspector/lift")
    assert lifted.status_code == 302
    after = admin.get("/office/sign-in-locks").get_data(as_text=True)
    assert "inspector may sign in again." in after
    assert "<td>inspector</td>" not in after
    assert Client(app).login("inspector").status_code == 302


def test_only_head_office_may_lift_a_lock(app, world, limits, login):
    _fail(Client(app), "inspector", 5)
    manager = login("outlet_manager")
    assert manager.get("/office/sign-in-locks").status_code == 403
    assert manager.post("/office/sign-in-locks/inspector/lift").status_code == 403
    assert Client(app).login("inspector").status_code == 429


def test_lifting_an_account_that_does_not_exist_is_not_found(login, world, limits):
    assert login("admin").post("/office/sign-in-locks/nobody-here/lift").status_code == 404


def _median_seconds(app, username: str, password: str) -> float:
    client = Client(app)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        assert client.login(username, password).status_code == 401
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_a_disabled_account_takes_as_long_to_refuse_as_a_wrong_password(app, world, limits):
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = app.config["LOGIN_LIMIT_PER_ADDRESS"] = "99/minute"
    with app.app_context():
        for name in ("inspector", "inspector2"):
            db.session.get(User, world.users[name]).set_password(PASSWORD)  # real scrypt
        db.session.get(User, world.users["inspector2"]).active = False
        db.session.commit()
    wrong = _median_seconds(app, "inspector", "wrong")
    disabled = _median_seconds(app, "inspector2", PASSWORD)
    print(
        f"refusal: wrong password {wrong * 1000:.0f} ms, disabled account {disabled * 1000:.0f} ms"
    )
    assert disabled > 0.6 * wrong, (disabled, wrong)


def test_the_throttle_store_comes_from_the_environment(monkeypatch, tmp_path: Path):
    from shopper.config import load

    assert load(tmp_path, {"SECRET_KEY": "x"})["RATELIMIT_STORAGE_URI"] == "memory://"
    monkeypatch.setenv("SHOPPER_RATELIMIT_STORAGE_URL", "redis://cache:6379/2")
    monkeypatch.setenv("SHOPPER_LOGIN_LIMIT_PER_ACCOUNT", "3 per 10 minutes")
    config = load(tmp_path, {"SECRET_KEY": "x"})
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/2"
    assert config["LOGIN_LIMIT_PER_ACCOUNT"] == "3 per 10 minutes"
