"""Head office's accounts: create (typed or generated password), change role and scope,
disable (signed out at once), enable, reset password, and the last head-office account."""

import re
import time

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from shopper.auth import accounts
from shopper.auth.models import LoginSession, Role, User
from shopper.extensions import db
from shopper.org.models import Agency
from shopper.refusals import Refused
from tests.conftest import Client
from tests.org.helpers import last_audit, snapshot, text

ORG = "/office/organisation"
SECRET = re.compile(r'<code class="secret">([^<]+)</code>')


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalars(select(User.id).where(User.username == username)).one()


def agency_id(app) -> int:
    with app.app_context():
        return db.session.scalars(select(Agency.id)).one()


def sessions(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(LoginSession)
            .join(User)
            .where(User.username == username)
        )


def test_the_list_filters_by_role_and_state_and_sorts(login, world, app):
    admin = login("admin")
    page = text(admin.get(f"{ORG}/accounts?role=inspector"))
    assert "inspector2" in page and "outlet_manager3" not in page
    page = text(admin.get(f"{ORG}/accounts?sort=username&dir=desc"))
    assert page.index(">sub_branch_manager<") < page.index(">admin<")
    page = text(admin.get(f"{ORG}/accounts?active=no"))
    assert "No accounts match." in page


def test_an_account_created_with_a_typed_password_signs_in(login, world, app, client):
    admin = login("admin")
    data = {
        "username": "li.na",
        "display_name": "Li Na",
        "role": "inspector",
        "agency_id": str(agency_id(app)),
        "password": "a long enough secret",
    }
    assert admin.post(f"{ORG}/accounts", data).status_code == 302
    record = last_audit(app)
    assert record.action == "account.created" and "a long enough secret" not in record.changes
    assert client.login("li.na", "a long enough secret").status_code == 302


def test_a_generated_password_is_shown_once_and_signs_in(login, world, app, client):
    admin = login("admin")
    data = {
        "username": "checker.east",
        "display_name": "East checker",
        "role": "bank_checker",
        "sub_branch_id": str(world.sub_branch_ids[0]),
    }
    response = admin.post(f"{ORG}/accounts", data)
    assert response.status_code == 200 and "The password is shown only now." in text(response)
    password = SECRET.search(text(response)).group(1)
    assert len(password) >= 16
    assert password not in text(admin.get(f"{ORG}/accounts/{user_id(app, 'checker.east')}"))
    with app.app_context():
        user = db.session.get(User, user_id(app, "checker.east"))
        assert (user.role, user.sub_branch_id) == ("bank_checker", world.sub_branch_ids[0])
    # signing in works (where a bank checker's home page is, is the planning screens' part)
    client.refresh_csrf()
    signed_in = client.http.post(
        "/login", data={"username": "checker.east", "password": password, "csrf_token": client.csrf}
    )
    assert signed_in.status_code == 302


def test_a_head_office_bank_checker_has_no_sub_branch(login, world, app):
    admin = login("admin")
    data = {
        "username": "checker.ho",
        "display_name": "HO checker",
        "role": "bank_checker",
        "password": "checking all day",
    }
    assert admin.post(f"{ORG}/accounts", data).status_code == 302
    with app.app_context():
        assert db.session.get(User, user_id(app, "checker.ho")).sub_branch_id is None


@pytest.mark.parametrize(
    ("data", "status", "sentence"),
    [
        ({"username": "", "display_name": "X", "role": "admin"}, 400, "Give a username."),
        ({"username": "a b", "display_name": "X", "role": "admin"}, 400, "A username is 1 to 80"),
        ({"username": "new", "display_name": "X", "role": "boss"}, 400, "The role is one of admin"),
        (
            {"username": "new", "display_name": "X", "role": "inspector"},
            400,
            "An inspector belongs to an agency: choose it.",
        ),
        (
            {"username": "new", "display_name": "X", "role": "outlet_manager"},
            400,
            "An outlet manager belongs to an outlet: choose it.",
        ),
        (
            {"username": "new", "display_name": "X", "role": "sub_branch_manager"},
            400,
            "A sub-branch manager belongs to a sub-branch: choose it.",
        ),
        (
            {"username": "new", "display_name": "X", "role": "admin", "password": "short"},
            400,
            "The password must be at least 10 characters long.",
        ),
        (
            {"username": "newbie", "display_name": "X", "role": "admin", "password": "newbie12345"},
            400,
            "The password must not contain the username",
        ),
        (
            {"username": "new", "display_name": "X", "role": "admin", "password": "aaaaaaaaaaaa"},
            400,
            "must not be one character repeated",
        ),
        (
            {"username": "ADMIN", "display_name": "X", "role": "admin"},
            409,
            "There is already an account named ADMIN.",
        ),
    ],
)
def test_a_bad_account_is_refused_with_its_sentence(login, world, app, data, status, sentence):
    admin = login("admin")
    before = snapshot(app)
    response = admin.post(f"{ORG}/accounts", data)
    assert response.status_code == status
    assert str(escape(sentence)) in text(response)
    assert snapshot(app) == before


