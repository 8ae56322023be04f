"""`flask --app shopper jobs worker | run`: a queue worker, and a job started from the shell."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from shopper.jobs import queue

# a job whose worker died is run again once RQ's heartbeat for it has expired (60 s after the
# last one, sent every JOB_MONITORING seconds) and a worker's maintenance (every MAINTENANCE
# seconds, between jobs) has seen it: about a minute and a half
JOB_MONITORING = 10
MAINTENANCE = 15
WORKER_TTL = 35  # an idle worker wakes every WORKER_TTL - 15 s (and may do maintenance)


@click.group("jobs")
def jobs_group() -> None:
    """The job queue (SHOPPER_REDIS_URL): workers and jobs."""


@jobs_group.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="stop when the queue is empty")
@click.option("--name", help="the worker's name (default: host and process id)")
def worker(burst: bool, name: str | None) -> None:
    """Work on the queue's jobs until stopped (SIGTERM finishes the current job first)."""
    from rq import Worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not queue.configured(app):
        click.echo("SHOPPER_REDIS_URL is not set: there is no queue to work on.", err=True)
        sys.exit(2)
    queue.use_app(app)
    Worker(
        [queue.queue(app)],
        name=name,
        connection=queue.connection(app),
        maintenance_interval=MAINTENANCE,
        worker_ttl=WORKER_TTL,
        job_monitoring_interval=JOB_MONITORING,
    ).work(burst=burst, with_scheduler=True, logging_level="INFO")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def start_and_follow(name: str, *, wait: bool = True, **kwargs: Any) -> queue.JobInfo:
    """Start the job; with a queue and `wait`, follow it to its end (a progress bar on
    stderr either way)."""
    bar = tqdm(desc=name, unit="", file=sys.stderr, disable=None)

    def draw(state: dict) -> None:
        bar.total = state.get("total")
        bar.n = state.get("done", 0)
        bar.refresh()

    follow: Callable[[dict], None] | None = draw if wait else None
    try:
        started = queue.enqueue(name, on_progress=follow, **kwargs)
        if started.id is not None:
            click.echo(f"job {started.id} queued", err=True)
            if wait:
                return queue.wait(started.id, on_progress=follow)
        return started
    finally:
        bar.close()


@jobs_group.command("run")
@with_appcontext
@click.argument("name")
@click.argument("arguments", nargs=-1)
@click.option("--wait/--no-wait", default=True, help="follow a queued job to its end")
def run(name: str, arguments: tuple[str, ...], wait: bool) -> None:
    """Start the job NAME with key=value ARGUMENTS (values are JSON, else text); print its
    result as JSON. Without a queue it runs here."""
    try:
        queue.spec(name)
    except KeyError:
        click.echo(f"no job {name}; there are: {', '.join(sorted(queue._registry))}", err=True)
        sys.exit(2)
    kwargs = {}
    for argument in arguments:
        key, equals, value = argument.partition("=")
        if not equals or not key.isidentifier():
            click.echo(f"not key=value: {argument}", err=True)
            sys.exit(2)
        kwargs[key] = _value(value)
    info = start_and_follow(name, wait=wait, **kwargs)
    click.echo(json.dumps(info.as_json(), ensure_ascii=False))
    if info.status == "failed":
        sys.exit(1)
