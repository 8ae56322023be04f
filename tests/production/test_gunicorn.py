"""Defect 2: on the shipped gunicorn configuration, photos uploading slowly over a weak signal
do not hold up anyone's autosaves, and the server names no software.

A real gunicorn on 127.0.0.1 (free port), one worker process so that the test is decisive:
with sync workers each slow upload holds a whole process and the autosaves wait behind it."""

from __future__ import annotations

import http.client
import io
import random
import runpy
import socket
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from tests.factories import items, start
from tests.production.server import gunicorn


def noise_jpeg(megabytes: float = 3.9) -> bytes:
    """A photo of about `megabytes` (noise does not compress)."""
    side = int((megabytes * 1_000_000 / 1.13) ** 0.5)
    pixels = random.Random(0).randbytes(side * side * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


@dataclass
class Phone:
    """What the test client's signed-in session looks like on the wire."""

    cookie: str
    csrf: str
    inspection: int
    version: int
    codes: list[str] = field(default_factory=list)


def _multipart(fields: dict[str, str], photo: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="p.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + photo
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), boundary


def slow_upload(base: str, phone: Phone, photo: bytes, bytes_per_second: int) -> int:
    """POST a photo the way a phone on a weak signal does, a slice every 0.1 s; the status."""
    body, boundary = _multipart(
        {
            "csrf_token": phone.csrf,
            "uuid": str(uuid.uuid4()),
            "version": str(phone.version),
            "item": phone.codes[0],
        },
        photo,
    )
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=120) as conn:
        head = (
            f"POST /inspect/{phone.inspection}/photos HTTP/1.1\r\nHost: {host}\r\n"
            f"Cookie: {phone.cookie}\r\nAccept: application/json\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        conn.sendall(head.encode())
        step = max(1, bytes_per_second // 10)
        for offset in range(0, len(body), step):
            conn.sendall(body[offset : offset + step])
            time.sleep(0.1)
        reply = conn.recv(200).decode(errors="replace")
    return int(reply.split()[1]) if reply.startswith("HTTP/") else 0


def autosaves(base: str, phone: Phone, seconds: float) -> list[tuple[int, float]]:
    """Answer items one after another for `seconds`: (status, latency in s) of each."""
    host, port = base.removeprefix("http://").split(":")
    results = []
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        code = phone.codes[1 + n % (len(phone.codes) - 1)]
        form = f"csrf_token={phone.csrf}&uuid={uuid.uuid4()}&version={phone.version}"
        form += f"&item={code}&result=pass"
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        started = time.monotonic()
        conn.request(
            "POST",
            f"/inspect/{phone.inspection}/answers",
            body=form,
            headers={
                "Cookie": phone.cookie,
                "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        status = conn.getresponse().status
        results.append((status, time.monotonic() - started))
        conn.close()
        n += 1
        time.sleep(0.1)
    return results


@pytest.fixture
def phone(login, world, app) -> Phone:
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    pinned = items(app, iid)
    cookie = c.http.get_cookie("session")
    return Phone(
        cookie=f"session={cookie.value}",
        csrf=c.csrf,
        inspection=iid,
        version=pinned[0][0],
        codes=[code for version, code, _ in pinned if version == pinned[0][0]],
    )


@pytest.fixture
def server_env(app) -> dict[str, str]:
    return {
        "SHOPPER_DATABASE_URL": app.config["DATABASE_URL"],
        "SHOPPER_STORAGE_DIR": app.config["STORAGE_DIR"],
        "SHOPPER_PKI_DIR": app.config["PKI_DIR"],
        "SHOPPER_SECRET_KEY": app.config["SECRET_KEY"],
    }


def run_beside_slow_uploads(base: str, phone: Phone, uploads: int, rate: int, photo: bytes):
    """`uploads` slow photo uploads at once and, beside them, a phone autosaving."""
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(slow_upload(base, phone, photo, rate)))
        for _ in range(uploads)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # the uploads are under way
    upload_seconds = len(photo) / rate
    saves = autosaves(base, phone, seconds=min(upload_seconds - 1.5, 8))
    for thread in threads:
        thread.join()
    return statuses, saves


def test_slow_uploads_do_not_hold_up_autosaves_on_the_shipped_configuration(
    phone, server_env, world
):
    photo = noise_jpeg(3.9)
    rate = len(photo) // 10  # ~390 kB/s: the 3.9 MB upload lasts 10 s (100 kB/s, 4× faster)
    with gunicorn(server_env, "--workers", "1") as base:
        statuses, saves = run_beside_slow_uploads(base, phone, 2, rate, photo)
    latencies = [seconds for _status, seconds in saves]
    print(
        f"gthread, 1 worker, 2 slow uploads: {len(saves)} autosaves, "
        f"median {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )
    assert {status for status, _ in saves} == {200}
    assert len(saves) >= 10
    assert max(latencies) < 2.0, latencies
    assert statuses == [201, 201]


def test_the_server_names_no_software_and_limits_request_lines(server_env, world):
    with gunicorn(server_env, "--workers", "1") as base:
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/login")
        response = conn.getresponse()
        response.read()
        assert response.status == 200
        assert response.getheader("Server") is None
        conn.close()
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/login?next=" + "a" * 9000)
        assert conn.getresponse().status == 414  # request line too long
        conn.close()


@pytest.mark.parametrize(("workers", "restarts"), [("1", False), ("2", True)])
def test_a_lone_worker_is_never_restarted_for_its_request_count(monkeypatch, workers, restarts):
    # a lone worker's restart (max_requests) stopped every phone for 3.5-4.5 s (bench/load.py)
    monkeypatch.setenv("WEB_CONCURRENCY", workers)
    settings = runpy.run_path(str(Path(__file__).parents[2] / "gunicorn.conf.py"))
    assert settings["workers"] == int(workers)
    assert (settings["max_requests"] > 0) is restarts
