"""Head office's organisation screens (issue 15): only head office reaches any of them.

Placeholders: a sub-branch, an outlet and the agency that things use (so deleting them is
refused, 409); head office's own account (disabling it is refused, 409) and another account
whose password is reset (a generated one, shown once: 200).
"""

from __future__ import annotations

from sqlalchemy import select

from shopper.extensions import db
from shopper.org.models import Agency

ROLES = [
    "anonymous",
    "admin",
    "inspector",
    "inspector2",
    "outlet_manager",
    "outlet_manager3",
    "sub_branch_manager",
]


def head_office(status: int) -> dict[str, int]:
    row = dict.fromkeys(ROLES, 403)
    row["anonymous"] = 302
    row["admin"] = status
    return row


ORG = "/office/organisation"
ROWS = {
    ("GET", ORG): head_office(302),
    ("GET", f"{ORG}/sub-branches"): head_office(200),
    ("GET", f"{ORG}/sub-branches/new"): head_office(200),
    ("POST", f"{ORG}/sub-branches"): head_office(400),  # an empty form: no code
    ("GET", f"{ORG}/sub-branches/{{org_sub_branch}}"): head_office(200),
    ("POST", f"{ORG}/sub-branches/{{org_sub_branch}}"): head_office(400),
    ("POST", f"{ORG}/sub-branches/{{org_sub_branch}}/delete"): head_office(409),  # has outlets
    ("GET", f"{ORG}/outlets"): head_office(200),
    ("GET", f"{ORG}/outlets/new"): head_office(200),
    ("POST", f"{ORG}/outlets"): head_office(400),
    ("GET", f"{ORG}/outlets/{{org_outlet}}"): head_office(200),
    ("POST", f"{ORG}/outlets/{{org_outlet}}"): head_office(400),
    ("POST", f"{ORG}/outlets/{{org_outlet}}/delete"): head_office(409),  # has assignments
    ("GET", f"{ORG}/agencies"): head_office(200),
    ("GET", f"{ORG}/agencies/new"): head_office(200),
    ("POST", f"{ORG}/agencies"): head_office(400),
    ("GET", f"{ORG}/agencies/{{org_agency}}"): head_office(200),
    ("POST", f"{ORG}/agencies/{{org_agency}}"): head_office(400),
    ("POST", f"{ORG}/agencies/{{org_agency}}/delete"): head_office(409),  # has inspectors
    ("GET", f"{ORG}/accounts"): head_office(200),
    ("GET", f"{ORG}/accounts/new"): head_office(200),
    ("POST", f"{ORG}/accounts"): head_office(400),
    ("GET", f"{ORG}/accounts/{{org_self}}"): head_office(200),
    ("POST", f"{ORG}/accounts/{{org_self}}"): head_office(400),  # no display name
    ("POST", f"{ORG}/accounts/{{org_self}}/disable"): head_office(409),  # one's own
    ("POST", f"{ORG}/accounts/{{org_self}}/enable"): head_office(302),  # already: idempotent
    ("POST", f"{ORG}/accounts/{{org_other}}/password"): head_office(200),  # shown once
    ("GET", f"{ORG}/import"): head_office(200),
    ("GET", f"{ORG}/import/{{org_kind}}.csv"): head_office(200),
    ("POST", f"{ORG}/import"): head_office(400),  # no file
    ("POST", f"{ORG}/import/apply"): head_office(400),  # no dry run named
}


def objects(app, world) -> dict:
    with app.app_context():
        agency = db.session.scalars(select(Agency.id)).first()
    return {
        "org_sub_branch": world.sub_branch_ids[0],
        "org_outlet": world.outlet_ids[0],
        "org_agency": agency,
        "org_self": world.users["admin"],
        "org_other": world.users["sub_branch_manager"],
        "org_kind": "outlets",
    }
