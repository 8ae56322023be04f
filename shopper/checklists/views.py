"""Head office's checklists: versions, drafts in the editor, side by side, import, export, print."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from shopper.auth.access import allow
from shopper.auth.models import Role
from shopper.checklists import pages, printing
from shopper.checklists import service as checklists
from shopper.checklists.forms import ImportForm, NewDraftForm
from shopper.checklists.models import ChecklistDraft
from shopper.core import checklist as core
from shopper.extensions import db
from shopper.forms import require_valid
from shopper.notices.forms import ActionForm
from shopper.org.features import all_features
from shopper.periods.service import version_in_use
from shopper.refusals import Refused

bp = Blueprint("checklists", __name__, url_prefix="/office/checklists")
head_office = allow(Role.ADMIN)


@bp.app_template_filter("points")
def points_filter(value: Decimal) -> str:
    """35 rather than 35.0, 1.5 as it is."""
    return format(Decimal(value).normalize(), "f")


@bp.app_template_filter("office_time")
def office_time(moment: datetime) -> str:
    """A stored UTC time in head office's time zone."""
    return moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%Y-%m-%d %H:%M")


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _draft(draft_id: int) -> ChecklistDraft:
    draft = db.session.get(ChecklistDraft, draft_id)
    if draft is None:
        raise Refused("not_found", 404)
    return draft


def problem_list(problems: list[core.Problem]) -> list[dict[str, str]]:
    """Problems for the page: the field's path ("sections.0.items.2.points") and a sentence
    in the user's language."""
    return [
        {
            "path": ".".join(str(part) for part in p.path),
            "where": p.where,
            "message": _(p.message, **dict(p.params)),
        }
        for p in problems
    ]


@bp.get("/")
@head_office
def index():
    order = current_app.config["CHECKLIST_ORDER"]
    latest = checklists.latest_versions(db.session, order)
    rows = []
    for version in latest:
        versions = checklists.versions_of(db.session, version.code)
        rows.append(
            {
                "latest": version,
                "total": version.checklist().total_points,
                "versions": [(v, version_in_use(db.session, v.id)) for v in versions],
                "draft": checklists.draft_for(db.session, version.code),
            }
        )
    new_drafts = [d for d in checklists.drafts(db.session) if d.based_on_id is None]
    return render_template(
        "checklists/index.html",
        rows=rows,
        new_drafts=new_drafts,
        inspection_total=sum(r["total"] for r in rows),
        new_form=NewDraftForm(),
        import_form=ImportForm(),
        action=ActionForm(),
    )


@bp.post("/drafts")
@head_office
def start_draft():
    form = NewDraftForm()
    require_valid(form)
    draft = checklists.start_draft(db.session, current_user, form.code.data.strip())
    return redirect(url_for("checklists.edit", draft_id=draft.id))


@bp.get("/drafts/<int:draft_id>")
@head_office
def edit(draft_id: int):
    draft = _draft(draft_id)
    order = current_app.config["CHECKLIST_ORDER"]
    others = sum(
        (
            v.checklist().total_points
            for v in checklists.latest_versions(db.session, order)
            if v.code != draft.code
        ),
        start=Decimal(0),
    )
    locale = _locale()
    state = {
        "id": draft.id,
        "revision": draft.revision,
        "data": json.loads(draft.data),
        "problems": problem_list(checklists.draft_problems(db.session, draft)),
        "others_total": float(others),
        "used_codes": sorted(checklists.used_codes(db.session, draft.code)),
        "features": [{"code": f.code, "name": f.name(locale)} for f in all_features(db.session)],
        "save_url": url_for("checklists.save", draft_id=draft.id),
    }
    return render_template("checklists/edit.html", draft=draft, state=state, action=ActionForm())


