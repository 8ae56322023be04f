"""A throwaway Redis server for tests (Debian's redis-server): no disk, a free port, stopped
by its pid. Skips the test when redis-server is not installed."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed (Debian package redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.pidfile = folder / "redis.pid"
        subprocess.run(
            [
                binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--daemonize", "yes",
                "--pidfile", str(self.pidfile),
                "--dir", str(folder),
                "--save", "",
                "--appendonly", "no",
                "--logfile", str(folder / "redis.log"),
            ],
            check=True,
        )  # fmt: skip
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    if self.pidfile.exists():
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def flush(self) -> None:
        from redis import Redis

        Redis.from_url(self.url).flushall()

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(self.pidfile.read_text()), signal.SIGTERM)