def test_disabling_signs_the_account_out_at_once(login, world, app):
    inspector = login("inspector")
    assert inspector.get("/inspect/").status_code == 200
    admin = login("admin")
    target = world.users["inspector"]
    response = admin.post(f"{ORG}/accounts/{target}/disable")
    assert response.status_code == 302
    assert sessions(app, "inspector") == 0
    assert last_audit(app).action == "account.disabled"
    # its next request finds no session: sent to sign in
    response = inspector.get("/inspect/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert Client(app).login("inspector").status_code == 401
    assert admin.post(f"{ORG}/accounts/{target}/enable").status_code == 302
    assert Client(app).login("inspector").status_code == 302


def test_a_disabled_accounts_refusal_takes_as_long_as_a_wrong_password(login, world, app):
    admin = login("admin")
    admin.post(
        f"{ORG}/accounts",
        {
            "username": "slow.one",
            "display_name": "S",
            "role": "admin",
            "password": "slow but sure 1",
        },
    )
    admin.post(
        f"{ORG}/accounts",
        {
            "username": "slow.two",
            "display_name": "S",
            "role": "admin",
            "password": "slow but sure 2",
        },
    )
    admin.post(f"{ORG}/accounts/{user_id(app, 'slow.two')}/disable")

    def timed(username, password):
        c = Client(app)
        c.refresh_csrf()
        start = time.perf_counter()
        assert c.login(username, password).status_code == 401
        return time.perf_counter() - start

    wrong = min(timed("slow.one", "not the password") for _ in range(2))
    disabled = min(timed("slow.two", "slow but sure 2") for _ in range(2))
    # both check one scrypt hash: neither is several times the other
    assert disabled > wrong / 3 and wrong > disabled / 3


def test_reset_password_ends_sessions_and_the_new_one_works(login, world, app):
    manager = login("outlet_manager")
    admin = login("admin")
    target = world.users["outlet_manager"]
    response = admin.post(f"{ORG}/accounts/{target}/password", {"password": ""})
    assert response.status_code == 200
    password = SECRET.search(text(response)).group(1)
    assert sessions(app, "outlet_manager") == 0
    assert manager.get("/branch/inspections").status_code == 302
    assert Client(app).login("outlet_manager").status_code == 401  # the old password
    assert Client(app).login("outlet_manager", password).status_code == 302
    response = admin.post(f"{ORG}/accounts/{target}/password", {"password": "tiny"})
    assert response.status_code == 400 and "at least 10 characters" in text(response)


def test_changing_role_and_scope(login, world, app):
    manager = login("outlet_manager3")
    admin = login("admin")
    target = world.users["outlet_manager3"]
    data = {
        "display_name": "Now East",
        "role": "sub_branch_manager",
        "sub_branch_id": str(world.sub_branch_ids[0]),
        "outlet_id": str(world.outlet_ids[2]),
    }
    assert admin.post(f"{ORG}/accounts/{target}", data).status_code == 302
    with app.app_context():
        user = db.session.get(User, target)
        # the outlet a sub-branch manager does not have is dropped, not refused
        assert (user.role, user.sub_branch_id, user.outlet_id) == (
            "sub_branch_manager",
            world.sub_branch_ids[0],
            None,
        )
    record = last_audit(app)
    assert record.action == "account.changed" and "sub_branch_manager" in record.changes
    # a changed role starts afresh: the old session is gone
    assert manager.get("/branch/inspections").status_code == 302
    # a new display name alone keeps the sessions
    again = login("outlet_manager3")
    data["display_name"] = "East again"
    assert admin.post(f"{ORG}/accounts/{target}", data).status_code == 302
    assert again.get("/branch/inspections").status_code == 200


def test_an_inspector_with_assignments_keeps_an_inspecting_role(login, world, app):
    admin = login("admin")
    before = snapshot(app)
    data = {"display_name": "X", "role": "admin"}
    response = admin.post(f"{ORG}/accounts/{world.users['inspector']}", data)
    assert response.status_code == 409
    assert "inspector has 3 assignments as an inspector" in text(response)
    assert snapshot(app) == before


def test_head_office_cannot_disable_or_demote_themselves(login, world, app):
    admin = login("admin")
    me = world.users["admin"]
    before = snapshot(app)
    response = admin.post(f"{ORG}/accounts/{me}/disable")
    assert response.status_code == 409 and "You cannot disable your own account" in text(response)
    response = admin.post(f"{ORG}/accounts/{me}", {"display_name": "Me", "role": "bank_checker"})
    assert response.status_code == 409 and "You cannot disable your own account" in text(response)
    assert snapshot(app) == before
    assert admin.get(f"{ORG}/accounts").status_code == 200  # still head office


def test_the_last_active_head_office_account_stays(login, world, app):
    admin = login("admin")
    admin.post(
        f"{ORG}/accounts",
        {
            "username": "boss2",
            "display_name": "B",
            "role": "admin",
            "password": "second in command",
        },
    )
    second = Client(app)
    assert second.login("boss2", "second in command").status_code == 302
    # boss2 disables admin: allowed, boss2 remains
    assert second.post(f"{ORG}/accounts/{world.users['admin']}/disable").status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).where(User.role == Role.ADMIN, User.active.is_(True))
            )
            == 1
        )
    before = snapshot(app)
    response = second.post(
        f"{ORG}/accounts/{user_id(app, 'boss2')}",
        {"display_name": "B", "role": "inspector", "agency_id": str(agency_id(app))},
    )
    assert response.status_code == 409
    assert snapshot(app) == before
    # the service itself keeps the last one whoever asks (two head-office users at once)
    with app.app_context():
        s = db.session
        last = s.get(User, user_id(app, "boss2"))
        other = s.get(User, world.users["admin"])
        with pytest.raises(Refused) as refused:
            accounts.disable(s, other, last)
        assert refused.value.code == "account_last_admin"
        data = accounts.AccountData("boss2", "B", Role.BANK_CHECKER)
        with pytest.raises(Refused) as refused:
            accounts.update(s, other, last, data)
        assert refused.value.code == "account_last_admin"
        s.rollback()
