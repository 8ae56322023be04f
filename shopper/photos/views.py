"""Photo files, served only to users allowed to see an inspection that holds them."""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, request, send_file
from flask_login import current_user

from shopper.auth.access import signed_in
from shopper.extensions import db
from shopper.notices import service as notices
from shopper.photos import service
from shopper.photos.storage import Storage, photo_keys

bp = Blueprint("photos", __name__, url_prefix="/photos")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
# content-addressed: the bytes behind a URL never change; private: never in shared caches
CACHE = "private, max-age=31536000, immutable"


@bp.get("/<sha256>/<any(main, print, thumb):variant>.jpg")
@signed_in
def file(sha256: str, variant: str):
    if not SHA256.match(sha256) or not (
        service.may_view(db.session, current_user, sha256)
        or notices.may_view_photo(db.session, current_user, sha256)
    ):
        abort(404)
    store = service.storage()
    key = photo_keys(sha256)[variant]
    path = store.local_path(key)
    if path is not None and not path.exists():
        abort(404)
    if path is not None:
        response = send_file(path, mimetype="image/jpeg", conditional=True, etag=sha256 + variant)
    else:
        response = _streamed(store, key, "image/jpeg", etag=sha256 + variant)
    response.headers["Cache-Control"] = CACHE
    return response


def _streamed(store: Storage, key: str, mimetype: str, *, etag: str) -> Response:
    """A remote file (object storage) passed through in chunks, never whole in memory;
    304 when the browser holds it (content addressed: an ETag never goes stale)."""
    if etag in request.if_none_match:
        response = Response(status=304)
        response.set_etag(etag)
        return response
    try:
        stored = store.open(key)
    except KeyError:
        abort(404)
    response = Response(stored, mimetype=mimetype, direct_passthrough=True)
    response.content_length = stored.size
    response.set_etag(etag)
    return response