@bp.put("/drafts/<int:draft_id>")
@head_office
def save(draft_id: int):
    """The editor's autosave: the whole draft, with the revision it was based on."""
    draft = _draft(draft_id)
    body: Any = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("revision"), int):
        raise Refused("bad_draft")
    checklists.save_draft(db.session, draft, body.get("data"), body["revision"])
    problems = problem_list(checklists.draft_problems(db.session, draft))
    db.session.commit()
    return jsonify(revision=draft.revision, problems=problems)


@bp.post("/drafts/<int:draft_id>/publish")
@head_office
def publish(draft_id: int):
    draft = _draft(draft_id)
    require_valid(ActionForm())
    try:
        published = checklists.publish_draft(db.session, current_user, draft)
    except core.ChecklistInvalid as exc:
        raise Refused("draft_invalid", 422, count=len(exc.problems)) from exc
    version = published.version
    db.session.commit()
    flash(
        _("Version %(n)s of this checklist is published.", n=version.version),
        "info",
    )
    return redirect(
        url_for("checklists.diff", code=version.code, a=version.version - 1, b=version.version)
        if version.version > 1
        else url_for("checklists.index")
    )


@bp.post("/drafts/<int:draft_id>/discard")
@head_office
def discard(draft_id: int):
    draft = _draft(draft_id)
    require_valid(ActionForm())
    checklists.discard(db.session, draft)
    db.session.commit()
    flash(_("The draft was discarded."), "info")
    return redirect(url_for("checklists.index"))


@bp.get("/<code>/diff")
@head_office
def diff(code: str):
    versions = checklists.versions_of(db.session, code)
    if not versions:
        raise Refused("not_found", 404)
    newest = versions[0].version
    a = request.args.get("a", type=int) or max(newest - 1, 1)
    b = request.args.get("b", type=int) or newest
    old, new = checklists.version(db.session, code, a), checklists.version(db.session, code, b)
    return render_template(
        "checklists/diff.html",
        page=pages.diff_page(old, new, _locale()),
        code=code,
        versions=versions,
        a=a,
        b=b,
    )


@bp.get("/<code>/v<int:number>.yaml")
@head_office
def export(code: str, number: int):
    version = checklists.version(db.session, code, number)
    return Response(
        checklists.export_yaml(version),
        mimetype="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{code}-v{number}.yaml"'},
    )


@bp.get("/<code>/v<int:number>.pdf")
@head_office
def printable(code: str, number: int):
    version = checklists.version(db.session, code, number)
    locale = _locale()
    names = {f.code: f.name(locale) for f in all_features(db.session)}
    pdf = printing.printable_pdf(version, locale, names)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{code}-v{number}.pdf"'},
    )


@bp.post("/import")
@head_office
def import_file():
    form = ImportForm()
    require_valid(form)
    upload = form.file.data
    data = upload.read(checklists.MAX_DRAFT_BYTES + 1)
    if len(data) > checklists.MAX_DRAFT_BYTES:
        raise Refused("draft_too_large", 413)
    try:
        published = checklists.import_yaml(db.session, current_user, data, upload.filename or "")
    except core.ChecklistInvalid as exc:
        db.session.rollback()
        return (
            render_template("checklists/refused.html", problems=problem_list(exc.problems)),
            422,
        )
    version = published.version
    db.session.commit()
    if published.created:
        flash(_("Imported as version %(n)s of %(code)s.", n=version.version, code=version.code))
    else:
        flash(
            _(
                "Nothing to import: version %(n)s of %(code)s has exactly this content.",
                n=version.version,
                code=version.code,
            )
        )
    return redirect(url_for("checklists.index"))


@bp.post("/<code>/v<int:number>/withdraw")
@head_office
def withdraw(code: str, number: int):
    version = checklists.version(db.session, code, number)
    require_valid(ActionForm())
    if version_in_use(db.session, version.id):
        raise Refused("version_in_use", 409)
    checklists.withdraw(db.session, current_user, version)
    db.session.commit()
    flash(_("Version %(n)s is withdrawn: new periods can no longer choose it.", n=number))
    return redirect(url_for("checklists.index"))
