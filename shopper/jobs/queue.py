"""The job registry, `enqueue`, and the glue to RQ (see the package docstring for the API)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from redis import Redis
from rq import Queue, Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

QUEUE = "shopper"
RECENT = "shopper:jobs:recent"  # the newest job ids first, for the jobs page
KEEP_RECENT = 50
RESULT_SECONDS = 7 * 24 * 3600  # how long a finished or failed job stays watchable
_JOB_ID = frozenset("0123456789abcdef-")


@dataclass(frozen=True)
class Spec:
    name: str
    func: Callable[..., Mapping[str, Any]]
    title: Any  # a lazy string: the job's name on the page, in the viewer's language
    retries: int
    timeout: int


_registry: dict[str, Spec] = {}


def job(name: str, *, title: Any, retries: int = 3, timeout: int = 3600) -> Callable:
    """Register `func(progress, **kwargs) -> dict` as the job `name`. `retries`: how often a
    failed or abandoned run is tried again (0 for work that must not run twice); `timeout`:
    seconds before a worker stops it."""

    def register(func: Callable[..., Mapping[str, Any]]) -> Callable[..., Mapping[str, Any]]:
        _registry[name] = Spec(name, func, title, retries, timeout)
        return func

    return register


def spec(name: str) -> Spec:
    """The registered job `name`; KeyError for an unknown one."""
    return _registry[name]


class Progress:
    """What a running job tells its watchers: `update(done=3, total=10, made=2, ...)`.
    On a worker it is kept in the job's meta in Redis (the page polls it); in process it is
    handed to `on_update` (the CLI draws a bar)."""

    def __init__(
        self, rq_job: Job | None = None, on_update: Callable[[dict], None] | None = None
    ) -> None:
        self.rq_job, self.on_update = rq_job, on_update
        self.state: dict[str, Any] = {}

    def update(self, **fields: Any) -> None:
        self.state.update(fields)
        if self.rq_job is not None:
            self.rq_job.meta["progress"] = dict(self.state)
            self.rq_job.save_meta()
        if self.on_update is not None:
            self.on_update(dict(self.state))

    __call__ = update


@dataclass
class JobInfo:
    """A job as the page and the CLI see it: plain data, no RQ objects."""

    id: str | None
    name: str
    status: str  # queued | started | retrying | finished | failed | finished_here
    progress: dict = field(default_factory=dict)
    result: dict | None = None
    error: str | None = None
    by: int | None = None
    kwargs: dict = field(default_factory=dict)
    attempt: int = 1
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.status in ("finished", "failed", "finished_here")

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "progress": self.progress,
            "result": self.result,
            "error": self.error,
            "attempt": self.attempt,
            "done": self.done,
        }


# ---- configuration --------------------------------------------------------------------


def configured(app: Flask | None = None) -> bool:
    """Whether jobs go to Redis (SHOPPER_REDIS_URL set) or run in process."""
    return bool((app or current_app).config.get("REDIS_URL"))


def connection(app: Flask | None = None) -> Redis:
    """This process's Redis connection (one pool per process and app)."""
    app = app or current_app
    redis = app.extensions.get("shopper.redis")
    if redis is None or redis.pid != os.getpid():
        redis = Redis.from_url(app.config["REDIS_URL"])
        redis.pid = os.getpid()  # type: ignore[attr-defined]  # a forked worker opens its own
        app.extensions["shopper.redis"] = redis
    return redis


def queue(app: Flask | None = None) -> Queue:
    return Queue(QUEUE, connection=connection(app))


# ---- starting a job -------------------------------------------------------------------


def enqueue(
    name: str,
    /,
    *,
    by: int | None = None,
    on_progress: Callable[[dict], None] | None = None,
    **kwargs: Any,
) -> JobInfo:
    """Run the job `name` with `kwargs` (plain JSON data): on a worker when Redis is
    configured (returns at once, status "queued"), else here and now in a fresh app context
    with its own database session (returns when it is done, status "finished_here"; its
    exception propagates). `by`: the user who started it (shown on the page)."""
    job_spec = spec(name)
    kwargs = json.loads(json.dumps(kwargs))  # what a worker would get: plain data only
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not configured(app):
        with app.app_context():
            result = job_spec.func(Progress(on_update=on_progress), **kwargs)
        return JobInfo(None, name, "finished_here", result=dict(result), by=by, kwargs=kwargs)
    intervals = list(app.config.get("JOBS_RETRY_INTERVALS", [10, 60, 300]))
    retry = (
        Retry(max=job_spec.retries, interval=intervals[: job_spec.retries] or 0)
        if job_spec.retries
        else None
    )
    rq_job = queue(app).enqueue(
        perform,
        name,
        kwargs,
        job_timeout=job_spec.timeout,
        result_ttl=RESULT_SECONDS,
        failure_ttl=RESULT_SECONDS,
        retry=retry,
        description=name,
        meta={"name": name, "by": by, "kwargs": kwargs, "progress": {}, "attempt": 0},
    )
    redis = connection(app)
    with redis.pipeline() as pipe:
        pipe.lpush(RECENT, rq_job.id)
        pipe.ltrim(RECENT, 0, KEEP_RECENT - 1)
        pipe.execute()
    return describe(rq_job)


