from copy import deepcopy
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from shopper.checklists.service import read_file
from shopper.core import checklist as core

ROOT = Path(__file__).resolve().parents[2]

VALID = {
    "code": "demo",
    "title": {"zh": "示例", "en": "Demo"},
    "sections": [
        {
            "code": "one",
            "title": {"zh": "一"},
            "items": [
                {"code": "D-01", "text": {"zh": "甲"}, "guidance": {"zh": "乙"}, "points": 2},
                {
                    "code": "D-02",
                    "text": {"zh": "丙", "en": "C"},
                    "guidance": {"zh": "丁"},
                    "points": 1.5,
                    "red_line": True,
                    "na_allowed": True,
                    "photo_required_on_fail": True,
                },
            ],
        }
    ],
}


def with_item(**changes):
    data = deepcopy(VALID)
    data["sections"][0]["items"][0].update(changes)
    return data


def problems(data) -> list[str]:
    with pytest.raises(core.ChecklistInvalid) as exc:
        core.parse(data, "demo.yaml")
    return [str(p) for p in exc.value.problems]


def test_a_valid_checklist_parses_with_defaults():
    checklist = core.parse(VALID, "demo.yaml")
    assert [i.code for i in checklist.items] == ["D-01", "D-02"]
    assert checklist.total_points == Decimal("3.5")
    first, second = checklist.items
    assert (first.red_line, first.na_allowed, first.photo_required_on_fail) == (False, False, False)
    assert second.red_line and second.na_allowed and second.photo_required_on_fail


def test_duplicate_item_code_is_refused_naming_file_and_item():
    data = deepcopy(VALID)
    data["sections"][0]["items"][1]["code"] = "D-01"
    assert "demo.yaml: item D-01: duplicate item code" in problems(data)


@pytest.mark.parametrize("points", [0, -1, "abc", None, True, 1.25])
def test_points_must_be_positive_numbers_with_one_decimal(points):
    found = problems(with_item(points=points))
    assert any(p.startswith("demo.yaml: item D-01: points") for p in found), found


def test_unknown_key_is_refused():
    assert "demo.yaml: item D-01: unknown key 'weight'" in problems(with_item(weight=3))


def test_missing_text_is_refused():
    data = deepcopy(VALID)
    del data["sections"][0]["items"][0]["text"]
    assert "demo.yaml: item D-01: missing 'text'" in problems(data)


def test_missing_chinese_text_is_refused():
    assert "demo.yaml: item D-01: missing text.zh (Chinese text)" in problems(
        with_item(text={"en": "only English"})
    )


def test_every_problem_is_reported_at_once():
    data = with_item(points=0, colour="red")
    data["sections"][0]["items"][1]["code"] = "bad code"
    assert len(problems(data)) == 3


def test_canonical_form_ignores_key_order_and_whitespace():
    reordered = deepcopy(VALID)
    reordered["sections"][0]["items"][0] = {
        "points": 2.0,
        "guidance": {"zh": " 乙 "},
        "text": {"zh": "甲"},
        "code": "D-01",
        "red_line": False,
    }
    a, b = core.parse(VALID), core.parse(reordered)
    assert core.canonical_json(a) == core.canonical_json(b)
    assert core.content_hash(a) == core.content_hash(b)


def test_any_change_of_content_changes_the_hash():
    base = core.content_hash(core.parse(VALID))
    assert core.content_hash(core.parse(with_item(points=3))) != base
    assert core.content_hash(core.parse(with_item(text={"zh": "甲!"}))) != base
    assert core.content_hash(core.parse(with_item(red_line=True))) != base


def test_stored_form_round_trips():
    checklist = core.parse(VALID)
    assert core.from_canonical(core.canonical_json(checklist)) == checklist


def test_points_of_ten_or_more_survive_the_canonical_form():
    checklist = core.parse(with_item(points=10))
    assert core.from_canonical(core.canonical_json(checklist)).items[0].points == 10


@pytest.mark.parametrize("name", ["six_s", "teller_seven_steps", "five_courtesies"])
def test_shipped_checklists_are_valid(name):
    checklist = read_file(ROOT / "checklists" / f"{name}.yaml")
    assert checklist.code == name
    assert all(item.text.en and item.guidance.en for item in checklist.items)


def test_shipped_checklists_make_a_full_inspection_of_100_points():
    lists = [read_file(p) for p in sorted((ROOT / "checklists").glob("*.yaml"))]
    items = [i for c in lists for i in c.items]
    assert 40 <= len(items) <= 60
    assert sum(i.points for i in items) == 100
    assert any(i.red_line for i in items)


def test_a_file_whose_code_differs_from_its_name_is_refused(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(VALID, allow_unicode=True), encoding="utf-8")
    with pytest.raises(core.ChecklistInvalid, match="must equal the file name"):
        read_file(path)


def test_broken_yaml_is_refused_with_the_file_name(tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text("code: [unclosed", encoding="utf-8")
    with pytest.raises(core.ChecklistInvalid, match="demo.yaml: file"):
        read_file(path)


def test_item_codes_longer_than_the_database_column_are_refused():
    found = problems(with_item(code="X-" + "A" * 40))
    assert any("must be 1-40" in p for p in found), found
