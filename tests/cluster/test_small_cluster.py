"""The small cluster test CI runs every time (bench/cluster.py --small): PostgreSQL, Redis,
an S3 server (moto's, over HTTP), one gunicorn host behind nginx and one RQ worker; a short
load through nginx, then a period's notices issued through the queue by head office's
button; nothing lost or twice, every notice verifies, the audit chain verifies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _pg_url() -> str:
    """Where a fresh database can be made: the suite's PostgreSQL server, else CI's."""
    base = os.environ.get("SHOPPER_DATABASE_URL", "")
    if base.startswith("postgresql"):
        return base
    return "postgresql://shopper_ci:shopper_ci@127.0.0.1/shopper_ci"


@pytest.fixture
def pg_url() -> str:
    import psycopg

    url = _pg_url()
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server to make the cluster's database on: {exc}")
    return url


@pytest.mark.skipif(
    not (shutil.which("redis-server") and shutil.which("nginx")),
    reason="redis-server or nginx is not installed (.ci/run installs both)",
)
def test_a_small_cluster_serves_the_load_and_issues_a_period_through_the_queue(pg_url):
    result = subprocess.run(
        [
            sys.executable,
            "bench/cluster.py",
            "--small",
            "-n",
            "3",
            "--photos",
            "1",
            "--hello-seconds",
            "1",
            "--max-seconds",
            "120",
            "--pg-url",
            pg_url,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "cluster: ok" in output
    assert "missing 0, twice 0, numbers twice 0" in output
    assert "0 objects missing in the bucket" in output
    assert "Audit chain verified" in output