# ---- on the worker --------------------------------------------------------------------

_worker_app: Flask | None = None
_worker_pid = 0  # the worker's own process; a job in another one is in a forked work horse


def use_app(app: Flask) -> None:
    """The app a worker runs its jobs with (`flask jobs worker` sets it)."""
    global _worker_app, _worker_pid
    _worker_app, _worker_pid = app, os.getpid()


def _app() -> Flask:
    global _worker_app
    try:
        return current_app._get_current_object()  # type: ignore[attr-defined]
    except RuntimeError:  # a plain `rq worker`: make the app from the environment
        if _worker_app is None:
            from shopper import create_app

            use_app(create_app())
        assert _worker_app is not None
        return _worker_app


def perform(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """What RQ calls on a worker: the registered job, in a fresh app context."""
    app = _app()
    rq_job = get_current_job()
    if rq_job is not None:
        rq_job.meta["attempt"] = int(rq_job.meta.get("attempt", 0)) + 1
        rq_job.save_meta()
    with app.app_context():
        if _worker_pid and os.getpid() != _worker_pid:
            from shopper.extensions import db

            # forked from the worker: its pooled connections are the parent's, never ours
            db.engine().dispose(close=False)
        result = dict(spec(name).func(Progress(rq_job), **kwargs))
    if result.get("failed") and rq_job is not None:
        # what was done is committed; a retry does the rest (jobs are idempotent)
        rq_job.meta["result"] = result
        rq_job.save_meta()
        raise PartlyFailed(result["failed"])
    return result


class PartlyFailed(Exception):
    """A job finished with failures (its result's `failed`): RQ tries it again."""

    def __init__(self, failed: list) -> None:
        what = "; ".join(
            ": ".join(map(str, f)) if isinstance(f, list | tuple) else str(f) for f in failed[:5]
        )
        super().__init__(f"{len(failed)} failed: {what}")


# ---- watching jobs --------------------------------------------------------------------


def describe(rq_job: Job) -> JobInfo:
    status = rq_job.get_status(refresh=False)
    meta = rq_job.meta or {}
    shown = {
        JobStatus.QUEUED: "queued",
        JobStatus.DEFERRED: "queued",
        JobStatus.STARTED: "started",
        JobStatus.SCHEDULED: "retrying",  # a retry waits for its interval
        JobStatus.FINISHED: "finished",
        JobStatus.FAILED: "failed",
        JobStatus.STOPPED: "failed",
        JobStatus.CANCELED: "failed",
    }.get(status, "queued")
    result = rq_job.return_value() if shown == "finished" else meta.get("result")
    error = None
    if shown == "failed":
        latest = rq_job.latest_result()
        error = (latest.exc_string or "").strip().splitlines()[-1:] if latest else []
        error = error[0] if error else str(status)
    return JobInfo(
        id=rq_job.id,
        name=str(meta.get("name") or rq_job.description or ""),
        status=shown,
        progress=dict(meta.get("progress") or {}),
        result=dict(result) if isinstance(result, Mapping) else None,
        error=error,
        by=meta.get("by"),
        kwargs=dict(meta.get("kwargs") or {}),
        attempt=max(int(meta.get("attempt") or 1), 1),
        enqueued_at=rq_job.enqueued_at,
        started_at=rq_job.started_at,
        ended_at=rq_job.ended_at,
    )


def find(job_id: str, app: Flask | None = None) -> JobInfo | None:
    """The job with this id, or None (no queue, unknown, expired, or not a job id)."""
    if not configured(app) or not job_id or len(job_id) > 64 or set(job_id) - _JOB_ID:
        return None
    try:
        return describe(Job.fetch(job_id, connection=connection(app)))
    except NoSuchJobError:
        return None


def recent(app: Flask | None = None) -> list[JobInfo]:
    """The newest jobs first (at most KEEP_RECENT, while Redis keeps them)."""
    if not configured(app):
        return []
    redis = connection(app)
    ids = [i.decode() for i in redis.lrange(RECENT, 0, KEEP_RECENT - 1)]
    return [describe(j) for j in Job.fetch_many(ids, connection=redis) if j is not None]


def wait(
    job_id: str,
    *,
    on_progress: Callable[[dict], None] | None = None,
    poll: float = 0.5,
    timeout: float | None = None,
) -> JobInfo:
    """Poll the job until it is finished or failed (or `timeout` seconds passed)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        info = find(job_id)
        if info is None:
            raise LookupError(f"no job {job_id}")
        if on_progress is not None and info.progress:
            on_progress(info.progress)
        if info.done or (deadline is not None and time.monotonic() > deadline):
            return info
        time.sleep(poll)
