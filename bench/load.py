"""Load: the real gunicorn server (gunicorn.conf.py) on 127.0.0.1, N simulated inspectors.

Run from the project root:  python bench/load.py --db sqlite|postgresql [-n 100] [--pause 1]
                            [--baseline /tmp/base]  (a worktree of an earlier commit)

Per tree (this one, and the baseline's when given, in this process one after the other):
a fresh database (a SQLite file, or a new PostgreSQL database beside --pg-url's; PostgreSQL 15
runs locally: `pg_ctlcluster 15 main start`), migrated, the checklists published, N outlets
with every feature and N inspectors with one assignment each (made by the tree's own
services, before the server starts); then gunicorn with the tree's gunicorn.conf.py
(--workers/--threads override it through WEB_CONCURRENCY/SHOPPER_THREADS).
N phones, one thread and one keep-alive connection each, sign in; then all at once each
starts its inspection and autosaves every item, waiting --pause seconds (±--jitter of it:
people do not answer in step) before each answer; fails one item in five with a note, adds a
photo (a small JPEG made with Pillow) to --photos failed items that need one; and submits.
A request that fails (no answer, or 5xx) is sent again as the phone sends it again, with
the same UUID. Everything stops at --max-seconds. Then the same N phones ask GET /healthz
for --hello-seconds: the requests/s of a route with no database, the ceiling.

It prints autosave latency (p50, p99, max: from the first send to the acknowledgement,
the first answers of everyone included), acknowledged autosaves per second over the
autosave phase, the server's CPU per request, and then checks the stopped server's database:
every answer acknowledged (200) is there with the acknowledged value (lost), each applied
once (one answer row, one audit record: dup), every acknowledged photo is there once, every
acknowledged submit is submitted, the audit chain verifies; and counts 5xx.
The phones use the standard library's http.client: on this 2-core machine requests spends
2.2 ms of CPU per request and http.client 0.4 ms, and the client shares the server's cores.
The last line sums it up for this tree:
  load <db> N=<n>: autosave p99 <ms> ms, <r> autosaves/s (hello <r>), lost 0, dup 0, 5xx 0

With --url http://host:port and --database-url, no server is started: the phones go to that
URL (e.g. nginx in front of several app hosts, bench/cluster.sh) and the people are made in,
and checked against, that database (CPU/req is then 0: the servers are not ours to measure).
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "load-bench-password"
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
INSPECTION = re.compile(r"/inspect/(\d+)")
TARGET_P99_MS, TARGET_RATIO = 50, 2.5
RETRIES = 6
HOST = "127.0.0.1"  # where the phones connect (--url changes it)


# ---------------------------------------------------------------- inside the tree under test
def _tree_app(tree: Path, url: str, storage: str):
    sys.path.insert(0, str(tree))
    from shopper import create_app

    return create_app({"DATABASE_URL": url, "SECRET_KEY": "load", "STORAGE_DIR": storage})


def prepare(tree: Path, url: str, storage: str, n: int) -> None:
    """Migrate, publish, and make N outlets, inspectors and assignments; print what the
    phones need as JSON."""
    from datetime import date

    app = _tree_app(tree, url, storage)
    from shopper.auth.models import Role, User
    from shopper.checklists.service import load_directory, period_versions
    from shopper.db import make_engine
    from shopper.extensions import db
    from shopper.migrate import upgrade
    from shopper.models import Agency, Assignment, Outlet, Period, SubBranch
    from shopper.org.features import all_features, ensure_defaults

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    with app.app_context():
        s = db.session
        ensure_defaults(s)
        load_directory(s, tree / "checklists")
        period = Period(
            code="2026Q4",
            starts_on=date(2026, 10, 1),
            ends_on=date(2026, 12, 31),
            is_current=True,
            # inspectors start inspections only in an open period (a baseline tree from
            # before periods had states has no such column)
            **({"state": "open"} if hasattr(Period, "state") else {}),
        )
        agency, sub_branch = Agency(name="Load agency"), SubBranch(code="LSB", name="Load")
        s.add_all([period, agency, sub_branch])
        features = all_features(s)
        phones = []
        for k in range(n):
            outlet = Outlet(code=f"L{k:04d}", name=f"Outlet {k}", sub_branch=sub_branch)
            outlet.features = features  # every item applies: none is preset N/A
            user = User(username=f"load{k:04d}", display_name=f"Load {k}", role=Role.INSPECTOR)
            user.agency = agency
            user.set_password(PASSWORD, method="pbkdf2:sha256:1000")  # sign-in is not measured
            assignment = Assignment(period=period, outlet=outlet, inspector=user)
            s.add_all([outlet, user, assignment])
            phones.append((user, assignment))
        s.flush()
        versions = period_versions(s, period, app.config["CHECKLIST_ORDER"])
        items = [
            [v.id, item.code, item.photo_required_on_fail]
            for v in versions
            for item in v.checklist().items
        ]
        result = {
            "phones": [[u.username, a.id] for u, a in phones],
            "items": items,
        }
        s.commit()
    Path(storage).mkdir(parents=True, exist_ok=True)
    Path(storage, "prepared.json").write_text(json.dumps(result))
    print(json.dumps(result))


def cost(tree: Path, url: str, storage: str, requests: int) -> None:
    """Statements and CPU per autosave through the Flask test client, in this process (one
    inspector of a prepared database, after a warm-up), as JSON."""
    app = _tree_app(tree, url, storage)
    from sqlalchemy import event

    from shopper.extensions import db

    made = json.loads(Path(storage, "prepared.json").read_text())
    (username, assignment), items = made["phones"][0], made["items"]
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    token = CSRF.search(client.get("/inspect/").get_data(as_text=True)).group(1)
    started = client.post(
        f"/inspect/assignments/{assignment}/start", data={"mode": "on_site", "csrf_token": token}
    )
    iid = int(INSPECTION.search(started.headers["Location"]).group(1))

    def autosave(n: int) -> None:
        version, code, _photo = items[n % len(items)]
        fields = {"uuid": str(uuid.uuid4()), "version": version, "item": code}
        fields |= {"result": "pass" if n % 2 else "fail", "note": "", "csrf_token": token}
        reply = client.post(
            f"/inspect/{iid}/answers", data=fields, headers={"Accept": "application/json"}
        )
        assert reply.status_code == 200, reply.get_data(as_text=True)

    for n in range(len(items)):  # every item answered once: the rest are changes
        autosave(n)
    sent: list[str] = []
    engine = db.engine(app)
    listen = lambda *args: sent.append(args[2])  # noqa: E731 (statement)
    event.listen(engine, "before_cursor_execute", listen)
    autosave(1)
    event.remove(engine, "before_cursor_execute", listen)
    rounds = []
    for _round in range(5):
        began = time.process_time()
        for n in range(requests):
            autosave(n)
        rounds.append((time.process_time() - began) / requests * 1000)
    print(json.dumps({"statements": sent, "cpu_ms": statistics.median(rounds), "rounds": rounds}))


def check(tree: Path, url: str, storage: str) -> None:
    """What the database holds, as JSON, for the parent to compare with what it was told."""
    app = _tree_app(tree, url, storage)
    from sqlalchemy import func, select

    from shopper.audit import service as audit
    from shopper.audit.models import AuditRecord
    from shopper.auth.models import User
    from shopper.extensions import db
    from shopper.inspections.models import Answer, Inspection
    from shopper.photos.models import Photo

    with app.app_context():
        s = db.session
        names = dict(s.execute(select(User.id, User.username)).all())
        inspections = {
            i.id: {"user": names[i.inspector_id], "status": i.status, "answers": [], "audit": []}
            for i in s.scalars(select(Inspection))
        }
        for a in s.scalars(select(Answer)):
            inspections[a.inspection_id]["answers"].append(
                [a.checklist_version_id, a.item_code, a.result, a.note]
            )
        for r in s.scalars(select(AuditRecord).where(AuditRecord.action == "answer.saved")):
            changes = json.loads(r.changes)
            inspections[int(r.object_id)]["audit"].append([changes["version"], changes["item"]])
        photos = [
            [p.inspection_id, p.client_uuid]
            for p in s.scalars(select(Photo).where(Photo.inspection_id.is_not(None)))
        ]
        verdict = audit.verify(s)
        result = {
            "inspections": inspections,
            "photos": photos,
            "audit_ok": verdict.ok,
            "audit_records": s.scalar(select(func.count()).select_from(AuditRecord)),
        }
    print(json.dumps(result))


# ---------------------------------------------------------------- the phones
class Phone:
    """One inspector's phone: a keep-alive connection and the session cookie."""

    def __init__(self, port: int, stats: Stats):
        self.port, self.stats = port, stats
        self.connection: http.client.HTTPConnection | None = None
        self.cookie = ""
        self.csrf = ""

    def send(self, method: str, path: str, body: bytes | None = None, headers=None):
        """(status, headers, body); sent again (as the phone's queue does) after a failure."""
        for attempt in range(RETRIES):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection(HOST, self.port, timeout=60)
                all_headers = {"Cookie": self.cookie} if self.cookie else {}
                all_headers.update(headers or {})
                self.connection.request(method, path, body=body, headers=all_headers)
                response = self.connection.getresponse()
                data = response.read()
                for name, value in response.getheaders():
                    if name.lower() == "set-cookie" and value.startswith("session="):
                        self.cookie = value.split(";", 1)[0]
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                if response.status >= 500:
                    self.stats.count_5xx(response.status)
                    time.sleep(0.1 * 2**attempt)
                    continue
                return response.status, response, data
            except (OSError, http.client.HTTPException):
                self.close()  # a worker restarted (max_requests) or the connection dropped
                self.stats.count_error()
                time.sleep(0.05 * 2**attempt)
        return 0, None, b""

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def form(self, path: str, fields: dict, json_reply: bool = False):
        body = urllib.parse.urlencode({**fields, "csrf_token": self.csrf}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if json_reply:
            headers["Accept"] = "application/json"
        return self.send("POST", path, body, headers)

    def page_token(self, path: str) -> None:
        status, _response, data = self.send("GET", path)
        found = CSRF.search(data.decode())
        if status != 200 or not found:
            raise RuntimeError(f"GET {path}: {status}")
        self.csrf = found.group(1)

    def sign_in(self, username: str) -> None:
        self.page_token("/login")
        status, _response, _data = self.form("/login", {"username": username, "password": PASSWORD})
        if status != 302:
            raise RuntimeError(f"sign-in of {username}: {status}")
        self.page_token("/inspect/")  # the session changed at sign-in: a token for it

    def multipart(self, path: str, fields: dict, name: str, data: bytes):
        boundary = uuid.uuid4().hex
        parts = []
        for key, value in {**fields, "csrf_token": self.csrf}.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
            )
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        )
        body = "".join(parts).encode() + head.encode() + data + f"\r\n--{boundary}--\r\n".encode()
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Accept": "application/json",
        }
        return self.send("POST", path, body, headers)


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)  # seconds, acknowledged autosaves
    sent_at: list[float] = field(default_factory=list)  # when each of them was sent
    started: float = 0.0  # when the last start was answered
    first_sent: float = float("inf")
    last_acked: float = 0.0
    status_5xx: int = 0
    errors: int = 0  # no answer at all (connection refused or dropped)
    refused: list[str] = field(default_factory=list)  # a 4xx where none was expected
    acked: dict = field(default_factory=dict)  # username → {(version, code): (result, note)}
    applied: int = 0
    photos: dict = field(default_factory=dict)  # username → [client uuid]
    inspection: dict = field(default_factory=dict)  # username → inspection id
    submitted: set = field(default_factory=set)
    unfinished: int = 0

    def count_5xx(self, status: int) -> None:
        with self.lock:
            self.status_5xx += 1

    def count_error(self) -> None:
        with self.lock:
            self.errors += 1

    def refuse(self, what: str) -> None:
        with self.lock:
            self.refused.append(what)


