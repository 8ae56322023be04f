"""gunicorn settings for Shopper: `gunicorn -c gunicorn.conf.py wsgi:app`.

Threaded workers (gthread): a phone uploading a 4 MB photo over a weak signal holds one
thread, not a whole process, so everyone's autosaves go on beside it. Measured on 2 cores with
two 3.9 MB uploads lasting 10 s each (tests/production/test_gunicorn.py): sync workers (1 or 2)
let one autosave through in 8 s (it waited 10.7-12.7 s); gthread answered 54-61 autosaves,
median 27-39 ms, max 215-273 ms. Override any setting on the command line or with
GUNICORN_CMD_ARGS, e.g. GUNICORN_CMD_ARGS="--bind 0.0.0.0:8000".
"""

import os

bind = os.environ.get("SHOPPER_BIND", "127.0.0.1:8000")
worker_class = "gthread"
# One process per core when sign-in throttling counts in a shared store (SHOPPER_REDIS_URL or
# SHOPPER_RATELIMIT_STORAGE_URL=redis://…): Python runs one thread at a time per process, so
# one process uses one core. Measured with bench/load.py (SQLite, 100 phones answering every
# 1 s ±50%, 2 photos each, 2 cores shared with other work at load 5-6): 1 process x 16 threads
# autosave p99 11 070 ms, /healthz 362/s; 2 processes x 8 threads p99 2 417 ms, /healthz
# 594/s. Without a shared store the counts live in each process's memory, exact only within
# one, so one process (a lock lifted by head office would stay in the others): say
# WEB_CONCURRENCY=2 only with a shared store.
_shared_throttle = bool(
    os.environ.get("SHOPPER_REDIS_URL")
    or not os.environ.get("SHOPPER_RATELIMIT_STORAGE_URL", "memory://").startswith("memory://")
)
workers = int(os.environ.get("WEB_CONCURRENCY", (os.cpu_count() or 1) if _shared_throttle else 1))
threads = int(os.environ.get("SHOPPER_THREADS", 8 if workers > 1 else 16))

# gthread: a slow client holds only its thread and is never killed for being slow; `timeout`
# restarts a worker whose main loop is stuck this long (a hung process, not a slow upload)
timeout = 60
graceful_timeout = 30
keepalive = 5

# request limits: no request line or header of ours is anywhere near these (a 414 / 400 past
# them); bodies are limited by the app (25 MB photos) and the reverse proxy
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190

# Restart a worker now and then, so a slow leak never grows unbounded - only beside other
# workers: a lone worker's restart stops every request until the new one has loaded the app
# (measured, bench/load.py, SQLite, 100 inspectors: autosave p99 3.5-4.5 s with restarts
# every 5000 requests, 123 ms without).
max_requests = 5000 if workers > 1 else 0
max_requests_jitter = 500

accesslog = "-"
errorlog = "-"


def on_starting(server):
    storage = (  # SHOPPER_REDIS_URL alone shares the counts too (shopper.auth.throttle)
        os.environ.get("SHOPPER_RATELIMIT_STORAGE_URL")
        or os.environ.get("SHOPPER_REDIS_URL")
        or "memory://"
    )
    if server.cfg.workers > 1 and storage.startswith("memory://"):
        server.log.warning(
            "%s worker processes count failed sign-ins each on their own: set "
            "SHOPPER_RATELIMIT_STORAGE_URL to a shared store (redis://…)",
            server.cfg.workers,
        )


def _without_server_header() -> None:
    """gunicorn always names itself in a Server header; say nothing about the software."""
    from gunicorn.http import wsgi

    default_headers = wsgi.Response.default_headers
    if getattr(default_headers, "drops_server", False):
        return

    def headers(self):
        return [h for h in default_headers(self) if not h.startswith("Server:")]

    headers.drops_server = True
    wsgi.Response.default_headers = headers


_without_server_header()
