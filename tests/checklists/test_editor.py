"""Head office's checklist editor: drafts saved as typed, problems per field, publish,
versions side by side, import and export, the printable PDF, withdrawing a version."""

import io
import json
import re
import subprocess

import yaml
from sqlalchemy import func, select

from shopper.checklists.models import ChecklistDraft, ChecklistVersion
from shopper.checklists.service import export_yaml
from shopper.extensions import db
from tests.factories import start

TELLER = "teller_seven_steps"


def start_draft(c, code=TELLER):
    response = c.post("/office/checklists/drafts", {"code": code})
    assert response.status_code == 302, response.get_data(as_text=True)
    draft_id = int(response.headers["Location"].rsplit("/", 1)[1])
    return draft_id


def draft_of(app, draft_id):
    with app.app_context():
        draft = db.session.get(ChecklistDraft, draft_id)
        return draft.revision, json.loads(draft.data)


def put(c, draft_id, revision, data):
    return c.http.put(
        f"/office/checklists/drafts/{draft_id}",
        json={"revision": revision, "data": data},
        headers={"X-CSRFToken": c.csrf, "Accept": "application/json"},
    )


def count_versions(app, code=TELLER):
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(ChecklistVersion).where(ChecklistVersion.code == code)
        )


def test_a_draft_starts_from_the_latest_version_and_reopens_rather_than_forking(login, world):
    c = login("admin")
    first = start_draft(c)
    assert start_draft(c) == first
    page = c.get(f"/office/checklists/drafts/{first}").get_data(as_text=True)
    assert 'id="editor-state"' in page and "T7-GREET-01" in page


def test_saving_reports_each_problem_with_its_field_in_the_users_language(login, world, app):
    c = login("admin")
    draft_id = start_draft(c)
    revision, data = draft_of(app, draft_id)
    data["sections"][0]["items"][0]["points"] = -2
    data["sections"][1]["title"]["zh"] = " "
    response = put(c, draft_id, revision, data)
    assert response.status_code == 200
    body = response.get_json()
    assert body["revision"] == revision + 1
    paths = {p["path"]: p["message"] for p in body["problems"]}
    assert paths["sections.0.items.0.points"] == "points must be positive"
    assert "sections.1.title.zh" in paths
    zh = login("admin")
    zh.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    page = zh.get(f"/office/checklists/drafts/{draft_id}").get_data(as_text=True)
    state = json.loads(re.search(r'id="editor-state">(.*?)</script>', page, re.S).group(1))
    messages = {p["path"]: p["message"] for p in state["problems"]}
    assert messages["sections.0.items.0.points"] == "分值必须为正数"


def test_a_stale_revision_is_refused_and_changes_nothing(login, world, app):
    c = login("admin")
    draft_id = start_draft(c)
    revision, data = draft_of(app, draft_id)
    assert put(c, draft_id, revision, data).status_code == 200
    data["title"]["zh"] = "另一个标签页"
    response = put(c, draft_id, revision, data)  # the other tab's older revision
    assert response.status_code == 409
    assert "another tab" in response.get_json()["error"]
    assert draft_of(app, draft_id)[1]["title"]["zh"] != "另一个标签页"


def test_bad_draft_bodies_are_refused_with_a_sentence(login, world, app):
    c = login("admin")
    draft_id = start_draft(c)
    revision, _data = draft_of(app, draft_id)
    for body in ({"revision": "x", "data": {}}, {"revision": revision, "data": [1]}, [1]):
        response = c.http.put(
            f"/office/checklists/drafts/{draft_id}",
            json=body,
            headers={"X-CSRFToken": c.csrf, "Accept": "application/json"},
        )
        assert response.status_code == 400 and response.get_json()["error"]
    big = {"title": {"zh": "x" * 1_100_000}}
    assert put(c, draft_id, revision, big).status_code == 413
    assert draft_of(app, draft_id)[0] == revision
    response = c.http.put(
        f"/office/checklists/drafts/{draft_id}", json={"revision": revision, "data": {}}
    )
    assert response.status_code == 400  # no CSRF token


def test_publishing_an_invalid_draft_is_refused_and_publishes_nothing(login, world, app):
    c = login("admin")
    draft_id = start_draft(c)
    revision, data = draft_of(app, draft_id)
    data["sections"][0]["items"][0]["code"] = data["sections"][0]["items"][1]["code"]
    put(c, draft_id, revision, data)
    before = count_versions(app)
    response = c.post(f"/office/checklists/drafts/{draft_id}/publish", {})
    assert response.status_code == 422
    assert "cannot be published" in response.get_data(as_text=True)
    assert count_versions(app) == before
    unchanged = start_draft(c, "six_s")
    assert c.post(f"/office/checklists/drafts/{unchanged}/publish", {}).status_code == 409


