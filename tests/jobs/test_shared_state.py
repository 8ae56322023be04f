"""Several hosts, one Redis: failed sign-ins counted in one process lock the account in
another, and head office's lift in one lets it in everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from shopper import create_app
from tests.conftest import PASSWORD, ROOT, Client

OTHER_HOST = textwrap.dedent(
    """
    import json, sys
    from shopper import create_app
    from tests.conftest import Client
    config, username, password, times = json.loads(sys.argv[1])
    app = create_app(config)
    statuses = [Client(app).login(username, password).status_code for _ in range(times)]
    print(json.dumps(statuses))
    """
)


@pytest.fixture
def host(app, redis_url):
    """A config for another host of the same installation, and this process's app for it."""
    config = {
        "TESTING": True,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "STORAGE_DIR": app.config["STORAGE_DIR"],
        "SECRET_KEY": "test-secret",
        "PKI_DIR": app.config["PKI_DIR"],
        "REDIS_URL": redis_url,
        "LOGIN_LIMIT_PER_ACCOUNT": "5 per 15 minutes",
    }
    here = create_app(config)
    yield config, here
    create_app(app.config | {"REDIS_URL": None})  # the limiter back on memory for others


def other_host(config: dict, username: str, password: str, times: int) -> list[int]:
    result = subprocess.run(
        [sys.executable, "-c", OTHER_HOST, json.dumps([config, username, password, times])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_with_redis_the_sign_in_counts_and_lifts_are_shared_by_every_process(world, host):
    config, here = host
    assert here.config["RATELIMIT_STORAGE_URI"] == config["REDIS_URL"]
    assert other_host(config, "inspector", "wrong", 5) == [401] * 5
    assert Client(here).login("inspector", PASSWORD).status_code == 429  # counted over there
    admin = Client(here)
    assert admin.login("admin").status_code == 302
    assert admin.post("/office/sign-in-locks/inspector/lift").status_code == 302
    assert other_host(config, "inspector", PASSWORD, 1) == [302]  # lifted over there too


def test_a_store_named_on_its_own_is_kept(app, redis_url):
    other = create_app(
        {**app.config, "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": "redis://elsewhere:6379"}
    )
    assert other.config["RATELIMIT_STORAGE_URI"] == "redis://elsewhere:6379"
    create_app(app.config | {"REDIS_URL": None})