def jpeg(seed: int) -> bytes:
    from PIL import Image

    image = Image.new("RGB", (320, 240), (seed * 37 % 256, seed * 91 % 256, 120))
    for x in range(0, 320, 16):  # some detail, and different for each photo
        image.paste(((seed + x) % 256, 40, 200), (x, 0, x + 4, 240))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def inspector(
    phone: Phone,
    username: str,
    assignment: int,
    items: list,
    options: argparse.Namespace,
    start_together: threading.Barrier,
    deadline: float,
    seed: int,
) -> None:
    """Sign in, then with everyone: start, answer every item (photos on some), submit."""
    stats = phone.stats
    rng = random.Random(seed)
    phone.sign_in(username)
    start_together.wait()
    status, response, _data = phone.form(
        f"/inspect/assignments/{assignment}/start", {"mode": "on_site"}
    )
    location = response.getheader("Location", "") if response is not None else ""
    if status != 302 or not INSPECTION.search(location):
        stats.refuse(f"start {username}: {status}")
        return
    iid = int(INSPECTION.search(location).group(1))
    with stats.lock:
        stats.started = max(stats.started, time.perf_counter())
    acked: dict = {}
    sent_photos: list[str] = []
    with stats.lock:
        stats.inspection[username] = iid
        stats.acked[username] = acked
        stats.photos[username] = sent_photos
    photos_left = options.photos
    for n, (version, code, needs_photo) in enumerate(items):
        if time.monotonic() > deadline:
            with stats.lock:
                stats.unfinished += 1
            return
        if options.pause:
            time.sleep(options.pause * rng.uniform(1 - options.jitter, 1 + options.jitter))
        fail = needs_photo and photos_left > 0 or (not needs_photo and n % 5 == 4)
        if fail and needs_photo:
            photos_left -= 1
            photo_uuid = str(uuid.uuid4())
            status, _r, _d = phone.multipart(
                f"/inspect/{iid}/photos",
                {"uuid": photo_uuid, "version": version, "item": code},
                "photo",
                jpeg(seed * 100 + n),
            )
            if status == 201:
                sent_photos.append(photo_uuid)
            else:
                stats.refuse(f"photo {username} {code}: {status}")
        result, note = ("fail", "seen on site") if fail else ("pass", "")
        fields = {
            "uuid": str(uuid.uuid4()),
            "version": version,
            "item": code,
            "result": result,
            "note": note,
            "changed_at": int(time.time() * 1000),
        }
        sent = time.perf_counter()
        with stats.lock:
            stats.first_sent = min(stats.first_sent, sent)
        status, _r, data = phone.form(f"/inspect/{iid}/answers", fields, json_reply=True)
        done = time.perf_counter()
        if status != 200:
            stats.refuse(f"answer {username} {code}: {status} {data[:120]!r}")
            continue
        reply = json.loads(data)
        acked[(version, code)] = (reply["result"], reply["note"])
        with stats.lock:
            stats.latencies.append(done - sent)
            stats.sent_at.append(sent)
            stats.last_acked = max(stats.last_acked, done)
            stats.applied += bool(reply["applied"])
    status, _r, data = phone.form(
        f"/inspect/{iid}/submit",
        {"uuid": str(uuid.uuid4()), "attest": "y", "confirm": "yes"},
        json_reply=True,
    )
    if status == 200 and json.loads(data).get("submitted"):
        with stats.lock:
            stats.submitted.add(username)
    else:
        stats.refuse(f"submit {username}: {status} {data[:200]!r}")


