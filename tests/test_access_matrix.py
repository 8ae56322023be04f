"""Every route × every role → the expected status. A new route without a row here fails."""

import uuid

import pytest
from sqlalchemy import select

from shopper.auth.access import access_of
from shopper.extensions import db
from shopper.notices.models import Finding, FindingResponse, Notice
from tests.access_rows import modules as extra_rows
from tests.api.helpers import matrix_objects
from tests.conftest import Client
from tests.factories import answer_all, items, jpeg, start, submit, upload

ROLES = [
    "anonymous",
    "admin",
    "inspector",
    "inspector2",
    "outlet_manager",
    "outlet_manager3",
    "sub_branch_manager",
    "bank_checker",  # a row that does not name it expects what inspector2 gets (see below)
]

# route → {role: status}; "own" objects are the inspector's submitted inspection of outlet O1
# and a draft inspection of O2. Anonymous users are sent to log in (302).
EXPECTED = {
    ("GET", "/"): dict(
        anonymous=302,
        admin=302,
        inspector=302,
        inspector2=302,
        outlet_manager=302,
        outlet_manager3=302,
        sub_branch_manager=302,
    ),
    ("GET", "/login"): dict.fromkeys(ROLES, 200),
    ("POST", "/login"): dict.fromkeys(ROLES, 400),  # empty form
    ("GET", "/language/{lang}"): dict.fromkeys(ROLES, 302),
    # the phone's offline shell: public, holds nothing of anyone's
    ("GET", "/sw.js"): dict.fromkeys(ROLES, 200),
    ("GET", "/manifest.webmanifest"): dict.fromkeys(ROLES, 200),
    ("GET", "/favicon.ico"): dict.fromkeys(ROLES, 200),
    ("GET", "/healthz"): dict.fromkeys(ROLES, 200),  # no database: a load balancer's check
    ("GET", "/inspect/"): dict(
        anonymous=302,
        admin=403,
        inspector=200,
        inspector2=200,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/inspect/assignments/{assignment}/start"): dict(
        anonymous=302,
        admin=403,
        inspector=302,
        inspector2=404,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("GET", "/inspect/{draft}"): dict(
        anonymous=302,
        admin=403,
        inspector=200,
        inspector2=404,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/inspect/{draft}/answers"): dict(
        anonymous=302,
        admin=403,
        inspector=400,
        inspector2=404,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/inspect/{draft}/photos"): dict(
        anonymous=302,
        admin=403,
        inspector=400,
        inspector2=404,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/inspect/{draft}/photos/{photo}/delete"): dict(
        anonymous=302,
        admin=403,
        inspector=404,
        inspector2=404,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("GET", "/inspect/{draft}/review"): dict(
        anonymous=302,
        admin=403,
        inspector=200,
        inspector2=404,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/inspect/{draft}/submit"): dict(
        anonymous=302,
        admin=403,
        inspector=400,  # an empty form: no attestation, no confirm step
        inspector2=404,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/inspect/{draft}/visit"): dict(
        anonymous=302,
        admin=403,
        inspector=400,  # an empty form: no client UUID
        inspector2=404,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/inspect/{draft}/checkin"): dict(
        anonymous=302,
        admin=403,
        inspector=400,
        inspector2=404,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/inspect/{submitted}/visit"): dict(
        anonymous=302,
        admin=403,
        inspector=400,
        inspector2=404,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("GET", "/inspections/{submitted}"): dict(
        anonymous=302,
        admin=200,
        inspector=200,
        inspector2=404,
        outlet_manager=200,
        outlet_manager3=404,
        sub_branch_manager=200,
    ),
    ("GET", "/inspections/{draft}"): dict(
        anonymous=302,
        admin=200,
        inspector=200,
        inspector2=404,
        outlet_manager=404,
        outlet_manager3=404,
        sub_branch_manager=404,
    ),
    ("GET", "/photos/{sha}/{variant}.jpg"): dict(
        anonymous=302,
        admin=200,
        inspector=200,
        inspector2=404,
        outlet_manager=200,
        outlet_manager3=404,
        sub_branch_manager=200,
    ),
    ("GET", "/office/inspections"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("GET", "/branch/inspections"): dict(
        anonymous=302,
        admin=403,
        inspector=403,
        inspector2=403,
        outlet_manager=200,
        outlet_manager3=200,
        sub_branch_manager=200,
    ),
    # ---- release, notices, the rectification loop, verification (issue 13) ----
    ("GET", "/notices/"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=200,
        outlet_manager3=200,
        sub_branch_manager=200,
    ),
    ("GET", "/notices/{notice}"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=200,
        outlet_manager3=404,
        sub_branch_manager=200,
    ),
    ("GET", "/notices/{notice}/pdf"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=200,
        outlet_manager3=404,
        sub_branch_manager=200,
    ),
    ("POST", "/notices/findings/{finding}/respond"): dict(
        anonymous=302,
        admin=403,
        inspector=403,
        inspector2=403,
        outlet_manager=400,
        outlet_manager3=404,
        sub_branch_manager=403,
    ),
    ("POST", "/notices/responses/{response}/comment"): dict(
        anonymous=302,
        admin=403,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=400,
    ),
    ("POST", "/notices/responses/{response}/decide"): dict(
        anonymous=302,
        admin=400,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/notices/{notice}/acknowledge"): dict(
        anonymous=302,
        admin=403,
        inspector=403,
        inspector2=403,
        outlet_manager=302,
        outlet_manager3=404,
        sub_branch_manager=403,
    ),
    ("GET", "/verify/"): dict.fromkeys(ROLES, 200),
    ("GET", "/verify/{number}"): dict.fromkeys(ROLES, 200),
    ("POST", "/verify/"): dict.fromkeys(ROLES, 400),  # no file
    ("POST", "/office/inspections/{submitted}/release"): dict(
        anonymous=302,
        admin=409,
        inspector=403,
        inspector2=403,  # released already
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/inspections/{submitted}/return"): dict(
        anonymous=302,
        admin=400,
        inspector=403,
        inspector2=403,  # no reason
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/inspections/release"): dict(
        anonymous=302,
        admin=302,
        inspector=403,
        inspector2=403,  # nothing ticked
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/inspections/{draft}/notice"): dict(
        anonymous=302,
        admin=409,
        inspector=403,
        inspector2=403,  # not released
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("GET", "/office/sub-branch-notices"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/sub-branch-notices"): dict(
        anonymous=302,
        admin=400,
        inspector=403,
        inspector2=403,  # no period or range
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("GET", "/office/findings/"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("GET", "/office/findings/export.xlsx"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    # ---- periods and outlet features (issue 14) ----
    ("GET", "/office/periods"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/periods"): dict(
        anonymous=302,
        admin=400,  # an empty form: no code
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/periods/{period}/versions"): dict(
        anonymous=302,
        admin=409,  # its inspections started
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("GET", "/office/features"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/features"): dict(
        anonymous=302,
        admin=400,  # an empty form: no code
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/features/{feature}/rename"): dict(
        anonymous=302,
        admin=400,  # no names
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/features/{feature}/delete"): dict(
        anonymous=302,
        admin=409,  # outlets have it
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/features/profiles"): dict(
        anonymous=302,
        admin=302,  # no rows: nothing changed
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    # ---- end of periods and outlet features ----
    # ---- checklists: head office only ----
    ("GET", "/office/checklists/"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/checklists/drafts"): dict(
        anonymous=302,
        admin=400,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("GET", "/office/checklists/drafts/{cdraft}"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("PUT", "/office/checklists/drafts/{cdraft}"): dict(
        anonymous=401,
        admin=400,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/checklists/drafts/{cdraft}/publish"): dict(
        anonymous=302,
        admin=409,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("GET", "/office/checklists/{checklist}/diff"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("GET", "/office/checklists/{checklist}/v1.yaml"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("GET", "/office/checklists/{checklist}/v1.pdf"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/checklists/import"): dict(
        anonymous=302,
        admin=400,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/checklists/{checklist}/v1/withdraw"): dict(
        anonymous=302,
        admin=409,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/checklists/drafts/{cdraft}/discard"): dict(
        anonymous=302,
        admin=302,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    # ---- end of checklists ----
    # ---- the audit trail ----
    ("GET", "/office/audit/?kind=inspection&id={submitted}"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("GET", "/office/audit/export.xlsx?kind=notice&id={notice}"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    # ---- end of the audit trail ----
    # ---- sign-in locks (issue 16) ----
    ("GET", "/office/sign-in-locks"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/sign-in-locks/{username}/lift"): dict(
        anonymous=302,
        admin=302,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    # ---- the API (issue 16): a bearer token, never the session, so 401 for every role ----
    ("GET", "/api/v1/openapi.json"): dict.fromkeys(ROLES, 200),
    ("GET", "/api/v1/periods"): dict.fromkeys(ROLES, 401),
    ("GET", "/api/v1/outlets"): dict.fromkeys(ROLES, 401),
    ("GET", "/api/v1/inspections"): dict.fromkeys(ROLES, 401),
    ("GET", "/api/v1/inspections/{submitted}"): dict.fromkeys(ROLES, 401),
    ("GET", "/api/v1/notices"): dict.fromkeys(ROLES, 401),
    ("GET", "/api/v1/notices/{notice}"): dict.fromkeys(ROLES, 401),
    ("GET", "/api/v1/checklist-versions"): dict.fromkeys(ROLES, 401),
    ("GET", "/api/v1/checklist-versions/{checklist_version}"): dict.fromkeys(ROLES, 401),
    ("GET", "/office/api-tokens"): dict(
        anonymous=302,
        admin=200,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/api-tokens"): dict(
        anonymous=302,
        admin=400,  # an empty form: no name
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    ("POST", "/office/api-tokens/{api_token}/revoke"): dict(
        anonymous=302,
        admin=302,
        inspector=403,
        inspector2=403,
        outlet_manager=403,
        outlet_manager3=403,
        sub_branch_manager=403,
    ),
    # ---- end of the API ----
    ("POST", "/logout"): dict(
        anonymous=302,
        admin=302,
        inspector=302,
        inspector2=302,
        outlet_manager=302,
        outlet_manager3=302,
        sub_branch_manager=302,
    ),  # last: it ends the session
}
_logout = EXPECTED.pop(("POST", "/logout"))
for _module in extra_rows():
    assert not set(_module.ROWS) & set(EXPECTED), f"{_module.__name__} repeats a row"
    EXPECTED.update(_module.ROWS)
EXPECTED[("POST", "/logout")] = _logout  # still last


@pytest.fixture
def objects(login, world, app):
    """The inspector's O1 inspection, one item failed, released with its notice; the outlet
    manager's answer to that finding; a draft of O2."""
    c = login("inspector")
    submitted = start(c, world.assignment_ids["inspector"][0])
    failed = next(
        code
        for _v, code, item in items(app, submitted)
        if not item.red_line and not item.photo_required_on_fail
    )
    answer_all(c, app, submitted, lambda item: "fail" if item.code == failed else "pass")
    version, code, _ = items(app, submitted)[0]
    photo = upload(c, submitted, version, code, jpeg()).json
    assert submit(c, submitted).status_code == 302
    draft = start(c, world.assignment_ids["inspector"][1])
    assert login("admin").post(f"/office/inspections/{submitted}/release").status_code == 302
    with app.app_context():
        notice = db.session.scalars(select(Notice)).one()
        finding = db.session.scalars(select(Finding)).one()
        ids = {"notice": notice.id, "number": notice.number, "finding": finding.id}
    manager = login("outlet_manager")
    answered = manager.post(
        f"/notices/findings/{ids['finding']}/respond",
        {"uuid": str(uuid.uuid4()), "kind": "rectified", "note": "Fixed"},
    )
    assert answered.status_code == 302
    with app.app_context():
        ids["response"] = db.session.scalars(select(FindingResponse)).one().id
    started = login("admin").post("/office/checklists/drafts", {"code": "teller_seven_steps"})
    cdraft = int(started.headers["Location"].rsplit("/", 1)[1])
    return {
        "submitted": submitted,
        "draft": draft,
        "assignment": world.assignment_ids["inspector"][1],
        "photo": photo["id"],
        "sha": photo["thumb"].split("/")[2],
        "variant": "thumb",
        "lang": "en",
        "username": "inspector",
        "period": world.period_id,
        "feature": "vip_room",
        "checklist": "teller_seven_steps",
        "cdraft": cdraft,
        **matrix_objects(app),  # the API's rows (issue 16)
        **ids,
        **{
            k: v
            for module in extra_rows()
            if hasattr(module, "objects")
            for k, v in module.objects(app, world).items()
        },
    }


def test_every_route_is_declared_and_in_the_matrix(app):
    rules = {
        (m, r.rule)
        for r in app.url_map.iter_rules()
        if r.endpoint != "static"
        for m in r.methods - {"HEAD", "OPTIONS"}
    }
    for _method, rule in rules:
        endpoint = next(r.endpoint for r in app.url_map.iter_rules() if r.rule == rule)
        assert access_of(app, endpoint) is not None, f"{rule} declares no access"
    covered = {(m, p.split("{")[0].split("?")[0]) for m, p in EXPECTED}
    for method, rule in rules:
        assert (method, rule.split("<")[0]) in covered, (
            f"{method} {rule} is missing from the matrix"
        )


@pytest.mark.parametrize("role", ROLES)
def test_route_role_matrix(role, app, objects):
    c = Client(app) if role == "anonymous" else None
    if c is None:
        c = Client(app)
        assert c.login(role).status_code == 302
    for (method, pattern), expected in EXPECTED.items():
        url = pattern.format(**objects)
        if method == "GET":
            response = c.get(url)
        elif method == "PUT":  # the editor's autosave: JSON with the CSRF header
            headers = {"X-CSRFToken": c.csrf or c.refresh_csrf(), "Accept": "application/json"}
            response = c.http.put(url, headers=headers)
        else:
            response = c.post(url)
        # the bank checker uses the phone's screens and has no assignment of the world's: a
        # row that does not name it expects what inspector2 (someone else's objects) gets
        want = expected.get(role, expected["inspector2"]) if role == "bank_checker" else None
        status = response.status_code
        response.close()  # a streamed download (CSV, XLSX) left unread ends its request here
        assert status == (want if want is not None else expected[role]), (
            f"{role} {method} {url}: {status}"
        )
