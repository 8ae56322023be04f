"""CSV import screens: upload → dry run (the default first step) → import exactly that.

The dry run keeps the uploaded file in the storage (imports/<sha256>.csv), so the second
step needs no second upload; it re-plans that file in its own transaction and applies only
if the plan is the one the page showed (its digest), else shows the new dry run (409)."""

from __future__ import annotations

import csv
import io
import re
import time
from urllib.parse import quote

from flask import Response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField

from shopper.audit import service as audit
from shopper.extensions import db
from shopper.forms import require_valid
from shopper.org import imports
from shopper.org.pages import bp, head_office, sentence
from shopper.photos.service import storage
from shopper.refusals import Refused

SHA256 = re.compile(r"[0-9a-f]{64}")
# a dry run nobody imported is forgotten after a day
KEEP_SECONDS = 24 * 3600


class UploadForm(FlaskForm):
    kind = StringField()
    file = FileField()


class ApplyForm(FlaskForm):
    kind = StringField()
    sha256 = StringField()
    digest = StringField()


def _key(sha256: str) -> str:
    return f"imports/{sha256}.csv"


def _kind() -> str:
    kind = request.values.get("kind") or "outlets"
    return kind if kind in imports.KINDS else "outlets"


def _page(status: int = 200, **context):
    context.setdefault("kind", _kind())
    return render_template(
        "org/import.html",
        tab="import",
        kinds=imports.KINDS,
        max_mb=imports.MAX_BYTES // (1024 * 1024),
        max_rows=imports.MAX_ROWS,
        max_accounts=imports.MAX_NEW_ACCOUNTS,
        **context,
    ), status


def _problems(plan: imports.Plan) -> list[dict]:
    return [
        {"line": p.line, "column": p.column, "reason": sentence(p.code, p.params)}
        for p in plan.problems
    ]


def _forget_old_uploads() -> None:
    """Remove the kept uploads of dry runs nobody imported within a day."""
    store = storage()
    older = time.time() - KEEP_SECONDS
    here = store.local_path(_key("0" * 64))
    if here is not None:  # files on disk: list the one folder, not the whole storage
        found = [
            (f"imports/{p.name}", p.stat().st_mtime)
            for p in (here.parent.iterdir() if here.parent.is_dir() else [])
            if SHA256.fullmatch(p.name.removesuffix(".csv"))
        ]
    else:  # an object store lists by prefix
        found = [(o.key, o.modified) for o in store.objects("imports/")]
    for key, modified in found:
        if modified < older:
            store.delete(key)


@bp.get("/import")
@head_office
def import_form():
    return _page()


@bp.get("/import/<kind>.csv")
@head_office
def import_template(kind: str):
    if kind not in imports.KINDS:
        raise Refused("not_found", 404)
    body = "\ufeff" + imports.template_csv(kind)  # the BOM: Excel opens it as UTF-8
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={kind}.csv"},
    )


@bp.post("/import")
@head_office
def dry_run():
    form = UploadForm()
    require_valid(form)
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        raise Refused("import_no_file")
    raw = upload.stream.read(imports.MAX_BYTES + 1)
    plan = imports.plan(db.session, current_user, form.kind.data or "", raw)
    if plan.problems:
        return _page(
            400, kind=plan.kind, plan=plan, problems=_problems(plan), filename=upload.filename
        )
    _forget_old_uploads()
    storage().put(_key(plan.sha256), raw)  # the file is kept before anything points at it
    return _page(kind=plan.kind, plan=plan, problems=[], filename=upload.filename, apply=True)


def _passwords_csv(passwords: list[tuple[str, str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["username", "display_name", "password"])
    writer.writerows(passwords)
    return "data:text/csv;charset=utf-8," + quote("\ufeff" + out.getvalue())


@bp.post("/import/apply")
@head_office
def apply_import():
    form = ApplyForm()
    require_valid(form)
    sha256 = form.sha256.data or ""
    if not SHA256.fullmatch(sha256) or (form.kind.data or "") not in imports.KINDS:
        raise Refused("bad_form", fields="sha256")
    try:
        raw = storage().get(_key(sha256))
    except KeyError:
        raise Refused("import_expired", 409) from None
    plan = imports.plan(db.session, current_user, form.kind.data or "", raw)
    if plan.problems or plan.digest != form.digest.data:
        problems = _problems(plan)
        return _page(
            409, kind=plan.kind, plan=plan, problems=problems, changed=True, apply=not problems
        )
    done = imports.apply(db.session, current_user, plan)
    for action, object_type, object_id, changes in done.records:
        audit.record(db.session, current_user, action, object_type, object_id, changes)
    audit.record(
        db.session,
        current_user,
        "organisation.imported",
        plan.kind,
        sha256[:16],
        {"created": done.created, "changed": done.changed, "unchanged": plan.count("unchanged")},
    )
    # no row points at the kept upload: should the commit fail, a new upload starts again
    storage().delete(_key(sha256))
    download = _passwords_csv(done.passwords) if done.passwords else None
    return _page(kind=plan.kind, plan=plan, done=done, download=download, message=_("Imported."))
