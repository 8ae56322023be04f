"""The app on object storage: the same fixtures as everywhere (world, login, clients), but
photos and notice PDFs live in a new bucket per test on a real S3 protocol server (moto's,
started once per session); STORAGE_DIR points at a folder that must stay empty."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shopper import create_app
from shopper.db import Base
from shopper.extensions import db
from tests.s3server import S3Server, s3_bucket, s3_server  # noqa: F401  (fixtures)


@pytest.fixture
def app(database_url, tmp_path, pki_dir, s3_server: S3Server, s3_bucket: str):  # noqa: F811
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "STORAGE_DIR": str(tmp_path / "storage"),
            "SECRET_KEY": "test-secret",
            "PKI_DIR": str(pki_dir),
            **s3_server.config(s3_bucket),
        }
    )
    yield app
    engine = db.engine(app)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # audit records refuse DELETE: TRUNCATE
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names}"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def bucket(s3_server: S3Server, s3_bucket: str):  # noqa: F811
    """The test's bucket, read directly (not through the app): key -> bytes."""
    return Bucket(s3_server, s3_bucket)


class Bucket:
    def __init__(self, server: S3Server, name: str) -> None:
        self.client = server.client()  # shared: made once per server
        self.name = name

    def names(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=prefix
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=data)

    def contents(self) -> dict[str, bytes]:
        return {key: self.get(key) for key in self.names()}
