"""Outlet and sub-branch managers: the submitted inspections of their own outlets."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user
from sqlalchemy import select

from shopper.auth.access import allow
from shopper.auth.models import Role
from shopper.inspections.listing import filter_choices, list_page
from shopper.org.models import Outlet

bp = Blueprint("branch", __name__, url_prefix="/branch")


@bp.get("/inspections")
@allow(Role.OUTLET_MANAGER, Role.SUB_BRANCH_MANAGER)
def inspections():
    if current_user.role == Role.OUTLET_MANAGER:
        outlets = select(Outlet).where(Outlet.id == current_user.outlet_id)
    else:
        outlets = select(Outlet).where(Outlet.sub_branch_id == current_user.sub_branch_id)
    return list_page("branch/inspections.html", filter_choices(outlets))
