"""Configuration: defaults, then SHOPPER_* environment variables, then a test's overrides.

The only module that reads the environment.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_BANDS = [
    # (code, lowest score in the band, counts as a pass)
    ("excellent", 90, True),
    ("pass", 85, True),
    ("fail", 80, False),
    ("severe_fail", 0, False),
]


def _defaults(instance_path: Path) -> dict[str, Any]:
    return {
        "DATABASE_URL": f"sqlite:///{instance_path / 'shopper.sqlite3'}",
        "STORAGE_DIR": str(instance_path / "storage"),
        "CHECKLIST_DIR": str(ROOT / "checklists"),
        "SCORE_BANDS": DEFAULT_BANDS,
        # the band a failed red line forces, whatever the score (shown beside it); unset:
        # the lowest band. Ranking goes by band first, so it never ranks above a clean pass.
        "RED_LINE_BAND": None,
        # the order an inspector meets them on a visit
        "CHECKLIST_ORDER": ["six_s", "teller_seven_steps", "five_courtesies"],
        "TIMEZONE": "Asia/Shanghai",
        # a check-in within this distance of the outlet's location counts as "near"
        "CHECKIN_NEAR_METRES": 300,
        "LANGUAGES": ["zh_CN", "en"],
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
        "MAX_CONTENT_LENGTH": 25 * 1024 * 1024,
        # JPEGs decode at reduced scale: 50 MP costs ~45 MB. Other formats decode at full size;
        # these keep one decode under ~300 MB (bench/photos.py). The lower limit applies.
        "PHOTO_MAX_PIXELS": 50_000_000,
        "PHOTO_MAX_PIXELS_BY_FORMAT": {"PNG": 20_000_000, "WEBP": 15_000_000, "HEIF": 25_000_000},
        # at most this many decodes of more than PHOTO_LARGE_DECODE_PIXELS at once per process;
        # an upload that waits longer than PHOTO_DECODE_WAIT_SECONDS for one is refused (503)
        "PHOTO_LARGE_DECODES": 2,
        "PHOTO_LARGE_DECODE_PIXELS": 2048 * 2048,
        "PHOTO_DECODE_WAIT_SECONDS": 15,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "PREFERRED_URL_SCHEME": "http",
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_HOURS": 24,  # a signed-in phone lasts a working day and night, then asks again
        "BEHIND_PROXY": False,  # a morning's inspection must not expire under the inspector
        # head office checks each submitted inspection before it counts; 1 skips the check
        "AUTO_RELEASE": False,
        # rectification: deadlines in working days (Mon–Fri), minus these holiday dates
        "NOTICE_DEADLINE_WORKING_DAYS": 10,
        "DISPUTE_WORKING_DAYS": 5,
        "HOLIDAYS": [],
        # notices: signed with the organisation's own PKI under PKI_DIR (made on first run),
        # or with a configured PKCS#12 file; an RFC 3161 timestamp when TSA_URL is set
        "PKI_DIR": str(instance_path / "pki"),
        "SIGNING_P12": None,
        "SIGNING_P12_PASSPHRASE": None,
        "TSA_URL": None,
        # the verification page the notice's QR code opens (scheme and host of this site)
        "PUBLIC_URL": "http://127.0.0.1:5000",
        # the bank and the office that issue notices; unset: "示范银行" / "总行服务质量办公室"
        # (translated into the notice's language)
        "BANK_NAME": None,
        "ISSUING_OFFICE": None,
        "NOTICE_MAX_BYTES": 20 * 1024 * 1024,
        # ---- production trust ----
        # PostgreSQL: give up connecting / on one statement after this many seconds (a 503)
        "DATABASE_CONNECT_TIMEOUT": 5.0,
        "DATABASE_STATEMENT_TIMEOUT": 15.0,
        # failed sign-ins (Flask-Limiter limit strings) per account and per address; past them
        # a sign-in is refused until the window has passed or head office lifts the lock
        "LOGIN_LIMIT_PER_ACCOUNT": "5 per 15 minutes",
        "LOGIN_LIMIT_PER_ADDRESS": "30 per 15 minutes",
        # where the counts live: memory:// counts in each process; redis://… shares them
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_KEY_PREFIX": "shopper",
        "RATELIMIT_HEADERS_ENABLED": False,
        # a shared store that is down: count in memory meanwhile, rather than refuse sign-ins
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # `sweep` removes a stored file no row points at only once it is this old (seconds), so
        # an upload whose row is not committed yet is never touched
        "SWEEP_GRACE_SECONDS": 3600.0,
        # ---- end of production trust ----
        # ---- scaling out ----
        # Redis (redis://host:6379/0): long work runs as queue jobs (shopper.jobs) on workers,
        # and sign-in counts are shared by every host; unset: work runs in process, as before
        "REDIS_URL": None,
        # a failed or abandoned job is tried again after these many seconds, one per retry
        "JOBS_RETRY_INTERVALS": [10, 60, 300],
        # ---- end of scaling out ----
        # ---- object storage: with S3_BUCKET set, photos and notice PDFs live in that bucket
        # of an S3-compatible store (MinIO, Ceph RGW, a cloud's); unset: files in STORAGE_DIR
        "S3_BUCKET": None,
        "S3_ENDPOINT": None,  # e.g. http://minio.bank.internal:9000; unset: AWS itself
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY": None,  # unset: boto3's own chain (environment, instance role)
        "S3_SECRET_KEY": None,
        # S3 not answering within these: the request is a 503 and writes nothing
        "S3_CONNECT_TIMEOUT": 5.0,
        "S3_READ_TIMEOUT": 30.0,
        "S3_ATTEMPTS": 3,
        # ---- results: a video check's share of an outlet's ranking score (0: not counted,
        # the mystery-shopper visit alone ranks it; see docs/results.md); the top ranks in the
        # highest band recognised; the bottom sub-branches called to the review meeting
        "VIDEO_WEIGHT": "0",
        "RECOGNITION_TOP": 5,
        "REVIEW_SUB_BRANCHES": 3,
        # ---- the programme's plan rules (a period's own thresholds override these) ----
        "COVERAGE_SHARE": "0.60",  # of outlets the agency visits each period
        "VIDEO_CHECKS_PER_OUTLET": 2,  # by bank checkers, each period
        "REINSPECTION_BELOW": "85",  # last period's score under this: re-inspected
        "WORKLOAD_TOLERANCE": 1,  # max − min visits between inspectors of one group
    }


# ---- production trust ----
_PRODUCTION_SECONDS = (
    "DATABASE_CONNECT_TIMEOUT",
    "DATABASE_STATEMENT_TIMEOUT",
    "SWEEP_GRACE_SECONDS",
)
_PRODUCTION_TEXTS = {
    "RATELIMIT_STORAGE_URL": "RATELIMIT_STORAGE_URI",  # Flask-Limiter's own name for it
    "LOGIN_LIMIT_PER_ACCOUNT": "LOGIN_LIMIT_PER_ACCOUNT",
    "LOGIN_LIMIT_PER_ADDRESS": "LOGIN_LIMIT_PER_ADDRESS",
}
# ---- end of production trust ----


def _secret_key(instance_path: Path) -> str:
    """A per-installation key kept under instance/, made on first run; never in the repo."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def load(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    config = _defaults(instance_path)
    env = os.environ
    for name in (
        "DATABASE_URL",
        "STORAGE_DIR",
        "CHECKLIST_DIR",
        "TIMEZONE",
        "SECRET_KEY",
        "PKI_DIR",
        "SIGNING_P12",
        "SIGNING_P12_PASSPHRASE",
        "TSA_URL",
        "PUBLIC_URL",
        "BANK_NAME",
        "ISSUING_OFFICE",
        "RED_LINE_BAND",
        "REDIS_URL",
    ):
        if env.get(f"SHOPPER_{name}"):
            config[name] = env[f"SHOPPER_{name}"]
    for name in ("NOTICE_DEADLINE_WORKING_DAYS", "DISPUTE_WORKING_DAYS"):
        if env.get(f"SHOPPER_{name}"):
            config[name] = int(env[f"SHOPPER_{name}"])
    for name in _PRODUCTION_SECONDS:
        if env.get(f"SHOPPER_{name}"):
            config[name] = float(env[f"SHOPPER_{name}"])
    for name, key in _PRODUCTION_TEXTS.items():
        if env.get(f"SHOPPER_{name}"):
            config[key] = env[f"SHOPPER_{name}"]
    for name in ("S3_BUCKET", "S3_ENDPOINT", "S3_REGION", "S3_ACCESS_KEY", "S3_SECRET_KEY"):
        if env.get(f"SHOPPER_{name}"):
            config[name] = env[f"SHOPPER_{name}"]
    for name in ("S3_CONNECT_TIMEOUT", "S3_READ_TIMEOUT"):
        if env.get(f"SHOPPER_{name}"):
            config[name] = float(env[f"SHOPPER_{name}"])
    if env.get("SHOPPER_S3_ATTEMPTS"):
        config["S3_ATTEMPTS"] = int(env["SHOPPER_S3_ATTEMPTS"])
    for name in ("COVERAGE_SHARE", "REINSPECTION_BELOW"):  # decimals, kept as text
        if env.get(f"SHOPPER_{name}"):
            config[name] = env[f"SHOPPER_{name}"].strip()
    for name in ("VIDEO_CHECKS_PER_OUTLET", "WORKLOAD_TOLERANCE"):
        if env.get(f"SHOPPER_{name}"):
            config[name] = int(env[f"SHOPPER_{name}"])
    if env.get("SHOPPER_VIDEO_WEIGHT"):  # a decimal from 0 to 1, kept as text
        config["VIDEO_WEIGHT"] = env["SHOPPER_VIDEO_WEIGHT"].strip()
    for name in ("RECOGNITION_TOP", "REVIEW_SUB_BRANCHES"):
        if env.get(f"SHOPPER_{name}"):
            config[name] = int(env[f"SHOPPER_{name}"])
    if env.get("SHOPPER_HOLIDAYS"):  # comma-separated ISO dates
        config["HOLIDAYS"] = [d.strip() for d in env["SHOPPER_HOLIDAYS"].split(",") if d.strip()]
    if env.get("SHOPPER_AUTO_RELEASE", "").lower() in ("1", "true", "yes"):
        config["AUTO_RELEASE"] = True
    if env.get("SHOPPER_BEHIND_PROXY", "").lower() in ("1", "true", "yes"):
        config["BEHIND_PROXY"] = True  # trust one proxy's X-Forwarded-For/-Proto/-Host
    if env.get("SHOPPER_SECURE_COOKIES", "").lower() in ("1", "true", "yes"):
        config["SESSION_COOKIE_SECURE"] = True
        config["PREFERRED_URL_SCHEME"] = "https"
    config.update(overrides or {})
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _secret_key(instance_path)
    config["BABEL_DEFAULT_TIMEZONE"] = config["TIMEZONE"]
    return config
