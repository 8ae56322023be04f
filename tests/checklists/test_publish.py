import shutil
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from shopper.checklists.models import ChecklistVersion
from shopper.checklists.service import load_directory
from shopper.core.checklist import ChecklistInvalid
from shopper.extensions import db
from shopper.inspections.models import Inspection
from shopper.org.features import ensure_defaults
from tests.factories import answer, answer_all, items, start, submit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def checklist_dir(tmp_path, app):
    with app.app_context():
        ensure_defaults(db.session)
        db.session.commit()
    target = tmp_path / "checklists"
    shutil.copytree(ROOT / "checklists", target)
    return target


def versions(session):
    return session.scalar(select(func.count()).select_from(ChecklistVersion))


def test_loading_publishes_one_version_per_file_and_reloading_does_nothing(session, checklist_dir):
    first = load_directory(session, checklist_dir)
    assert [p.created for p in first] == [True, True, True]
    again = load_directory(session, checklist_dir)
    assert [p.created for p in again] == [False, False, False]
    assert versions(session) == 3
    assert all(len(p.version.sha256) == 64 for p in again)


def test_a_changed_file_becomes_a_new_version(session, checklist_dir):
    load_directory(session, checklist_dir)
    path = checklist_dir / "six_s.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("points: 3", "points: 4", 1), encoding="utf-8"
    )
    result = {p.version.code: p for p in load_directory(session, checklist_dir)}
    assert result["six_s"].created and result["six_s"].version.version == 2
    assert not result["teller_seven_steps"].created


def test_a_file_reverted_to_older_content_becomes_the_newest_version(session, checklist_dir):
    path = checklist_dir / "six_s.yaml"
    original = path.read_text(encoding="utf-8")
    first = {p.version.code: p.version for p in load_directory(session, checklist_dir)}["six_s"]
    path.write_text(original.replace("points: 3", "points: 4", 1), encoding="utf-8")
    load_directory(session, checklist_dir)
    path.write_text(original, encoding="utf-8")
    reverted = {p.version.code: p for p in load_directory(session, checklist_dir)}["six_s"]
    assert reverted.created and reverted.version.version == 3
    assert reverted.version.sha256 == first.sha256


def test_one_bad_file_publishes_nothing(session, checklist_dir):
    path = checklist_dir / "teller_seven_steps.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("code: T7-GREET-01", "code: T7-GREET-02", 1), encoding="utf-8")
    with pytest.raises(ChecklistInvalid) as exc:
        load_directory(session, checklist_dir)
    assert "teller_seven_steps.yaml: item T7-GREET-02: duplicate item code" in str(exc.value)
    assert versions(session) == 0


def test_the_cli_refuses_a_bad_file_with_file_item_and_reason(app, checklist_dir):
    (checklist_dir / "five_courtesies.yaml").write_text(
        "code: five_courtesies\ntitle: {zh: 五声}\nsections:\n  - code: a\n    title: {zh: 甲}\n    items:\n"
        "      - {code: C5-X-01, text: {zh: 问候}, guidance: {zh: 看}, points: -1}\n",
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["load-checklists", str(checklist_dir)])
    assert result.exit_code == 1
    assert "five_courtesies.yaml: item C5-X-01: points must be positive" in result.output
    with app.app_context():
        assert versions(db.session) == 0


def test_an_old_inspection_keeps_its_version_wording_and_score(login, world, app, checklist_dir):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, iid)
    version, code, item = items(app, iid)[0]
    assert submit(c, iid).status_code == 302
    old_text = item.text.en
    path = checklist_dir / "six_s.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(old_text, "REWORDED ITEM", 1), encoding="utf-8"
    )
    with app.app_context():
        load_directory(db.session, checklist_dir)
        db.session.commit()
        assert versions(db.session) == 4
    admin = login("admin")
    page = admin.get(f"/inspections/{iid}").get_data(as_text=True)
    assert str(escape(old_text)) in page and "REWORDED ITEM" not in page
    # a new inspection uses the new version
    fresh = start(c, world.assignment_ids["inspector"][1])
    assert items(app, fresh)[0][2].text.en == "REWORDED ITEM"
    answer(c, fresh, items(app, fresh)[0][0], code, "pass")
    with app.app_context():
        assert db.session.get(Inspection, iid).score == 100
