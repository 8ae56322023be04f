"""The database: typed declarative base, engine set-up, one session per app context.

Services take a `Session` argument and only `flush()`; the request commits once
(see `shopper.__init__`), a CLI command commits once at its end.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, g
from sqlalchemy import ColumnElement, DateTime, MetaData, create_engine, event, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.orm.attributes import set_committed_value
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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "foreign_keys=ON",
        "synchronous=FULL",
        "busy_timeout=10000",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """A small Flask extension: the engine per app, a session per app context."""

    def init_app(self, app: Flask) -> None:
        app.extensions["shopper.db"] = make_engine(app.config["DATABASE_URL"])
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
