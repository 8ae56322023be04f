"""Jobs on a real Redis server (one per test run, emptied before each test)."""

from __future__ import annotations

import pytest

from tests.exports.conftest import office, programme  # noqa: F401 - fixtures for the jobs of results
from tests.jobs.redisserver import RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def queued_app(app, redis_url):
    """The test app with the queue switched on (retries without waiting)."""
    app.config["REDIS_URL"] = redis_url
    app.config["JOBS_RETRY_INTERVALS"] = [0, 0, 0]
    return app


def work(app, burst: bool = True) -> None:
    """Run the queue's jobs in this process (RQ's SimpleWorker) until it is empty."""
    from rq import SimpleWorker

    from shopper.jobs import queue

    with app.app_context():
        SimpleWorker([queue.queue(app)], connection=queue.connection(app)).work(
            burst=burst, with_scheduler=False, logging_level="WARNING"
        )
