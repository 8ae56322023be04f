"""Long work as jobs: on RQ workers when SHOPPER_REDIS_URL is set, else in process as before.

Why RQ (and not Celery or Dramatiq): it needs Redis and nothing else, a job is a plain
function, retries are built in (`Retry`, also for a job whose worker died: RQ's heartbeat
expires and the job is run again), and `job.meta` is a place in Redis where a running job
keeps its progress for the page to poll. Celery brings a broker abstraction, its own
result backend and many settings we would not use; Dramatiq has no per-job meta to poll.

The API (everything a feature needs)::

    from flask_babel import lazy_gettext as _l
    from shopper.jobs import Progress, enqueue, job

    @job("period_report", title=_l("Period report"), retries=3, timeout=3600)
    def period_report(progress: Progress, *, period: str) -> dict:
        ...                                   # db.session, current_app: a fresh app context
        progress.update(done=3, total=10)     # any JSON fields; the page shows done/total
        db.session.commit()                   # a job commits its own work (in chunks if long)
        return {"rows": 10, "failed": []}     # JSON; a non-empty "failed" makes RQ retry

    started = enqueue("period_report", by=current_user.id, period="2026Q4")
    started.id        # the RQ job id (None when it ran in process: status "finished_here")
    started.result    # in process: the returned dict, at once

- `job(name, title=, retries=3, timeout=3600)` registers a function. Define it in a module
  the app imports (a feature's service or views), so the worker finds it by name. A job must
  be idempotent: a retry (after an exception, or after its worker died mid-way) runs it again
  from the start, and it must find what the first run committed.
- `enqueue(name, by=None, on_progress=None, **kwargs)` runs it: with Redis, on a worker (the
  kwargs must be JSON data); without, here and now, in a fresh app context and database
  session (its exception propagates; `on_progress(dict)` sees each update).
- `find(id)`, `recent()` and `wait(id)` give a `JobInfo` (status queued | started | retrying |
  finished | failed, progress, result, error, attempt); `/office/jobs/<id>` shows one and
  `/office/jobs/<id>.json` is what its page polls.
- Workers: `flask --app shopper jobs worker` (as many as you like, on any host with the same
  configuration); `flask --app shopper jobs run NAME key=value …` starts a job from the shell.
"""

from __future__ import annotations

from flask import Flask

from shopper.jobs.queue import (
    JobInfo,
    Progress,
    configured,
    enqueue,
    find,
    job,
    recent,
    wait,
)

__all__ = [
    "JobInfo",
    "Progress",
    "configured",
    "enqueue",
    "find",
    "init_app",
    "job",
    "recent",
    "wait",
]


def init_app(app: Flask) -> None:
    """The jobs page and the `jobs` commands; the shipped jobs registered."""
    from shopper.jobs import cli, results_tasks, tasks, views  # noqa: F401 - registers the jobs

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.jobs_group)
