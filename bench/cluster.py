"""The cluster test on one machine: PostgreSQL, Redis, an S3 server, app hosts behind nginx,
job workers; the load test through nginx, an app host and a worker killed in the middle, a
period's notices issued through the queue; then the proof. Run it with bench/cluster.sh.

Topology (the README's "Scaling out"):

    phones -> nginx 127.0.0.1:<port> -+-> gunicorn 127.0.0.2:8000 -+-> PostgreSQL
                                      +-> gunicorn 127.0.0.3:8000 -+-> Redis (queue, sign-ins)
               RQ workers w1, w2 (flask jobs worker) ---------------+-> S3 (moto's server)

Phases, each on a fresh database and bucket (the people of bench/load.py are made anew):
  1. one host behind nginx: bench/load.py through nginx (--pause 0: the most it takes)
  2. two hosts: the same load
  3. two hosts and two workers: the load, and in its middle one host is killed (SIGKILL, its
     whole process group); then head office releases everything and presses "Issue the
     notices" through nginx, and the worker running the job is killed (SIGKILL) once its
     first chunk is committed: RQ runs the job again on the other worker.
After phase 3: no acknowledged answer or photo lost or duplicated (bench/load.py's check;
every photo's three objects are in the bucket), each due notice issued once and its number
once, every notice verifies (shopper.notices.verification, the PDF read from S3), the audit
chain verifies (`flask --app shopper audit verify`).

  python bench/cluster.py [-n 20] [--pause 0] [--port 8000] [--small]

--small (what CI runs, tests/cluster): one host, one worker, a few phones, no kills.
The last line: "cluster: ok" or "cluster: FAILED (...)"; the exit status says the same.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.jobs.redisserver import RedisServer, free_port  # noqa: E402
from tests.s3server import S3Server  # noqa: E402

PG_URL = "postgresql://shopper_ci:shopper_ci@127.0.0.1/postgres"
ADMIN, ADMIN_PASSWORD = "cluster-admin", "cluster-admin-password"
SUMMARY = re.compile(
    r"autosave p99 (\d+) ms, (\d+) autosaves/s \(hello (\d+)\), lost (\d+), dup (\d+), 5xx (\d+)"
)
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


class Proc:
    """A service in its own process group (so a kill takes its children with it)."""

    def __init__(self, name: str, command: list[str], env: dict, log: Path) -> None:
        self.name, self.log_path = name, log
        self.log = open(log, "w")  # noqa: SIM115 (open while it runs)
        self.popen = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """`sig` to its process group and to every group below it: an RQ worker's work horse
        is a group of its own (os.setpgrp), and dies with its machine too."""
        for group in {os.getpgid(p) for p in descendants(self.popen.pid)} | {self.popen.pid}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, sig)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.kill(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
                self.popen.wait(5)
        self.kill()  # anything left of its group
        self.log.close()

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (from /proc), those still there."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
            os.getpgid(current)
        except (OSError, ValueError):
            continue
        found.append(current)
    return found


def wait_http(host: str, port: int, path: str, proc: Proc | None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited:\n{proc.tail()}")
        try:
            connection = http.client.HTTPConnection(host, port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{host}:{port}{path} did not answer in {seconds} s")


NGINX = """
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    client_max_body_size 26m;
    proxy_request_buffering on;
    upstream shopper {{
{servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://shopper;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
            # a host that refuses or drops the connection: the next one (a request already
            # sent is retried only when idempotent; the phone sends a POST again itself)
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        folder.mkdir(parents=True, exist_ok=True)
        self.conf = folder / "nginx.conf"
        self.proc: Proc | None = None

    def serve(self, upstreams: list[str]) -> None:
        """Start, or reload with these upstreams (host:port)."""
        servers = "\n".join(f"        server {u} max_fails=1 fail_timeout=5s;" for u in upstreams)
        text = NGINX.format(folder=self.folder, port=self.port, servers=servers)
        if os.geteuid() == 0:
            text = "user root;\n" + text
        self.conf.write_text(text)
        if self.proc is None:
            command = [
                shutil.which("nginx") or "nginx",
                "-c",
                str(self.conf),
                "-p",
                str(self.folder),
            ]
            self.proc = Proc(
                "nginx",
                [*command, "-g", "daemon off;"],
                dict(os.environ),
                self.folder / "nginx.log",
            )
        else:
            self.proc.popen.send_signal(signal.SIGHUP)  # new workers with the new upstreams
            time.sleep(1)
        wait_http("127.0.0.1", self.port, "/healthz", self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


@dataclass
class Phase:
    label: str
    hosts: int
    load: dict = field(default_factory=dict)
    queue: dict = field(default_factory=dict)
    proof: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)


class Cluster:
    def __init__(self, folder: Path, pg_url: str, port: int, app_port: int) -> None:
        self.folder, self.pg_url, self.app_port = folder, pg_url, app_port
        self.redis = RedisServer(folder)
        self.s3 = S3Server().start()
        self.nginx = Nginx(folder / "nginx", port)
        self.url = f"http://127.0.0.1:{port}"
        self.pki = folder / "pki"
        self.databases: list[str] = []
        self.procs: list[Proc] = []
        # one PKI for every host and worker, made once: each must sign with the same key
        from shopper.notices.pki import ensure_pki

        ensure_pki(self.pki, organisation="示范银行")

    # ---- per phase ----
    def new_database(self, tag: str) -> str:
        import psycopg

        name = f"shopper_cluster_{os.getpid()}_{tag}"
        with psycopg.connect(self.pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        base = urllib.parse.urlsplit(self.pg_url)
        return urllib.parse.urlunsplit(base._replace(path=f"/{name}"))

    def env(self, database_url: str, bucket: str) -> dict[str, str]:
        """The same configuration for every host and worker (that is the point)."""
        return {
            **os.environ,
            "SHOPPER_DATABASE_URL": database_url,
            "SHOPPER_REDIS_URL": self.redis.url,
            **self.s3.env(bucket),
            "SHOPPER_STORAGE_DIR": str(self.folder / "unused-storage"),
            "SHOPPER_PKI_DIR": str(self.pki),
            "SHOPPER_SECRET_KEY": "cluster-test-secret-key-" + "x" * 24,
            "SHOPPER_PUBLIC_URL": self.url,
            "SHOPPER_BEHIND_PROXY": "1",
        }

    def host(self, address: str, env: dict) -> Proc:
        bind = f"{address}:{self.app_port}"
        proc = Proc(
            f"app {bind}",
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            {**env, "SHOPPER_BIND": bind},
            self.folder / f"gunicorn-{address}.log",
        )
        self.procs.append(proc)
        wait_http(address, self.app_port, "/healthz", proc)
        return proc

    def worker(self, name: str, env: dict) -> Proc:
        proc = Proc(
            f"worker {name}",
            [sys.executable, "-m", "flask", "--app", "shopper", "jobs", "worker", "--name", name],
            env,
            self.folder / f"worker-{name}.log",
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop()
        self.procs.clear()

    def close(self) -> None:
        self.stop_all()
        self.nginx.stop()
        self.redis.stop()
        self.s3.stop()
        import psycopg

        with psycopg.connect(self.pg_url, autocommit=True) as admin:
            for name in self.databases:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def child(mode: str, env: dict, *args: str) -> dict:
    """This file in another process, with a host's configuration (setup, release, prove)."""
    result = subprocess.run(
        [sys.executable, __file__, "--child", mode, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{mode}: {result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "shopper", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


def run_load(cluster: Cluster, env: dict, database_url: str, options, kill: Proc | None) -> dict:
    """bench/load.py through nginx; `kill` (an app host) is killed after --kill-after s."""
    command = [
        sys.executable,
        str(ROOT / "bench" / "load.py"),
        "--db",
        "postgresql",
        "--url",
        cluster.url,
        "--database-url",
        database_url,
        "-n",
        str(options.inspectors),
        "--pause",
        str(options.pause),
        "--photos",
        str(options.photos),
        "--max-seconds",
        str(options.max_seconds),
        "--hello-seconds",
        str(options.hello_seconds),
    ]
    load = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    if kill is not None:
        time.sleep(options.kill_after)
        say(f"SIGKILL {kill.name} (its process group), the load going on")
        kill.kill()
    output, _ = load.communicate()
    found = SUMMARY.search(output)
    if load.returncode != 0 or not found:
        raise RuntimeError(f"bench/load.py failed:\n{output[-3000:]}")
    p99, rate, hello, lost, dup, status_5xx = map(int, found.groups())
    return {
        "p99_ms": p99,
        "autosaves_per_s": rate,
        "hello_per_s": hello,
        "lost": lost,
        "dup": dup,
        "5xx": status_5xx,
        "audit_ok": "audit chain does NOT verify" not in output,
        "refusals": "unexpected refusals" in output,
        "output": output,
    }


class Browser:
    """Head office in a browser, through nginx: a cookie and the page's CSRF token."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host, self.port, self.cookie = parts.hostname, parts.port, ""

    def request(self, method: str, path: str, fields: dict | None = None, json_reply=False):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if json_reply:
            headers["Accept"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, response.getheader("Location", ""), data

    def token(self, path: str) -> str:
        status, _location, data = self.request("GET", path)
        found = CSRF.search(data.decode())
        if status != 200 or not found:
            raise RuntimeError(f"GET {path}: {status}")
        return found.group(1)

    def sign_in(self) -> None:
        fields = {"username": ADMIN, "password": ADMIN_PASSWORD, "csrf_token": self.token("/login")}
        status, _location, _data = self.request("POST", "/login", fields)
        if status != 302:
            raise RuntimeError(f"head office's sign-in: {status}")


def issue_through_queue(
    cluster: Cluster, env: dict, workers: dict[str, Proc], kill_worker: bool
) -> dict:
    """Release everything submitted, press "Issue the notices" as head office (through
    nginx), follow the job's progress page; kill the worker running it once a chunk is in."""
    setup = child("release", env)
    say(f"released {setup['released']} inspections; head office presses 'Issue the notices'")
    browser = Browser(cluster.url)
    browser.sign_in()
    fields = {"period": setup["period_id"], "csrf_token": browser.token("/office/jobs")}
    status, location, _data = browser.request("POST", "/office/jobs/issue-notices", fields)
    job_id = location.rstrip("/").rsplit("/", 1)[-1]
    if status != 302 or len(job_id) != 36:
        raise RuntimeError(f"the button: {status} {location}")
    began, killed, seen, info = time.monotonic(), None, set(), {}
    while time.monotonic() - began < 600:
        status, _location, data = browser.request(
            "GET", f"/office/jobs/{job_id}/progress", json_reply=True
        )
        if status == 200:
            info = json.loads(data)
            seen.add((info["status"], info["progress"].get("done")))
            done = info["progress"].get("done") or 0
            if kill_worker and killed is None and info["status"] == "started" and done >= 1:
                from redis import Redis
                from rq.job import Job

                name = Job.fetch(job_id, connection=Redis.from_url(cluster.redis.url)).worker_name
                say(
                    f"SIGKILL worker {name} in the middle of the job"
                    f" ({done} of {info['progress'].get('total')} done)"
                )
                workers[name].kill()
                killed = (name, done, time.monotonic())
            if info["done"]:
                break
        time.sleep(0.25)
    took = time.monotonic() - began
    return {
        "job": job_id,
        "status": info.get("status"),
        "attempt": info.get("attempt"),
        "result": info.get("result"),
        "seconds": round(took, 1),
        "killed": killed[0] if killed else None,
        "recovered_after_s": round(time.monotonic() - killed[2], 1) if killed else None,
        "progress_seen": len(seen),
    }


def phase(
    cluster: Cluster,
    label: str,
    hosts: list[str],
    workers: int,
    options,
    *,
    kill_host: bool = False,
    queue: bool = False,
    kill_worker: bool = False,
) -> Phase:
    result = Phase(label, len(hosts))
    tag = re.sub(r"\W", "", label)[:12]
    database_url = cluster.new_database(tag)
    env = cluster.env(database_url, cluster.s3.make_bucket())
    say(f"{label}: a fresh database, migrated")
    child("setup", env)
    try:
        procs = [cluster.host(h, env) for h in hosts]
        cluster.nginx.serve([f"{h}:{cluster.app_port}" for h in hosts])
        pool = {f"w{k}": cluster.worker(f"w{k}", env) for k in range(1, workers + 1)}
        say(
            f"{label}: {len(hosts)} app host(s), {workers} worker(s) behind nginx"
            f" {cluster.url}; the load"
        )
        result.load = run_load(
            cluster, env, database_url, options, procs[-1] if kill_host else None
        )
        say(
            f"{label}: {result.load['autosaves_per_s']} autosaves/s,"
            f" p99 {result.load['p99_ms']} ms,"
            f" /healthz {result.load['hello_per_s']}/s; lost {result.load['lost']},"
            f" dup {result.load['dup']}, 5xx {result.load['5xx']}"
        )
        if queue:
            result.queue = issue_through_queue(cluster, env, pool, kill_worker)
            say(
                f"{label}: the job {result.queue['status']} after {result.queue['seconds']} s"
                f" (attempt {result.queue['attempt']}): {result.queue['result']}"
            )
            result.proof = child("prove", env)
            audit = flask(env, "audit", "verify")
            result.proof["audit_cli"] = audit.returncode == 0
            result.proof["audit_cli_says"] = (audit.stdout or audit.stderr).strip()
    finally:
        cluster.stop_all()
    load = result.load
    if load["lost"] or load["dup"]:
        result.problems.append(f"load: lost {load['lost']}, dup {load['dup']}")
    if not load["audit_ok"]:
        result.problems.append("load: the audit chain does not verify")
    if not kill_host and load["5xx"]:
        result.problems.append(f"load: {load['5xx']} 5xx with every host up")
    if queue:
        proof, job = result.proof, result.queue
        if job["status"] != "finished":
            result.problems.append(f"the job ended {job['status']}")
        if kill_worker and not job["killed"]:
            result.problems.append("no worker was killed during the job")
        for key in ("missing", "twice", "numbers_twice", "not_genuine", "photo_objects_missing"):
            if proof[key]:
                result.problems.append(f"notices/photos: {key} {proof[key]}")
        if not proof["outlet_notices"]:
            result.problems.append("no notice was issued")
        if not proof["audit_ok"] or not proof["audit_cli"]:
            result.problems.append(f"audit chain: {proof['audit_cli_says']}")
    return result


# ---- children: the app with a host's configuration -----------------------------------------


def _child_setup() -> dict:
    """The schema, the shipped checklists and a head-office account, in one process."""
    from shopper import create_app, migrate
    from shopper.auth.models import Role, User
    from shopper.checklists.service import load_directory
    from shopper.extensions import db
    from shopper.org.features import ensure_defaults

    app = create_app()
    with app.app_context():
        migrate.upgrade(db.engine())
        ensure_defaults(db.session)
        load_directory(db.session, ROOT / "checklists")
        user = User(username=ADMIN, display_name="Head office", role=Role.ADMIN)
        user.set_password(ADMIN_PASSWORD, method="pbkdf2:sha256:1000")
        db.session.add(user)
        db.session.commit()
    return {"admin": ADMIN}


def _child_release() -> dict:
    """Head office's check done: every submitted inspection released (the notices are the
    queue's job)."""
    from sqlalchemy import select

    from shopper import create_app
    from shopper.db import utcnow
    from shopper.extensions import db
    from shopper.inspections.models import Inspection, Status
    from shopper.periods.models import Period

    app = create_app()
    with app.app_context():
        s = db.session
        count = 0
        for inspection in s.scalars(
            select(Inspection).where(Inspection.status == Status.SUBMITTED)
        ):
            inspection.status, inspection.released_at = Status.RELEASED, utcnow()
            count += 1
        period = s.scalar(select(Period).where(Period.code == "2026Q4"))
        s.commit()
        return {"released": count, "period_id": period.id}


def _child_prove() -> dict:
    from collections import Counter

    from sqlalchemy import select

    from shopper import create_app
    from shopper.audit import service as audit
    from shopper.extensions import db
    from shopper.inspections.models import Answer, Inspection, Status
    from shopper.notices.models import Kind, Notice
    from shopper.notices.verification import check
    from shopper.photos.models import Photo
    from shopper.photos.service import storage
    from shopper.photos.storage import photo_keys

    app = create_app()
    with app.app_context():
        s = db.session
        store = storage()
        released = set(s.scalars(select(Inspection.id).where(Inspection.status == Status.RELEASED)))
        failed = set(s.scalars(select(Answer.inspection_id).where(Answer.result == "fail")))
        due = released & failed
        notices = list(s.scalars(select(Notice)))
        per_inspection = Counter(n.inspection_id for n in notices if n.kind == Kind.OUTLET)
        per_branch = Counter(
            (n.sub_branch_id, n.period_id) for n in notices if n.kind == Kind.SUB_BRANCH
        )
        numbers = Counter(n.number for n in notices)
        not_genuine = [
            n.number
            for n in notices
            if check(s, app.config, store.get(n.storage_key))["status"] != "genuine"
        ]
        missing_objects = sum(
            not store.exists(key)
            for photo in s.scalars(select(Photo))
            for key in photo_keys(photo.sha256).values()
        )
        return {
            "due": len(due),
            "outlet_notices": sum(per_inspection.values()),
            "sub_branch_notices": sum(per_branch.values()),
            "missing": len(due - set(per_inspection)),
            "twice": sum(c - 1 for c in per_inspection.values())
            + sum(c - 1 for c in per_branch.values()),
            "numbers_twice": sum(c - 1 for c in numbers.values()),
            "verified": len(notices) - len(not_genuine),
            "not_genuine": not_genuine,
            "photos": s.query(Photo).count(),
            "photo_objects_missing": missing_objects,
            "audit_ok": audit.verify(s).ok,
        }


# ---- the whole test ----------------------------------------------------------------------


def main(options) -> int:
    for binary in ("redis-server", "nginx"):
        if shutil.which(binary) is None:
            print(f"{binary} is not installed (apt-get install -y redis-server nginx)")
            return 2
    folder = Path(tempfile.mkdtemp(prefix="shopper-cluster-"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop what was started, too
    say(f"cluster in {folder}; load average {os.getloadavg()[0]:.1f}")
    small = options.small  # CI's: any free ports
    cluster = Cluster(
        folder,
        options.pg_url,
        free_port() if small else options.proxy_port,
        free_port("127.0.0.2") if small else options.port,
    )
    phases: list[Phase] = []
    try:
        if options.small:
            phases.append(phase(cluster, "one host", ["127.0.0.2"], 1, options, queue=True))
        else:
            phases.append(phase(cluster, "one host", ["127.0.0.2"], 0, options))
            phases.append(phase(cluster, "two hosts", ["127.0.0.2", "127.0.0.3"], 0, options))
            phases.append(
                phase(
                    cluster,
                    "two hosts, kills",
                    ["127.0.0.2", "127.0.0.3"],
                    2,
                    options,
                    kill_host=True,
                    queue=True,
                    kill_worker=True,
                )
            )
    finally:
        cluster.close()
    print(
        f"\n  {'phase':<20}{'hosts':>6}{'autosaves/s':>13}{'p99':>10}{'/healthz/s':>12}"
        f"{'lost':>6}{'dup':>5}{'5xx':>5}"
    )
    for p in phases:
        load = p.load
        print(
            f"  {p.label:<20}{p.hosts:>6}{load['autosaves_per_s']:>13}{load['p99_ms']:>7} ms"
            f"{load['hello_per_s']:>12}{load['lost']:>6}{load['dup']:>5}{load['5xx']:>5}"
        )
    for p in phases:
        if p.queue:
            proof = p.proof
            print(
                f"\n  {p.label}: job {p.queue['status']} in {p.queue['seconds']} s, attempt"
                f" {p.queue['attempt']}"
                + (
                    f"; worker {p.queue['killed']} was killed, and the job was done on another"
                    f" {p.queue['recovered_after_s']} s later"
                    if p.queue["killed"]
                    else ""
                )
            )
            print(
                f"  notices: {proof['outlet_notices']} outlet for {proof['due']} due inspections,"
                f" {proof['sub_branch_notices']} sub-branch; missing {proof['missing']}, twice"
                f" {proof['twice']}, numbers twice {proof['numbers_twice']}; {proof['verified']}"
                f" verify, {len(proof['not_genuine'])} do not"
            )
            print(
                f"  photos: {proof['photos']} rows,"
                f" {proof['photo_objects_missing']} objects missing"
                f" in the bucket; audit: {proof['audit_cli_says']}"
            )
    problems = [f"{p.label}: {problem}" for p in phases for problem in p.problems]
    figures = ", ".join(
        f"{p.label} {p.load['autosaves_per_s']} autosaves/s p99 {p.load['p99_ms']} ms"
        for p in phases
    )
    if problems:
        print("\n".join(f"  PROBLEM {x}" for x in problems))
        print(f"cluster: FAILED ({len(problems)} problems; {figures})")
        return 1
    shutil.rmtree(folder, ignore_errors=True)
    print(f"cluster: ok ({figures})")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("-n", "--inspectors", type=int, default=20)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between answers")
    parser.add_argument("--photos", type=int, default=2)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--hello-seconds", type=float, default=5)
    parser.add_argument("--kill-after", type=float, default=8.0, help="seconds into the load")
    parser.add_argument("--port", type=int, default=8000, help="the app hosts' port")
    parser.add_argument("--proxy-port", type=int, default=8080, help="nginx's port on 127.0.0.1")
    parser.add_argument("--small", action="store_true", help="CI's: one host, one worker, no kills")
    parser.add_argument("--pg-url", default=os.environ.get("SHOPPER_CLUSTER_PG_URL", PG_URL))
    arguments = parser.parse_args()
    if arguments.child:
        mode = arguments.child[0]
        found = {"setup": _child_setup, "release": _child_release, "prove": _child_prove}[mode]()
        print(json.dumps(found))
        sys.exit(0)
    sys.exit(main(arguments))
