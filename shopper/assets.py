"""Static files: fingerprinted URLs cached for a year, compressed responses, and the
service worker and manifest that let an inspector's phone work offline."""

from __future__ import annotations

import hashlib
import json
import mimetypes
from pathlib import Path

from flask import Blueprint, Flask, current_app, request, url_for
from flask_babel import gettext as _

from shopper.auth.access import public
from shopper.extensions import compress

bp = Blueprint("assets", __name__)

YEAR = 365 * 24 * 3600
# what a phone keeps so that the inspection opens with no network
OFFLINE_ASSETS = (
    "css/app.css",
    "js/queue.js",
    "js/fill.js",
    "icons/icon.svg",
    "icons/icon-192.png",
)


def fingerprint(filename: str) -> str:
    """The first 12 hex digits of the file's SHA-256, recomputed when the file changes."""
    path = Path(current_app.static_folder or "") / filename
    try:
        stat = path.stat()
    except OSError:
        return ""
    cache: dict = current_app.extensions.setdefault("shopper.fingerprints", {})
    key = (filename, stat.st_mtime_ns, stat.st_size)
    if key not in cache:
        cache[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return cache[key]


def init_app(app: Flask) -> None:
    mimetypes.add_type("application/manifest+json", ".webmanifest")
    app.config.setdefault("COMPRESS_MIMETYPES", _compressible())
    compress.init_app(app)

    @app.url_defaults
    def versioned_static(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            values["v"] = fingerprint(values["filename"])

    @app.after_request
    def cache_fingerprinted(response):
        if request.endpoint == "static" and response.status_code == 200:
            version = request.args.get("v")
            filename = (request.view_args or {}).get("filename", "")
            if version and version == fingerprint(filename):
                response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
            else:
                response.headers["Cache-Control"] = "no-cache"
        return response


def _compressible() -> list[str]:
    return [
        "text/html",
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/manifest+json",
        "image/svg+xml",
    ]


@bp.get("/sw.js")
@public
def service_worker():
    """Served from the root so that it may look after every inspector page."""
    assets = [url_for("static", filename=name) for name in OFFLINE_ASSETS]
    version = hashlib.sha256(json.dumps(assets).encode()).hexdigest()[:12]
    source = (Path(current_app.static_folder or "") / "js" / "sw.js").read_text()
    body = source.replace("__ASSETS__", json.dumps(assets)).replace("__VERSION__", version)
    return current_app.response_class(
        body,
        mimetype="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


@bp.get("/manifest.webmanifest")
@public
def manifest():
    data = {
        "name": _("Shopper"),
        "short_name": _("Shopper"),
        "start_url": url_for("auth.home"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#f4f6fa",
        "theme_color": "#9b1c1c",
        "icons": [
            {
                "src": url_for("static", filename="icons/icon-192.png"),
                "sizes": "192x192",
                "type": "image/png",
                "purpose": "any maskable",
            },
            {
                "src": url_for("static", filename="icons/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "any maskable",
            },
            {
                "src": url_for("static", filename="icons/icon.svg"),
                "sizes": "any",
                "type": "image/svg+xml",
            },
        ],
    }
    return current_app.response_class(
        json.dumps(data),
        mimetype="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


@bp.get("/healthz")
@public
def healthz():
    """The process answers: for a load balancer's check, and bench/load.py's ceiling. No
    database, no session."""
    return current_app.response_class("ok", mimetype="text/plain")


@bp.get("/favicon.ico")
@public
def favicon():
    return current_app.send_static_file("icons/icon-192.png")