def test_publish_makes_the_next_version_with_the_files_hash_and_the_diff_shows_it(
    login, world, app
):
    c = login("admin")
    draft_id = start_draft(c)
    revision, data = draft_of(app, draft_id)
    item = data["sections"][0]["items"][0]
    item["points"] = 3
    item["text"]["zh"] = item["text"]["zh"] + "并主动问候"
    data["sections"][0]["items"].append(
        {
            "code": "T7-GREET-99",
            "text": {"zh": "新增检查项", "en": "A new item"},
            "guidance": {"zh": "通过：有；不通过：无。"},
            "points": 1,
            "red_line": False,
            "na_allowed": True,
            "photo_required_on_fail": False,
            "features": ["queue_machine"],
        }
    )
    assert put(c, draft_id, revision, data).get_json()["problems"] == []
    before = count_versions(app)
    response = c.post(f"/office/checklists/drafts/{draft_id}/publish", {})
    assert response.status_code == 302
    assert count_versions(app) == before + 1
    with app.app_context():
        assert db.session.get(ChecklistDraft, draft_id) is None
        newest = db.session.scalar(
            select(ChecklistVersion)
            .where(ChecklistVersion.code == TELLER)
            .order_by(ChecklistVersion.version.desc())
        )
        from shopper.core import checklist as core

        assert newest.sha256 == core.content_hash(core.parse(data))
    diff = c.get(response.headers["Location"]).get_data(as_text=True)
    assert "T7-GREET-99" in diff and "并主动问候" in diff


def test_export_then_import_is_byte_identical_and_publishes_nothing_new(login, world, app):
    c = login("admin")
    exported = c.get(f"/office/checklists/{TELLER}/v1.yaml")
    assert exported.status_code == 200
    before = count_versions(app)
    response = c.post(
        "/office/checklists/import",
        {"file": (io.BytesIO(exported.data), "teller.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert count_versions(app) == before
    assert c.get(f"/office/checklists/{TELLER}/v1.yaml").data == exported.data
    with app.app_context():
        version = db.session.scalar(select(ChecklistVersion).where(ChecklistVersion.code == TELLER))
        assert export_yaml(version).encode() == exported.data


def test_an_import_with_any_problem_imports_nothing(login, world, app):
    c = login("admin")
    text = c.get(f"/office/checklists/{TELLER}/v1.yaml").get_data(as_text=True)
    data = yaml.safe_load(text)
    data["sections"][0]["items"][0]["points"] = 0
    data["sections"][0]["items"][1]["features"] = ["no_such_feature"]
    before = count_versions(app)
    for body in (yaml.safe_dump(data, allow_unicode=True).encode(), b"\xff\xfe", b"a: [1"):
        response = c.post(
            "/office/checklists/import",
            {"file": (io.BytesIO(body), "bad.yaml")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 422, body
        assert "Nothing was imported" in response.get_data(as_text=True)
    assert count_versions(app) == before
    page = response.get_data(as_text=True)
    assert "YAML" in page


def test_the_printable_pdf_has_every_item_and_fetches_nothing(login, world, app, tmp_path):
    c = login("admin")
    response = c.get(f"/office/checklists/{TELLER}/v1.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    path = tmp_path / "v1.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "T7-GREET-01" in text and "T7-BYE-03" in text


def test_a_version_in_use_cannot_be_withdrawn_and_an_unused_one_can(login, world, app):
    c = login("admin")
    inspector = login("inspector")
    start(inspector, world.assignment_ids["inspector"][0])
    response = c.post(f"/office/checklists/{TELLER}/v1/withdraw", {})
    assert response.status_code == 409
    assert "uses it" in response.get_data(as_text=True)
    draft_id = start_draft(c)
    revision, data = draft_of(app, draft_id)
    data["title"]["en"] = "Teller steps, reworded"
    put(c, draft_id, revision, data)
    assert c.post(f"/office/checklists/drafts/{draft_id}/publish", {}).status_code == 302
    v2 = count_versions(app)
    draft_id = start_draft(c)
    revision, data = draft_of(app, draft_id)
    data["title"]["en"] = "Teller steps, third"
    put(c, draft_id, revision, data)
    c.post(f"/office/checklists/drafts/{draft_id}/publish", {})
    assert c.post(f"/office/checklists/{TELLER}/v{v2}/withdraw", {}).status_code == 302
    assert c.post(f"/office/checklists/{TELLER}/v{v2}/withdraw", {}).status_code == 409
    index = c.get("/office/checklists/").get_data(as_text=True)
    assert f"v{v2}<" not in index


def test_a_removed_items_code_cannot_come_back_for_a_different_item(login, world, app):
    c = login("admin")
    draft_id = start_draft(c)
    revision, data = draft_of(app, draft_id)
    removed = data["sections"][0]["items"].pop()
    put(c, draft_id, revision, data)
    assert c.post(f"/office/checklists/drafts/{draft_id}/publish", {}).status_code == 302
    draft_id = start_draft(c)
    revision, data = draft_of(app, draft_id)
    data["sections"][0]["items"].append({**removed, "text": {"zh": "完全不同的检查项"}})
    problems = put(c, draft_id, revision + 0, data).get_json()["problems"]
    assert any("removed earlier" in p["message"] for p in problems)
    data["sections"][0]["items"][-1] = removed  # the same item back: allowed
    assert put(c, draft_id, revision + 1, data).get_json()["problems"] == []
