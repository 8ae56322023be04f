"""CSV import: dry run first (changes nothing), then exactly that; a file with any bad row
imports nothing and names every bad row; encodings; size limits; re-import is unchanged."""

import io
import re

from sqlalchemy import select

from shopper.auth.models import User
from shopper.extensions import db
from shopper.org import imports
from shopper.org.models import Outlet, SubBranch
from tests.conftest import Client
from tests.org.helpers import last_audit, snapshot, text

ORG = "/office/organisation"
DIGEST = re.compile(r'name="digest" value="([0-9a-f]{64})"')
SHA = re.compile(r'name="sha256" value="([0-9a-f]{64})"')
SECRET = re.compile(r'<code class="secret">([^<]+)</code>')

OUTLETS = (
    "code,name,sub_branch,address,timezone,language,latitude,longitude,features\r\n"
    "O1,Outlet One,SB1,1 East Road,Asia/Shanghai,zh_CN,31.2,121.4,vip_room cash_counter\r\n"
    "O7,Outlet Seven,SB2,7 West Road,Asia/Hong_Kong,en,,,vip_room\r\n"
    "O8,人民路网点,SB2,人民路8号,,,,,\r\n"
)


def upload(client, kind: str, content: bytes | str, name: str = "org.csv"):
    raw = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(
        f"{ORG}/import",
        {"kind": kind, "file": (io.BytesIO(raw), name)},
        content_type="multipart/form-data",
    )


def apply(client, kind: str, page: str):
    data = {
        "kind": kind,
        "sha256": SHA.search(page).group(1),
        "digest": DIGEST.search(page).group(1),
    }
    return client.post(f"{ORG}/import/apply", data)


def test_a_dry_run_shows_what_would_change_and_changes_nothing(login, world, app):
    admin = login("admin")
    before = snapshot(app)
    response = upload(admin, "outlets", OUTLETS)
    page = text(response)
    assert response.status_code == 200
    assert "Would be created" in page and "O7" in page and "O8" in page
    # O1 exists: its changes, old → new
    assert "<del>∅</del> → <ins>1 East Road</ins>" in page
    assert "<del>SB1</del>" not in page  # its sub-branch stays
    assert "Import: apply exactly these changes" in page
    assert snapshot(app) == before


def test_import_applies_exactly_the_dry_run_and_a_reimport_is_unchanged(login, world, app):
    admin = login("admin")
    page = text(upload(admin, "outlets", OUTLETS))
    response = apply(admin, "outlets", page)
    assert response.status_code == 200, text(response)
    assert "Outlets: 2 created, 1 changed, 0 unchanged." in text(response)
    with app.app_context():
        o7 = db.session.scalars(select(Outlet).where(Outlet.code == "O7")).one()
        assert (o7.timezone, o7.language, o7.feature_codes) == (
            "Asia/Hong_Kong",
            "en",
            {"vip_room"},
        )
        o8 = db.session.scalars(select(Outlet).where(Outlet.code == "O8")).one()
        assert (o8.name, o8.timezone, o8.language, o8.latitude) == (
            "人民路网点",
            "Asia/Shanghai",
            "zh_CN",
            None,
        )
        o1 = db.session.scalars(select(Outlet).where(Outlet.code == "O1")).one()
        assert o1.address == "1 East Road" and o1.feature_codes == {"vip_room", "cash_counter"}
    assert last_audit(app).action == "organisation.imported"
    again = upload(admin, "outlets", OUTLETS)
    assert again.status_code == 200
    page = text(again)
    assert "Everything in the file is already so: there is nothing to import." in page
    assert "Import: apply exactly these changes" not in page


def test_one_bad_row_among_good_ones_imports_nothing_and_names_each_row(login, world, app):
    admin = login("admin")
    before = snapshot(app)
    content = (
        "code,name,sub_branch,timezone,latitude,longitude\n"
        "O7,Good,SB2,,,\n"
        "O8,Bad zone,SB2,Moon/Base,,\n"
        "O9,Good too,SB1,,,\n"
        "O10,Half a place,SB9,,31.2,\n"
        "O7,Again,SB2,,,\n"
    )
    response = upload(admin, "outlets", content)
    page = text(response)
    assert response.status_code == 400
    assert "Nothing was imported: 4 problems." in page
    assert re.search(r">3</td><td><code>timezone</code></td><td>Moon/Base is not a time zone", page)
    assert re.search(
        r">5</td><td><code>sub_branch</code></td><td>There is no sub-branch with the code SB9", page
    )
    assert re.search(
        r">5</td><td><code>longitude</code></td><td>Give both the latitude and the longitude", page
    )
    assert re.search(
        r">6</td><td><code>code</code></td><td>O7 already appears on line 2 of this file", page
    )
    assert "Import: apply" not in page
    assert snapshot(app) == before


def test_an_unknown_or_missing_column_is_named(login, world, app):
    admin = login("admin")
    response = upload(admin, "sub_branches", "code,title\nSB3,North\n")
    page = text(response)
    assert response.status_code == 400
    assert "title is not a column of this kind of file. The columns are: code, name." in page
    assert "The header row lacks the column name." in page


def test_utf8_with_bom_and_gb18030_from_excel_are_read(login, world, app):
    admin = login("admin")
    content = "code,name\r\nSB3,城北支行\r\n"
    response = upload(admin, "sub_branches", b"\xef\xbb\xbf" + content.encode("utf-8"))
    assert (
        response.status_code == 200
        and "read as UTF-8" in text(response)
        and "城北支行" in text(response)
    )
    response = upload(admin, "sub_branches", content.encode("gb18030"))
    page = text(response)
    assert response.status_code == 200 and "read as GB18030" in page and "城北支行" in page
    assert apply(admin, "sub_branches", page).status_code == 200
    with app.app_context():
        assert (
            db.session.scalars(select(SubBranch.name).where(SubBranch.code == "SB3")).one()
            == "城北支行"
        )


