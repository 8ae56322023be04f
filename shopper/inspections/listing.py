"""The inspection list head office and branch managers share: filters, paging, choices."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user
from sqlalchemy import Select, select

from shopper.core.scoring import bands_from_config
from shopper.extensions import db
from shopper.inspections import pages, service
from shopper.org.models import Outlet, SubBranch
from shopper.periods.models import Period

PAGE_SIZE = 50


def _int_arg(name: str) -> int | None:
    return request.args.get(name, type=int) or None


def list_page(template: str, choices: dict):
    filters = service.Filters(
        period_id=_int_arg("period"),
        sub_branch_id=_int_arg("sub_branch"),
        outlet_id=_int_arg("outlet"),
        band=request.args.get("band") or None,
        status=request.args.get("status") or None,
        by_rank=request.args.get("order") == "rank",
    )
    page = max(request.args.get("page", type=int) or 1, 1)
    config = current_app.config
    rows, total = service.search(
        db.session,
        current_user,
        filters,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        bands=bands_from_config(config["SCORE_BANDS"], config["RED_LINE_BAND"]),
    )
    return render_template(
        template,
        rows=[pages.header(i) for i in rows],
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        filters=filters,
        choices=choices,
    )


def filter_choices(outlets_query: Select) -> dict:
    periods = db.session.scalars(select(Period).order_by(Period.starts_on.desc()))
    outlets = list(db.session.scalars(outlets_query.order_by(Outlet.code)))
    sub_branch_ids = {o.sub_branch_id for o in outlets}
    sub_branches = db.session.scalars(
        select(SubBranch).where(SubBranch.id.in_(sub_branch_ids)).order_by(SubBranch.code)
    )
    return {
        "periods": [(p.id, p.code) for p in periods],
        "sub_branches": [(s.id, s.name) for s in sub_branches],
        "outlets": [(o.id, f"{o.code} {o.name}") for o in outlets],
        "bands": [code for code, _minimum, _passing in current_app.config["SCORE_BANDS"]],
    }
