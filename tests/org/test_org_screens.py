"""Head office's sub-branches, outlets and agencies: lists, create, edit, and delete only
what nothing uses; every refusal a 4xx with its sentence that changes nothing."""

from decimal import Decimal

import pytest
from markupsafe import escape
from sqlalchemy import select

from shopper.extensions import db
from shopper.org.models import Agency, Outlet, SubBranch
from tests.org.helpers import last_audit, snapshot, text

ORG = "/office/organisation"


def outlet_form(world, **changes) -> dict:
    data = {
        "code": "O9",
        "name": "Outlet Nine",
        "sub_branch_id": str(world.sub_branch_ids[1]),
        "address": "1 Nanjing Road",
        "timezone": "Asia/Shanghai",
        "language": "en",
        "latitude": "31.230416",
        "longitude": "121.473701",
        "features": ["vip_room", "cash_counter"],
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_lists_show_sort_and_filter(login, world):
    admin = login("admin")
    page = text(admin.get(f"{ORG}/sub-branches"))
    assert "SB1" in page and "West" in page and 'aria-sort="ascending"' in page
    page = text(admin.get(f"{ORG}/sub-branches?sort=code&dir=desc"))
    assert page.index(">SB2<") < page.index(">SB1<")
    page = text(admin.get(f"{ORG}/outlets?q=three"))
    assert "Outlet Three" in page and "Outlet One" not in page and "1 of 3 rows match" in page
    page = text(admin.get(f"{ORG}/outlets?sub_branch=SB1&sort=name"))
    assert page.index("Outlet One") < page.index("Outlet Two") and "Outlet Three" not in page
    assert "Agency" in text(admin.get(f"{ORG}/agencies"))
    assert admin.get(ORG).status_code == 302


def test_head_office_creates_and_edits_a_sub_branch(login, world, app):
    admin = login("admin")
    assert admin.post(f"{ORG}/sub-branches", {"code": "SB3", "name": "North"}).status_code == 302
    with app.app_context():
        sb = db.session.scalars(select(SubBranch).where(SubBranch.code == "SB3")).one()
        sb_id = sb.id
    assert last_audit(app).action == "sub_branch.created"
    assert "SB3" in text(admin.get(f"{ORG}/sub-branches"))
    response = admin.post(f"{ORG}/sub-branches/{sb_id}", {"code": "SB3", "name": "North-East"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(SubBranch, sb_id).name == "North-East"
    record = last_audit(app)
    assert record.action == "sub_branch.changed" and "North-East" in record.changes


@pytest.mark.parametrize(
    ("data", "status", "sentence"),
    [
        ({"code": "", "name": "X"}, 400, "Give a code."),
        ({"code": "S B", "name": "X"}, 400, "A code is 1 to 40 letters"),
        ({"code": "SB9", "name": " "}, 400, "Give a name."),
        ({"code": "SB9", "name": "x" * 201}, 400, "at most 200 characters"),
        ({"code": "sb2", "name": "Copy"}, 409, "There is already a sub-branch with the code sb2."),
    ],
)
def test_a_bad_sub_branch_is_refused_with_its_sentence(login, world, app, data, status, sentence):
    admin = login("admin")
    before = snapshot(app)
    response = admin.post(f"{ORG}/sub-branches", data)
    assert response.status_code == status
    assert str(escape(sentence)) in text(response)
    assert snapshot(app) == before


def test_head_office_creates_and_edits_an_outlet(login, world, app):
    admin = login("admin")
    assert admin.post(f"{ORG}/outlets", outlet_form(world)).status_code == 302
    with app.app_context():
        outlet = db.session.scalars(select(Outlet).where(Outlet.code == "O9")).one()
        assert outlet.sub_branch_id == world.sub_branch_ids[1]
        assert (outlet.address, outlet.timezone, outlet.language) == (
            "1 Nanjing Road",
            "Asia/Shanghai",
            "en",
        )
        assert outlet.latitude == Decimal("31.230416") and outlet.longitude == Decimal("121.473701")
        assert outlet.feature_codes == {"vip_room", "cash_counter"}
        outlet_id = outlet.id
    form = outlet_form(
        world, timezone="Asia/Hong_Kong", latitude="", longitude="", features=["vip_room"]
    )
    assert admin.post(f"{ORG}/outlets/{outlet_id}", form).status_code == 302
    with app.app_context():
        outlet = db.session.get(Outlet, outlet_id)
        assert outlet.timezone == "Asia/Hong_Kong" and outlet.latitude is None
        assert outlet.feature_codes == {"vip_room"}
    record = last_audit(app)
    assert record.action == "outlet.changed" and "Asia/Hong_Kong" in record.changes
    page = text(admin.get(f"{ORG}/outlets/{outlet_id}"))
    assert 'value="Asia/Hong_Kong"' in page and 'value="vip_room" checked' in page


@pytest.mark.parametrize(
    ("changes", "status", "sentence"),
    [
        ({"timezone": "Mars/Olympus"}, 400, "Mars/Olympus is not a time zone."),
        ({"timezone": "../../etc/passwd"}, 400, "is not a time zone"),
        ({"language": "fr"}, 400, "The language is zh_CN (Chinese) or en (English)."),
        ({"latitude": "91"}, 400, "The latitude is a number from -90 to 90"),
        ({"longitude": "east"}, 400, "The longitude is a number from -180 to 180"),
        ({"longitude": ""}, 400, "Give both the latitude and the longitude, or neither."),
        ({"latitude": "NaN"}, 400, "The latitude is a number"),
        ({"sub_branch_id": "999999"}, 400, "Choose the sub-branch the outlet belongs to."),
        (
            {"features": ["time_machine"]},
            400,
            "These features are not in head office's list: time_machine.",
        ),
        ({"code": "o1"}, 409, "There is already an outlet with the code o1."),
        ({"address": "x" * 301}, 400, "at most 300 characters"),
    ],
)
def test_a_bad_outlet_is_refused_with_its_sentence(login, world, app, changes, status, sentence):
    admin = login("admin")
    before = snapshot(app)
    response = admin.post(f"{ORG}/outlets", outlet_form(world, **changes))
    assert response.status_code == status
    assert str(escape(sentence)) in text(response)
    assert 'value="Outlet Nine"' in text(response)  # what was typed comes back
    assert snapshot(app) == before


def test_editing_another_outlet_to_a_taken_code_changes_nothing(login, world, app):
    admin = login("admin")
    before = snapshot(app)
    response = admin.post(f"{ORG}/outlets/{world.outlet_ids[1]}", outlet_form(world, code="O1"))
    assert response.status_code == 409 and "There is already an outlet with the code O1." in text(
        response
    )
    assert snapshot(app) == before


def test_what_nothing_uses_is_deleted_and_what_is_used_stays_with_a_sentence(login, world, app):
    admin = login("admin")
    before = snapshot(app)
    response = admin.post(f"{ORG}/sub-branches/{world.sub_branch_ids[0]}/delete")
    assert response.status_code == 409
    # its sub-branch manager and its bank checker
    assert "Sub-branch SB1 cannot be deleted: 2 outlets, 2 accounts." in text(response)
    response = admin.post(f"{ORG}/outlets/{world.outlet_ids[0]}/delete")
    assert response.status_code == 409
    assert "Outlet O1 cannot be deleted: 1 account, 2 assignments." in text(response)
    with app.app_context():
        agency_id = db.session.scalars(select(Agency.id)).one()
    response = admin.post(f"{ORG}/agencies/{agency_id}/delete")
    assert response.status_code == 409 and "Agency Agency cannot be deleted: 2 accounts." in text(
        response
    )
    assert snapshot(app) == before
    assert "In use: 2 outlets, 2 accounts." in text(
        admin.get(f"{ORG}/sub-branches/{world.sub_branch_ids[0]}")
    )

    admin.post(f"{ORG}/sub-branches", {"code": "SB3", "name": "Empty"})
    admin.post(f"{ORG}/outlets", outlet_form(world))
    with app.app_context():
        sb3 = db.session.scalars(select(SubBranch.id).where(SubBranch.code == "SB3")).one()
        o9 = db.session.scalars(select(Outlet.id).where(Outlet.code == "O9")).one()
    assert admin.post(f"{ORG}/outlets/{o9}/delete").status_code == 302
    assert admin.post(f"{ORG}/sub-branches/{sb3}/delete").status_code == 302
    assert last_audit(app).action == "sub_branch.deleted"
    with app.app_context():
        assert db.session.get(Outlet, o9) is None and db.session.get(SubBranch, sb3) is None


def test_head_office_creates_renames_and_deletes_an_agency(login, world, app):
    admin = login("admin")
    assert admin.post(f"{ORG}/agencies", {"name": "Clear Eye"}).status_code == 302
    response = admin.post(f"{ORG}/agencies", {"name": "clear eye"})
    assert response.status_code == 409 and "There is already an agency named clear eye." in text(
        response
    )
    with app.app_context():
        agency_id = db.session.scalars(select(Agency.id).where(Agency.name == "Clear Eye")).one()
    assert admin.post(f"{ORG}/agencies/{agency_id}", {"name": "Clear Eye Ltd"}).status_code == 302
    assert "Clear Eye Ltd" in text(admin.get(f"{ORG}/agencies"))
    assert admin.post(f"{ORG}/agencies/{agency_id}/delete").status_code == 302
    with app.app_context():
        assert db.session.get(Agency, agency_id) is None


def test_a_form_without_its_csrf_token_changes_nothing(login, world, app):
    admin = login("admin")
    before = snapshot(app)
    response = admin.post(f"{ORG}/sub-branches", {"code": "SB3", "name": "N"}, csrf=False)
    assert response.status_code == 400
    assert snapshot(app) == before


def test_an_unknown_record_is_not_found(login, world):
    admin = login("admin")
    assert admin.get(f"{ORG}/outlets/999999").status_code == 404
    assert admin.post(f"{ORG}/agencies/999999/delete").status_code == 404


def test_the_screens_speak_chinese_by_default(login, world):
    admin = login("admin")
    admin.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    response = admin.post(f"{ORG}/sub-branches", {"code": "", "name": "X"})
    assert response.status_code == 400
