"""Serving a photo from object storage: through the app (streamed, as shopper.photos.views
does) or as a redirect to a short-lived presigned URL. Prints, per photo size, the app
process's CPU per request and the end-to-end time as a client sees it.

    .venv/bin/python bench/storage_serve.py [--requests 200]

Against moto's standalone server on this machine (tests/s3server.py), so absolute times are
moto's; the app's CPU per request is what the choice costs the app hosts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask, redirect  # noqa: E402

from shopper.photos.s3 import S3Storage  # noqa: E402
from shopper.photos.views import _streamed  # noqa: E402
from tests.s3server import S3Server  # noqa: E402

SIZES = {"thumb (20 kB)": 20_000, "main (400 kB)": 400_000, "big main (3 MB)": 3_000_000}


def measure(call, n: int) -> tuple[float, float]:
    """(median wall ms, app CPU ms) per call."""
    walls = []
    cpu0 = time.process_time()
    for _ in range(n):
        started = time.perf_counter()
        call()
        walls.append((time.perf_counter() - started) * 1000)
    return statistics.median(walls), (time.process_time() - cpu0) * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    server = S3Server().start()
    try:
        store = S3Storage.from_config(server.config(server.make_bucket()))
        app = Flask(__name__)

        @app.get("/proxy/<path:key>")
        def proxy(key: str):
            return _streamed(store, key, "image/jpeg", etag=key)

        @app.get("/presigned/<path:key>")
        def presigned(key: str):
            return redirect(store.presigned_url(key, 60), 302)

        client = app.test_client()
        print(f"{'photo':<18} {'way':<10} {'median ms':>10} {'app CPU ms':>11}")
        for n, (label, size) in enumerate(SIZES.items()):
            key = f"photos/aa/{'a' * 62}{n:02d}/main.jpg"
            store.put(key, os.urandom(size))

            def via_app(key: str = key, size: int = size) -> None:
                body = client.get(f"/proxy/{key}").get_data()
                assert len(body) == size

            def via_url(key: str = key, size: int = size) -> None:
                location = client.get(f"/presigned/{key}").headers["Location"]
                with urllib.request.urlopen(location) as answer:
                    assert len(answer.read()) == size

            def sign_only(key=key) -> None:
                client.get(f"/presigned/{key}")

            measure(via_app, 5)
            wall, cpu = measure(via_app, args.requests)
            print(f"{label:<18} {'proxy':<10} {wall:>10.1f} {cpu:>11.2f}")
            wall, _cpu = measure(via_url, args.requests)
            _wall, cpu = measure(sign_only, args.requests)  # the app's part of a presigned GET
            print(f"{label:<18} {'presigned':<10} {wall:>10.1f} {cpu:>11.2f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
