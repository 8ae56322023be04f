"""Head office: every inspection, filtered by period, sub-branch, outlet and band."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from shopper.auth.access import allow
from shopper.auth.models import Role
from shopper.inspections.listing import filter_choices, list_page
from shopper.org.models import Outlet

bp = Blueprint("office", __name__, url_prefix="/office")


@bp.get("/inspections")
@allow(Role.ADMIN)
def inspections():
    return list_page("office/inspections.html", filter_choices(select(Outlet)))
