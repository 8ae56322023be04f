"""The S3-compatible storage backend (MinIO, Ceph RGW, a cloud store; moto in the tests).

The same keys as on disk, one object each, in one bucket. A put returns once S3 has
acknowledged the object (an S3 PUT is durable when it answers 200), so the row that points
at it is committed only after the write. What S3 does not answer, or refuses, becomes
StorageUnavailable (a 503 for a request); a missing key is KeyError, as on disk.

No Flask here: `from_config` takes the app's configuration dict.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shopper.photos.storage import (
    StorageUnavailable,
    StoredFile,
    StoredObject,
    check_key,
    is_key,
)

log = logging.getLogger(__name__)
_MISSING = {"404", "NoSuchKey", "NotFound"}
_TYPES = {".jpg": "image/jpeg", ".pdf": "application/pdf", ".tar": "application/x-tar"}


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint: str | None = None  # None: the cloud's own (AWS)
    region: str = "us-east-1"
    access_key: str | None = None  # None: boto3's usual chain (environment, instance role)
    secret_key: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    attempts: int = 3

    @classmethod
    def from_config(cls, config: dict[str, Any], bucket: str | None = None) -> S3Settings:
        return cls(
            bucket=bucket or config["S3_BUCKET"],
            endpoint=config.get("S3_ENDPOINT") or None,
            region=config.get("S3_REGION") or "us-east-1",
            access_key=config.get("S3_ACCESS_KEY") or None,
            secret_key=config.get("S3_SECRET_KEY") or None,
            connect_timeout=float(config.get("S3_CONNECT_TIMEOUT", 5.0)),
            read_timeout=float(config.get("S3_READ_TIMEOUT", 30.0)),
            attempts=int(config.get("S3_ATTEMPTS", 3)),
        )

    def client(self) -> Any:
        config = Config(
            region_name=self.region,
            signature_version="s3v4",
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"max_attempts": self.attempts, "mode": "standard"},
            # MinIO, Ceph and moto serve buckets by path; AWS takes both
            s3={"addressing_style": "path" if self.endpoint else "auto"},
            max_pool_connections=20,
        )
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=config,
        )


def _unavailable(exc: Exception) -> StorageUnavailable:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        detail = f"S3 answered {error.get('Code', '?')} {error.get('Message', '')}".strip()
    else:
        detail = str(exc)
    log.error("object storage unavailable: %s", detail)
    return StorageUnavailable(detail)


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


class S3Storage:
    """Objects in `settings.bucket`. One client per process (made on first use, again after
    a fork: a gunicorn worker never shares the master's connections); boto3 clients are
    thread-safe."""

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        self._client: Any = None
        self._pid = 0
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> S3Storage:
        return cls(S3Settings.from_config(config))

    @property
    def client(self) -> Any:
        if self._client is None or self._pid != os.getpid():
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    self._client = self.settings.client()
                    self._pid = os.getpid()
        return self._client

    def put(self, key: str, data: bytes, *, replace: bool = False) -> None:
        check_key(key)
        if not replace and self.exists(key):
            return  # content addressed: the same bytes are there already
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=_TYPES.get(Path(key).suffix, "application/octet-stream"),
            )
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc

    def get(self, key: str) -> bytes:
        with self.open(key) as file:
            return file.read()

    def open(self, key: str) -> StoredFile:
        check_key(key)
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                raise KeyError(key) from None
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        return StoredFile(_Body(answer["Body"]), int(answer["ContentLength"]))

    def objects(self, prefix: str = "") -> Iterator[StoredObject]:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    if is_key(item["Key"]):
                        yield StoredObject(
                            item["Key"], int(item["Size"]), item["LastModified"].timestamp()
                        )
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc

    def exists(self, key: str) -> bool:
        check_key(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return False
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        return True

    def delete(self, key: str) -> None:
        check_key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc

    def local_path(self, key: str) -> None:
        return None

    def presigned_url(self, key: str, seconds: int = 60) -> str:
        """A URL that lets anyone GET `key` for `seconds` (made locally, no request)."""
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": check_key(key)}, ExpiresIn=seconds
        )
        return url


class _Body:
    """botocore's streaming body, whose read errors (the connection cut mid-object) become
    StorageUnavailable like every other S3 failure."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def read(self, size: int = -1, /) -> bytes:
        try:
            data: bytes = self.body.read(None if size < 0 else size)
        except (BotoCoreError, OSError) as exc:
            raise _unavailable(exc) from exc
        return data

    def close(self) -> None:
        self.body.close()


# ---- archives (backups) in a bucket ---------------------------------------------------------


def parse_url(url: str) -> tuple[str, str]:
    """("bucket", "key or prefix/") of an s3://bucket/key URL; ValueError otherwise."""
    rest = url.removeprefix("s3://")
    bucket, _, key = rest.partition("/")
    if not url.startswith("s3://") or not bucket:
        raise ValueError(f"not an s3://bucket/key URL: {url!r}")
    return bucket, key


def upload_file(settings: S3Settings, path: Path, key: str) -> None:
    """Upload the file at `path` as `key` (multipart when large: the object appears whole
    or not at all). Never overwrites: StorageUnavailable if `key` exists."""
    client = settings.client()
    try:
        try:
            client.head_object(Bucket=settings.bucket, Key=key)
        except ClientError as exc:
            if not _missing(exc):
                raise
        else:
            raise StorageUnavailable(
                f"s3://{settings.bucket}/{key} already exists; a backup never overwrites one"
            )
        client.upload_file(
            str(path), settings.bucket, key, ExtraArgs={"ContentType": "application/x-tar"}
        )
    except (BotoCoreError, ClientError) as exc:
        raise _unavailable(exc) from exc


def download_file(settings: S3Settings, key: str, path: Path) -> None:
    """Download `key` to `path`; KeyError if there is no such object."""
    client = settings.client()
    try:
        client.download_file(settings.bucket, key, str(path))
    except ClientError as exc:
        if _missing(exc):
            raise KeyError(key) from None
        raise _unavailable(exc) from exc
    except BotoCoreError as exc:
        raise _unavailable(exc) from exc