def hello(port: int, phones: int, seconds: float) -> float:
    """GET /healthz from `phones` connections for `seconds`: requests per second (0: none)."""
    stats = Stats()
    probe = Phone(port, stats)
    if probe.send("GET", "/healthz")[0] != 200:
        return 0.0
    counts = [0] * phones
    stop = time.monotonic() + seconds

    def ask(k: int) -> None:
        phone = Phone(port, stats)
        while time.monotonic() < stop:
            if phone.send("GET", "/healthz")[0] == 200:
                counts[k] += 1
        phone.close()

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(phones)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


# ---------------------------------------------------------------- the server and a run
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_by_process(pid: int) -> dict[int, float]:
    """User + system CPU seconds of a process and each of its descendants (the workers)."""
    found, todo = {}, [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            found[current] = (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return found


class CpuMeter:
    """gunicorn's CPU from start() to stop(), sampled often: a worker that restarts
    (max_requests) takes its CPU with it, so each process's last sample counts."""

    def __init__(self, pid: int):
        self.pid, self.first, self.last = pid, {}, {}
        self.running = threading.Event()
        self.sampler = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        self.first = self.last = cpu_by_process(self.pid)
        self.running.set()
        self.sampler.start()

    def _sample(self) -> None:
        while self.running.is_set():
            self.last = {**self.last, **cpu_by_process(self.pid)}
            time.sleep(0.2)

    def stop(self) -> float:
        self.running.clear()
        self.sampler.join()
        self.last = {**self.last, **cpu_by_process(self.pid)}
        return sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.last.items())


class Database:
    """A fresh database for one run: a SQLite file, or a new PostgreSQL database."""

    def __init__(self, kind: str, folder: Path, pg_url: str, tag: str, given: str | None = None):
        self.kind, self.pg_url = kind, pg_url
        if given:  # --database-url: someone else's, made and dropped by them
            self.kind, self.url = "given", given
            return
        if kind == "sqlite":
            self.url = f"sqlite:///{folder / 'load.sqlite3'}"
            return
        import psycopg

        base = urllib.parse.urlsplit(pg_url)
        self.name = f"shopper_load_{os.getpid()}_{tag}"
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{self.name}"')
        self.url = urllib.parse.urlunsplit(base._replace(path=f"/{self.name}"))

    def drop(self) -> None:
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(self.pg_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def child(tree: Path, mode: str, url: str, storage: str, n: int = 0) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, f"--{mode}", str(tree), url, storage, str(n)],
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass
class Run:
    label: str
    autosaves: int = 0
    p50: float = 0.0
    p99: float = 0.0
    p99_after_starts: float = 0.0  # autosaves sent once every inspection had started
    slowest: float = 0.0
    rate: float = 0.0
    hello: float = 0.0
    cpu_ms: float = 0.0
    lost: int = 0
    dup: int = 0
    status_5xx: int = 0
    errors: int = 0
    refused: int = 0
    photos: int = 0
    submitted: int = 0
    unfinished: int = 0
    audit_ok: bool = False
    load: float = 0.0
    notes: list = field(default_factory=list)


def run(tree: Path, label: str, options: argparse.Namespace) -> Run:
    with tempfile.TemporaryDirectory(prefix="shopper-load-") as folder:
        database = Database(
            options.db, Path(folder), options.pg_url, label.split()[0], options.database_url
        )
        storage = str(Path(folder) / "storage")
        try:
            made = child(tree, "prepare", database.url, storage, options.inspectors)
            return _serve_and_drive(tree, label, options, database, storage, made, folder)
        finally:
            database.drop()


def _serve_and_drive(tree, label, options, database, storage, made, folder) -> Run:
    if options.url:
        return _drive(tree, label, options, database, storage, made, None, None)
    port = free_port()
    env = {
        **os.environ,
        "SHOPPER_DATABASE_URL": database.url,
        "SHOPPER_SECRET_KEY": "load",
        "SHOPPER_STORAGE_DIR": storage,
        "SHOPPER_BIND": f"127.0.0.1:{port}",
    }
    if options.workers:
        env["WEB_CONCURRENCY"] = str(options.workers)
    if options.threads:
        env["SHOPPER_THREADS"] = str(options.threads)
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    if options.worker_class:
        command += ["--worker-class", options.worker_class]
    log = open(Path(folder) / "gunicorn.log", "w")  # noqa: SIM115 (open while it serves)
    server = subprocess.Popen(command, cwd=tree, env=env, stdout=log, stderr=log)
    try:
        _wait_until_up(port, server, Path(folder) / "gunicorn.log")
    except BaseException:
        server.kill()
        raise
    return _drive(tree, label, options, database, storage, made, server, log, port)


def _drive(tree, label, options, database, storage, made, server, log, port=0) -> Run:
    """The phones against `server` (ours, stopped at the end) or --url (None)."""
    global HOST
    if server is None:
        HOST, port = (
            urllib.parse.urlsplit(options.url).hostname,
            urllib.parse.urlsplit(options.url).port,
        )
    stats = Stats()
    try:
        phones = [Phone(port, stats) for _ in made["phones"]]
        meter = CpuMeter(server.pid if server else 0)
        together = threading.Barrier(len(phones), action=meter.start)  # all signed in
        deadline = time.monotonic() + options.max_seconds
        threads = [
            threading.Thread(
                target=inspector,
                args=(phone, name, assignment, made["items"], options, together, deadline, k),
            )
            for k, (phone, (name, assignment)) in enumerate(
                zip(phones, made["phones"], strict=True)
            )
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu_used = meter.stop()
        # starts, autosaves, photos, submits
        requests_made = (
            len(stats.latencies) + sum(map(len, stats.photos.values())) + 2 * len(stats.inspection)
        )
        for phone in phones:
            phone.close()
        hello_rate = hello(port, len(phones), options.hello_seconds)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
    held = child(tree, "check", database.url, storage)
    return _figures(label, stats, held, hello_rate, cpu_used, requests_made)


def _wait_until_up(port: int, server: subprocess.Popen, log: Path) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start in 30 s")


def _figures(label, stats: Stats, held: dict, hello_rate, cpu_used, requests_made) -> Run:
    figures = Run(label=label, load=os.getloadavg()[0])
    latencies = sorted(stats.latencies)
    if latencies:
        figures.autosaves = len(latencies)
        figures.p50 = statistics.median(latencies) * 1000
        figures.p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        figures.slowest = latencies[-1] * 1000
        figures.rate = len(latencies) / max(stats.last_acked - stats.first_sent, 1e-9)
        after = sorted(
            x for x, t in zip(stats.latencies, stats.sent_at, strict=True) if t > stats.started
        )
        if after:
            figures.p99_after_starts = after[min(len(after) - 1, int(len(after) * 0.99))] * 1000
    figures.hello = hello_rate
    figures.cpu_ms = 1000 * cpu_used / max(requests_made, 1)
    figures.status_5xx, figures.errors = stats.status_5xx, stats.errors
    figures.refused, figures.unfinished = len(stats.refused), stats.unfinished
    figures.notes = stats.refused[:5]
    figures.audit_ok = held["audit_ok"]
    by_user = {v["user"]: v for v in held["inspections"].values()}
    photo_rows: dict = {}
    for iid, client_uuid in held["photos"]:
        photo_rows.setdefault(client_uuid, []).append(iid)
    for username, acked in stats.acked.items():
        inspection = by_user.get(username)
        rows: dict = {}
        for version, code, result, note in inspection["answers"] if inspection else []:
            rows.setdefault((version, code), []).append((result, note))
        audited: dict = {}
        for version, code in inspection["audit"] if inspection else []:
            audited[(version, code)] = audited.get((version, code), 0) + 1
        for key, value in acked.items():
            if rows.get(key, [None])[-1] != value:
                figures.lost += 1
        figures.dup += sum(len(r) - 1 for r in rows.values())
        figures.dup += sum(count - 1 for count in audited.values())
        for client_uuid in stats.photos.get(username, []):
            found = len(photo_rows.get(client_uuid, []))
            figures.lost += found == 0
            figures.dup += max(found - 1, 0)
            figures.photos += found == 1
    for username in stats.submitted:
        inspection = by_user.get(username)
        if inspection is None or inspection["status"] == "draft":
            figures.lost += 1
        else:
            figures.submitted += 1
    return figures


def print_runs(runs: list[Run]) -> None:
    print(
        f"\n  {'tree':<26}{'autosaves':>10}{'p50':>9}{'p99':>9}{'max':>9}{'autosaves/s':>13}"
        f"{'hello/s':>9}{'CPU/req':>9}{'photos':>8}{'submit':>8}{'lost':>6}{'dup':>5}"
        f"{'5xx':>5}{'load':>6}"
    )
    for r in runs:
        print(
            f"  {r.label:<26}{r.autosaves:>10}{r.p50:>6.1f} ms{r.p99:>6.1f} ms{r.slowest:>6.0f} ms"
            f"{r.rate:>13.0f}{r.hello:>9.0f}{r.cpu_ms:>6.1f} ms{r.photos:>8}{r.submitted:>8}"
            f"{r.lost:>6}{r.dup:>5}{r.status_5xx:>5}{r.load:>6.1f}"
        )
        extra = [f"autosave p99 {r.p99_after_starts:.1f} ms once every inspection had started"]
        if r.errors:
            extra.append(f"{r.errors} requests got no answer and were sent again")
        if r.refused:
            extra.append(f"{r.refused} unexpected refusals, e.g. {r.notes}")
        if r.unfinished:
            extra.append(f"{r.unfinished} phones stopped at --max-seconds")
        if not r.audit_ok:
            extra.append("the audit chain does NOT verify")
        for line in extra:
            print(f"    {line}")


def cost_run(tree: Path, options: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="shopper-cost-") as folder:
        database = Database(options.db, Path(folder), options.pg_url, "cost")
        storage = str(Path(folder) / "storage")
        try:
            child(tree, "prepare", database.url, storage, 1)
            return child(tree, "cost-child", database.url, storage, options.cost)
        finally:
            database.drop()


def main_cost(options: argparse.Namespace) -> None:
    """Statements and CPU per autosave through the test client, for each tree."""
    trees = [(Path(options.baseline).resolve(), "baseline")] if options.baseline else []
    trees.append((ROOT, "this tree"))
    print(
        f"Autosave cost - {options.db}, Flask test client, {options.cost} autosaves x 5 rounds"
        f" after a warm-up; load average {os.getloadavg()[0]:.1f} before"
    )
    found = {}
    for tree, label in trees:
        found[label] = cost_run(tree, options)
        figures = found[label]
        rounds = ", ".join(f"{r:.2f}" for r in figures["rounds"])
        print(
            f"\n  {label}: {len(figures['statements'])} statements, CPU {figures['cpu_ms']:.2f} ms"
            f" per autosave (median; rounds {rounds}; load {os.getloadavg()[0]:.1f})"
        )
        for statement in figures["statements"]:
            print(f"    {' '.join(statement.split())[:110]}")
    current = found["this tree"]
    summary = (
        f"cost {options.db}: {len(current['statements'])} statements, "
        f"{current['cpu_ms']:.2f} ms CPU per autosave"
    )
    if options.baseline:
        base = found["baseline"]
        summary += (
            f" (baseline {len(base['statements'])}, {base['cpu_ms']:.2f} ms:"
            f" x{current['cpu_ms'] / base['cpu_ms']:.2f})"
        )
    print(summary)


def main(options: argparse.Namespace) -> None:
    pause = f"{options.pause:g} s ±{options.jitter:.0%}" if options.pause else "no pause"
    print(
        f"Load benchmark - {options.db}, {options.inspectors} inspectors, {pause} between "
        f"answers, {options.photos} photos each, gunicorn.conf.py"
        + (f" with {options.workers} workers" if options.workers else "")
        + (f" x {options.threads} threads" if options.threads else "")
        + (f" ({options.worker_class})" if options.worker_class else "")
        + f"; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before"
    )
    runs = []
    if options.baseline:
        runs.append(run(Path(options.baseline).resolve(), "baseline " + options.baseline, options))
    current = run(ROOT, "this tree", options)
    runs.append(current)
    print_runs(runs)
    print(
        "\n  latency: first send to acknowledgement, every autosave (the first of all phones"
        " at once included); autosaves/s: acknowledged over the autosave phase; CPU/req:"
        " gunicorn's CPU (master and workers) per request of the phones' phase"
    )
    if options.baseline:
        base = runs[0]
        print(
            f"\n  against the baseline: autosaves/s x{current.rate / max(base.rate, 1e-9):.2f},"
            f" p99 x{current.p99 / max(base.p99, 1e-9):.2f},"
            f" server CPU per request x{current.cpu_ms / max(base.cpu_ms, 1e-9):.2f}"
        )
    if options.pause:
        ok = current.p99 < TARGET_P99_MS
        print(f"  target: autosave p99 < {TARGET_P99_MS} ms: {'ok' if ok else 'MISSED'}")
    elif options.baseline:
        ok = current.rate >= TARGET_RATIO * runs[0].rate
        print(
            f"  target: autosaves/s >= {TARGET_RATIO}x the baseline's: {'ok' if ok else 'MISSED'}"
        )
    print(
        f"load {options.db} N={options.inspectors}: autosave p99 {current.p99:.0f} ms, "
        f"{current.rate:.0f} autosaves/s (hello {current.hello:.0f}), lost {current.lost}, "
        f"dup {current.dup}, 5xx {current.status_5xx}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--check", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--cost-child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument(
        "--cost",
        type=int,
        nargs="?",
        const=300,
        help="instead: statements and CPU per autosave through the test client (N per round)",
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("-n", "--inspectors", type=int, default=100)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between answers")
    parser.add_argument("--jitter", type=float, default=0.5, help="pause varies by this share")
    parser.add_argument("--photos", type=int, default=2, help="photos per inspector")
    parser.add_argument("--max-seconds", type=float, default=300, help="the phones stop then")
    parser.add_argument("--hello-seconds", type=float, default=5)
    parser.add_argument("--baseline", help="a tree (git worktree) to run the same way first")
    parser.add_argument("--workers", type=int, help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument("--threads", type=int, help="threads per worker (SHOPPER_THREADS)")
    parser.add_argument("--worker-class", help="e.g. sync (default: gunicorn.conf.py's)")
    parser.add_argument("--url", help="drive this server (http://host:port) instead of our own")
    parser.add_argument("--database-url", help="the database --url's server uses")
    parser.add_argument(
        "--pg-url",
        default="postgresql://shopper_ci:shopper_ci@127.0.0.1/postgres",
        help="a database on the server where a fresh one is made for each run",
    )
    arguments = parser.parse_args()
    if arguments.prepare:
        tree, url, storage, n = arguments.prepare
        prepare(Path(tree), url, storage, int(n))
    elif arguments.check:
        tree, url, storage, _n = arguments.check
        check(Path(tree), url, storage)
    elif arguments.cost_child:
        tree, url, storage, n = arguments.cost_child
        cost(Path(tree), url, storage, int(n))
    elif arguments.cost is not None:
        main_cost(arguments)
    else:
        main(arguments)