def test_utf16_and_binary_files_are_refused_with_a_sentence(login, world, app):
    admin = login("admin")
    before = snapshot(app)
    response = upload(admin, "agencies", "name\nX\n".encode("utf-16"))
    assert response.status_code == 400 and "UTF-16" in text(response)
    response = upload(admin, "agencies", b"name\n\x00\x01\n")
    assert response.status_code == 400 and "NUL bytes" in text(response)
    assert snapshot(app) == before


def test_a_file_too_large_or_too_long_is_refused(login, world, app, monkeypatch):
    admin = login("admin")
    before = snapshot(app)
    big = "name\n" + "".join(f"Agency {n:07d}\n" for n in range(200_000))
    assert len(big) > imports.MAX_BYTES
    response = upload(admin, "agencies", big)
    assert response.status_code == 400
    assert "The file is too large: an import may be at most 2 MB." in text(response)
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    response = upload(admin, "agencies", "name\nA\nB\nC\nD\n")
    assert response.status_code == 400 and "The file has more than 3 rows." in text(response)
    assert snapshot(app) == before


def test_a_change_after_the_dry_run_is_shown_again_not_applied(login, world, app):
    admin = login("admin")
    page = text(upload(admin, "sub_branches", "code,name\nSB1,East renamed\n"))
    with app.app_context():  # someone renames SB1 meanwhile
        db.session.scalars(
            select(SubBranch).where(SubBranch.code == "SB1")
        ).one().name = "Elsewhere"
        db.session.commit()
    before = snapshot(app)
    response = apply(admin, "sub_branches", page)
    assert response.status_code == 409
    assert "The organisation changed since the dry run" in text(response)
    assert "<del>Elsewhere</del>" in text(response)
    assert snapshot(app) == before
    assert apply(admin, "sub_branches", text(response)).status_code == 200
    with app.app_context():
        assert (
            db.session.scalars(select(SubBranch.name).where(SubBranch.code == "SB1")).one()
            == "East renamed"
        )


def test_an_expired_or_forged_dry_run_is_refused(login, world, app):
    admin = login("admin")
    data = {"kind": "agencies", "sha256": "a" * 64, "digest": "b" * 64}
    response = admin.post(f"{ORG}/import/apply", data)
    assert response.status_code == 409 and "no longer available" in text(response)
    data["sha256"] = "../../x"
    assert admin.post(f"{ORG}/import/apply", data).status_code == 400


def test_imported_accounts_get_one_time_passwords_that_sign_in(login, world, app):
    admin = login("admin")
    content = (
        "username,display_name,role,agency,outlet,sub_branch,active\n"
        "wang.fang,王芳,inspector,Agency,,,yes\n"
        "checker.sb2,West checker,bank_checker,,,SB2,\n"
        "outlet_manager3,Renamed manager,outlet_manager,,O3,,\n"
    )
    page = text(upload(admin, "accounts", content))
    assert "Each new account gets a generated password" in page
    response = apply(admin, "accounts", page)
    page = text(response)
    assert response.status_code == 200
    assert "Accounts: 2 created, 1 changed, 0 unchanged." in page
    passwords = SECRET.findall(page)
    assert len(passwords) == 2 and 'download="new-accounts-passwords.csv"' in page
    assert Client(app).login("wang.fang", passwords[0]).status_code == 302
    with app.app_context():
        manager = db.session.scalars(select(User).where(User.username == "outlet_manager3")).one()
        assert manager.display_name == "Renamed manager"
        checker = db.session.scalars(select(User).where(User.username == "checker.sb2")).one()
        assert checker.sub_branch_id == world.sub_branch_ids[1]
    assert Client(app).login("outlet_manager3").status_code == 302  # its password stays


def test_bad_account_rows_and_own_demotion_are_named(login, world, app):
    admin = login("admin")
    before = snapshot(app)
    content = (
        "username,display_name,role,agency,outlet,sub_branch\n"
        "admin,Me,bank_checker,,,\n"
        "x y,Bad name,admin,,,\n"
        "new.one,New,inspector,,,\n"
        "new.two,New,outlet_manager,,O99,\n"
        "new.three,New,admin,Agency,,\n"
    )
    response = upload(admin, "accounts", content)
    page = text(response)
    assert response.status_code == 400
    assert re.search(
        r">2</td><td><code>role</code></td><td>You cannot disable your own account", page
    )
    assert re.search(r">3</td><td><code>username</code></td><td>A username is 1 to 80", page)
    assert re.search(
        r">4</td><td><code>agency</code></td><td>An inspector belongs to an agency", page
    )
    assert re.search(
        r">5</td><td><code>outlet</code></td><td>There is no outlet with the code O99", page
    )
    assert re.search(
        r">6</td><td><code>agency</code></td><td>Only an inspector belongs to an agency", page
    )
    assert snapshot(app) == before


def test_the_example_files_import_cleanly(login, world, app):
    admin = login("admin")
    for kind in ("sub_branches", "agencies", "outlets", "accounts"):
        example = admin.get(f"{ORG}/import/{kind}.csv")
        assert example.status_code == 200 and example.mimetype == "text/csv"
        response = upload(admin, kind, example.data)
        assert response.status_code == 200, (kind, text(response))
        assert apply(admin, kind, text(response)).status_code == 200
