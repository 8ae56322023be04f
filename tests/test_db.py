import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from shopper.extensions import db
from shopper.org.models import Outlet


def test_a_foreign_key_violation_is_refused(session):
    session.add(Outlet(code="X1", name="Orphan", sub_branch_id=987654))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_sqlite_connections_are_set_up_for_safety(session):
    if session.bind.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas only")
    pragma = lambda name: session.execute(text(f"PRAGMA {name}")).scalar()  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("foreign_keys") == 1
    assert pragma("synchronous") == 2  # FULL
    assert pragma("busy_timeout") >= 5000


def test_the_migrated_schema_matches_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shopper.models import Base

    with db.engine(app).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
