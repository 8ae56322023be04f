"""A real S3 protocol server for tests: moto's standalone server in a subprocess.

Not mocks in-process: boto3 speaks HTTP to it, signs its requests, streams bodies, and a
test can stop it to see what S3 being down does. Import the fixtures in a conftest:

    from tests.s3server import s3_server, s3_bucket  # noqa: F401

`s3_server` (session): an S3Server, started once per test session (each xdist worker
its own). `s3_bucket` (function): a new, empty bucket on it, and the app config that
points at it (`S3Server.config(bucket)`). moto keeps everything in memory; it is for
tests only (a bank runs MinIO, Ceph RGW or a cloud store).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ACCESS_KEY = "testing"
SECRET_KEY = "testing-secret"
REGION = "us-east-1"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _moto_server() -> list[str]:
    """moto's console script beside this interpreter, else `python -m moto.server`."""
    beside = Path(sys.executable).with_name("moto_server")
    found = str(beside) if beside.exists() else shutil.which("moto_server")
    return [found] if found else [sys.executable, "-m", "moto.server"]


@dataclass
class S3Server:
    """moto_server on 127.0.0.1:<port>, as a subprocess; `stop()` and `start()` again to
    play an S3 outage (the same port, so clients made before see it come back; moto
    starts empty again)."""

    host: str = "127.0.0.1"
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    _client: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> S3Server:
        self.port = self.port or free_port(self.host)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
        self.process = subprocess.Popen(
            [*_moto_server(), "-H", self.host, "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.process.returncode}")
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).close()
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto_server did not answer on {self.endpoint} in {timeout} s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def client(self) -> Any:
        """A boto3 client of its own (made once: making one costs a good fraction of a
        second)."""
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def make_bucket(self, name: str | None = None) -> str:
        name = name or f"shopper-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def config(self, bucket: str) -> dict[str, Any]:
        """The app settings that put storage in `bucket` on this server."""
        return {
            "S3_BUCKET": bucket,
            "S3_ENDPOINT": self.endpoint,
            "S3_REGION": REGION,
            "S3_ACCESS_KEY": ACCESS_KEY,
            "S3_SECRET_KEY": SECRET_KEY,
            # a test of S3 being down should not wait out production's patience
            "S3_CONNECT_TIMEOUT": 2.0,
            "S3_READ_TIMEOUT": 10.0,
            "S3_ATTEMPTS": 2,
        }

    def env(self, bucket: str) -> dict[str, str]:
        """The same as SHOPPER_S3_* environment variables (for a subprocess: gunicorn)."""
        return {f"SHOPPER_{k}": str(v) for k, v in self.config(bucket).items()}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = S3Server().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """A new, empty bucket for one test."""
    return s3_server.make_bucket()


def main() -> None:
    """`python -m tests.s3server [--port N] [--bucket NAME]`: moto's server in the
    foreground with the bucket made, printing the SHOPPER_S3_* settings (for bench/ scripts
    and a cluster test); stops on Ctrl-C or SIGTERM."""
    import argparse
    import signal

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bucket", default="shopper")
    args = parser.parse_args()
    server = S3Server(host=args.host, port=args.port).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.make_bucket(args.bucket)
        for name, value in server.env(args.bucket).items():
            print(f"{name}={value}", flush=True)
        assert server.process is not None
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
