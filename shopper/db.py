"""The database: typed declarative base, engine set-up, one session per app context.

Services take a `Session` argument and only `flush()`; the request commits once
(see `shopper.__init__`), a CLI command commits once at its end.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g
from sqlalchemy import (
    ColumnElement,
    DateTime,
    MetaData,
    String,
    create_engine,
    event,
    exc,
    update,
)
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on every backend, always returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def change_if(session: Session, row: Any, condition: ColumnElement[bool], **values: Any) -> bool:
    """UPDATE `row` with `values` only while `condition` holds, in one statement that takes
    the row's write lock: of two racing requests that read the same state, one wins.
    False when the condition no longer held (nothing was changed)."""
    model = type(row)
    result = session.execute(
        update(model)
        .where(model.id == row.id, condition)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    changed = result.rowcount == 1
    if changed:  # the object says what the row now holds, without another query
        for key, value in values.items():
            set_committed_value(row, key, value)
    return bool(changed)


def utcnow() -> datetime:
    return datetime.now(UTC)


class sha256_hex(FunctionElement[str]):
    """SQL: the SHA-256 of a text (as UTF-8), 64 hex digits, as `hashlib` gives it; so a
    statement can hash what it reads (PostgreSQL's own sha256(); on SQLite a function this
    module gives every connection)."""

    type = String()
    name = "sha256_hex"
    inherit_cache = True


@compiles(sha256_hex, "postgresql")
def _sha256_hex_postgresql(element: sha256_hex, compiler: Any, **kw: Any) -> str:
    return f"encode(sha256(convert_to({compiler.process(element.clauses, **kw)}, 'UTF8')), 'hex')"


@compiles(sha256_hex)
def _sha256_hex_sqlite(element: sha256_hex, compiler: Any, **kw: Any) -> str:
    return f"shopper_sha256({compiler.process(element.clauses, **kw)})"


def _sha256(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "foreign_keys=ON",
        "synchronous=FULL",
        f"busy_timeout={round(_BUSY_TIMEOUT_S * 1000)}",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
    dbapi_connection.create_function("shopper_sha256", 1, _sha256, deterministic=True)


_BUSY_TIMEOUT_S = 10.0
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT", "BEGIN", "CREATE", "DROP")


class _WriterQueue:
    """One writer at a time for a SQLite file: the threads of a process queue on a lock, the
    processes (gunicorn's workers, a CLI command) on an flock of a file beside the database,
    tried every half millisecond. False after `timeout` seconds, or where the lock file
    cannot be made (a read-only folder): then SQLite's own waiting applies."""

    def __init__(self, database: str):
        self.threads = threading.Lock()
        memory = not database or database == ":memory:" or database.startswith("file:")
        self.path = None if memory else database + "-writer.lock"
        self.fd: int | None = None
        self.pid = 0

    def acquire(self, timeout: float) -> bool:
        if not self.threads.acquire(timeout=timeout):
            return False
        fd = self._file()
        if fd is None:
            return True
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self.threads.release()
                    return False
                time.sleep(0.0005)
            except OSError:
                return True

    def release(self) -> None:
        try:
            if self.fd is not None and self.pid == os.getpid():
                fcntl.flock(self.fd, fcntl.LOCK_UN)
        except OSError:
            pass
        finally:
            self.threads.release()

    def _file(self) -> int | None:
        if self.path is None:
            return None
        if self.fd is None or self.pid != os.getpid():  # a forked child opens its own
            try:
                self.fd, self.pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
            except OSError:
                self.fd = None
        return self.fd


_queues: dict[str, _WriterQueue] = {}
_queues_guard = threading.Lock()


class _QueuedWriters(sqlite3.Connection):
    """A SQLite connection whose write transactions queue (`_WriterQueue`). SQLite has one
    writer at a time and makes the others poll in its busy handler, sleeping 1, 2, 5 … 100
    ms between tries: under load a writer can wait seconds while later ones get in. Here a
    waiting writer goes on as soon as the writer before it is done.

    Only an order: SQLite's own locking still guards the data. The queue is joined before
    the statement that opens a write transaction and left when it ends (commit, rollback,
    close, or a failure); after the busy timeout a writer goes on without it.
    """

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        with _queues_guard:
            self._queue = _queues.setdefault(str(database), _WriterQueue(str(database)))
        self._holding = False

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:
        return super().cursor(factory or _QueuedCursor)

    def _before(self, statement: str) -> None:
        opens = not self._holding and not self.in_transaction
        if opens and statement.lstrip()[:9].upper().startswith(_WRITES):
            self._holding = self._queue.acquire(timeout=_BUSY_TIMEOUT_S)

    def _done(self) -> None:
        if self._holding:
            self._holding = False
            self._queue.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._done()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._done()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._done()


class _QueuedCursor(sqlite3.Cursor):
    connection: _QueuedWriters

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        self.connection._before(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            if not self.connection.in_transaction:  # autocommit, or it failed to begin
                self.connection._done()

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        self.connection._before(sql)
        try:
            return super().executemany(sql, parameters)
        finally:
            if not self.connection.in_transaction:
                self.connection._done()


# SQLite opens a file it may not write read-only, and such a connection stays read-only
# after the file is writable again: it is never pooled, and a read-only error drops the pool.
_READ_ONLY_ERRORS = ("attempt to write a readonly database", "readonly database")


def _sqlite_note_read_only(path: str) -> Callable[[Any, Any], None]:
    def connected(_dbapi_connection: Any, record: Any) -> None:
        record.info["read_only"] = bool(path) and not os.access(path, os.W_OK)

    return connected


def _sqlite_drop_read_only(_dbapi_connection: Any, record: Any) -> None:
    if record is not None and record.info.get("read_only"):
        record.invalidate()


def _sqlite_read_only_is_a_disconnect(context: ExceptionContext) -> None:
    if any(text in str(context.original_exception) for text in _READ_ONLY_ERRORS):
        context.is_disconnect = True  # the pool reconnects: the next request may write again


def make_engine(
    url: str, *, connect_timeout: float | None = None, statement_timeout: float | None = None
) -> Engine:
    """The engine for `url`. On PostgreSQL a connection attempt gives up after
    `connect_timeout` seconds and a statement after `statement_timeout` seconds, so a database
    that does not answer fails a request quickly (a 503) instead of holding a worker."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    connect_args: dict[str, Any] = {}
    if url.startswith("sqlite"):
        connect_args["factory"] = _QueuedWriters
    if url.startswith("postgresql"):
        if connect_timeout:
            connect_args["connect_timeout"] = max(1, round(connect_timeout))
        if statement_timeout:
            connect_args["options"] = f"-c statement_timeout={round(statement_timeout * 1000)}"
    engine = create_engine(
        url,
        pool_pre_ping=not url.startswith("sqlite"),
        pool_timeout=connect_timeout or 30,
        connect_args=connect_args,
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "connect", _sqlite_note_read_only(engine.url.database or ""))
        event.listen(engine, "checkin", _sqlite_drop_read_only)
        event.listen(engine, "handle_error", _sqlite_read_only_is_a_disconnect)
    return engine


def database_unavailable(error: BaseException) -> bool:
    """True for a database that is down, silent, timed out, locked or read-only: a 503 (try
    again later), as opposed to a request the database refused."""
    if isinstance(error, exc.OperationalError | exc.InterfaceError | exc.TimeoutError):
        return True
    return isinstance(error, exc.DBAPIError) and error.connection_invalidated


def release_session() -> None:
    """Roll back and drop this request's session, whatever state a failure left it in;
    anything after this gets a fresh one."""
    session = g.pop("_db_session", None)
    if session is None:
        return
    try:
        session.rollback()
    except exc.SQLAlchemyError:
        pass  # the connection is gone: closing below discards it
    finally:
        session.close()


class Database:
    """A small Flask extension: the engine per app, a session per app context."""

    def init_app(self, app: Flask) -> None:
        app.extensions["shopper.db"] = make_engine(
            app.config["DATABASE_URL"],
            connect_timeout=app.config["DATABASE_CONNECT_TIMEOUT"],
            statement_timeout=app.config["DATABASE_STATEMENT_TIMEOUT"],
        )
        app.teardown_appcontext(self._close)

    @staticmethod
    def engine(app: Flask | None = None) -> Engine:
        from flask import current_app

        return (app or current_app).extensions["shopper.db"]

    @property
    def session(self) -> Session:
        if "_db_session" not in g:
            g._db_session = Session(bind=self.engine(), expire_on_commit=False)
        return g._db_session

    @staticmethod
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("_db_session", None)
        if session is not None:
            session.close()  # anything not committed is rolled back
