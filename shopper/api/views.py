"""The JSON API under /api/v1: read only, a bearer token on every request.

Routes are `public` to the app's session-based access check; this blueprint checks the
token itself, before any view, and every view reads through the token's scope (load with
the scope's rule → dump). Requests are parsed and responses dumped by the marshmallow
schemas flask-smorest also writes the OpenAPI document from.
"""

from __future__ import annotations

from flask import Blueprint as FlaskBlueprint
from flask import current_app, g, jsonify, request
from flask_smorest import Api, Blueprint
from marshmallow import RAISE

from shopper.api import errors, present, service, tokens
from shopper.api import schemas as s
from shopper.auth.access import public
from shopper.extensions import db

PREFIX = "/api/v1"
DESCRIPTION = """\
Read-only access for the bank's own systems to periods, outlets, inspections (answers,
scores), rectification notices (finding status) and checklist versions.

Every request sends `Authorization: Bearer <token>`. Head office makes tokens on
/office/api-tokens; a token reads what its scope allows: everything (head office), one
sub-branch's outlets or one outlet; other scopes than head office see released inspections
only. Anything outside the scope is answered 404, as if it did not exist.

Lists come a page at a time, in a stable order: pass a page's `next_cursor` as `cursor` to
get the next one, until it is null. Errors are JSON: `{"error": a sentence in the
Accept-Language's language, "code": a stable code}`; bad parameters are a 400.
"""

bp = Blueprint("api", __name__, url_prefix=PREFIX, description="Shopper's data, read only.")
docs = FlaskBlueprint("api_docs", __name__, url_prefix=PREFIX)
errors.init_blueprint(bp)
# a bad parameter is a 400 (not webargs' 422), and an unknown one is refused, not ignored
_bad_request = {"error_status_code": 400, "unknown": RAISE}


class ShopperApi(Api):
    """flask-smorest without its app-wide error handler: the web keeps its own pages, and
    the API blueprint answers its errors itself (shopper.api.errors)."""

    ERROR_SCHEMA = s.Error

    def _register_error_handlers(self):
        pass


def spec_document() -> dict:
    return current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()


def init_app(app) -> None:
    spec = ShopperApi(
        spec_kwargs={
            "title": "Shopper API",
            "version": "1",
            "openapi_version": "3.1.0",
            "info": {"description": DESCRIPTION},
            "security": [{"bearer": []}],
        }
    )
    spec.init_app(app)
    spec.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "An API token."}
    )
    spec.register_blueprint(bp)
    app.register_blueprint(docs)
    app.before_request(errors.unrouted(PREFIX))


@docs.get("/openapi.json")
@public
def openapi():
    """The OpenAPI 3.1 document, written from the schemas the views validate with."""
    return jsonify(spec_document())


@bp.before_request
def authenticate() -> None:
    """Every API request carries a live token (else a 401 sentence); its scope is `g.api_viewer`."""
    token = tokens.authenticate(db.session, request.headers.get("Authorization"))
    g.api_token = token
    g.api_viewer = tokens.viewer(token)


def _viewer():
    return g.api_viewer


@bp.route("/periods", tags=["periods"])
@public
@bp.arguments(s.PageArgs, location="query", **_bad_request)
@bp.response(200, s.PeriodPage)
def periods(args):
    """Periods

    Every period, by id: they are the whole bank's, so every scope sees them all.
    """
    page = service.periods_page(db.session, args.get("cursor"), args["limit"])
    return {"items": page.rows, "next_cursor": page.next_cursor}


@bp.route("/outlets", tags=["outlets"])
@public
@bp.arguments(s.OutletArgs, location="query", **_bad_request)
@bp.response(200, s.OutletPage)
def outlets(args):
    """Outlets

    The outlets in the token's scope, by id.
    """
    page = service.outlets_page(
        db.session, _viewer(), args.get("sub_branch"), args.get("cursor"), args["limit"]
    )
    return {"items": page.rows, "next_cursor": page.next_cursor}


@bp.route("/inspections", tags=["inspections"])
@public
@bp.arguments(s.InspectionArgs, location="query", **_bad_request)
@bp.response(200, s.InspectionPage)
def inspections(args):
    """Inspections with their answers and scores

    The inspections in the token's scope (other scopes than head office: released ones
    only), least recently changed first, by (changed_at, id). Walking the cursors sees each
    inspection once, and one that changes meanwhile again at the end. To keep a copy in
    step, ask later with changed_since set to the last changed_at seen (the inspections
    changed at that very moment come once more).
    """
    filters = service.InspectionFilters(
        period_id=args.get("period"),
        sub_branch_id=args.get("sub_branch"),
        outlet_id=args.get("outlet"),
        changed_since=args.get("changed_since"),
    )
    page = service.inspections_page(
        db.session, _viewer(), filters, args.get("cursor"), args["limit"]
    )
    return {
        "items": [present.inspection(row, changed) for row, changed in page.rows],
        "next_cursor": page.next_cursor,
    }


@bp.route("/inspections/<int:inspection_id>", tags=["inspections"])
@public
@bp.response(200, s.InspectionOut)
def inspection(inspection_id: int):
    """One inspection

    404 if there is none, or it is outside the token's scope.
    """
    row, changed = service.inspection(db.session, _viewer(), inspection_id)
    return present.inspection(row, changed)


@bp.route("/notices", tags=["notices"])
@public
@bp.arguments(s.NoticeArgs, location="query", **_bad_request)
@bp.response(200, s.NoticePage)
def notices(args):
    """Rectification notices and their findings' status

    The notices in the token's scope in the order they were issued (by id), each with its
    status and its findings.
    """
    filters = service.NoticeFilters(
        period_id=args.get("period"),
        sub_branch_id=args.get("sub_branch"),
        outlet_id=args.get("outlet"),
        kind=args.get("kind"),
    )
    page = service.notices_page(db.session, _viewer(), filters, args.get("cursor"), args["limit"])
    return {"items": [present.notice(v) for v in page.rows], "next_cursor": page.next_cursor}


@bp.route("/notices/<int:notice_id>", tags=["notices"])
@public
@bp.response(200, s.NoticeOut)
def notice(notice_id: int):
    """One notice

    404 if there is none, or it is outside the token's scope.
    """
    return present.notice(service.notice(db.session, _viewer(), notice_id))


@bp.route("/checklist-versions", tags=["checklists"])
@public
@bp.arguments(s.ChecklistVersionArgs, location="query", **_bad_request)
@bp.response(200, s.ChecklistVersionPage)
def checklist_versions(args):
    """Checklist versions

    Every published version by id, withdrawn ones too (inspections still point at them);
    each version's content is on its own URL.
    """
    page = service.checklist_versions_page(
        db.session, args.get("code"), args.get("cursor"), args["limit"]
    )
    return {"items": page.rows, "next_cursor": page.next_cursor}


@bp.route("/checklist-versions/<int:version_id>", tags=["checklists"])
@public
@bp.response(200, s.ChecklistVersionDetail)
def checklist_version(version_id: int):
    """One checklist version with its content

    The content exactly as published: a version never changes.
    """
    return service.checklist_version(db.session, version_id)
