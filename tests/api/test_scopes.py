"""A token reads what a web user of its scope reads, and nothing else: a sub-branch never
sees another's outlets, inspections or notices; an outlet only its own; other scopes than
head office never see an inspection before it is released. Out of scope is a 404."""

from __future__ import annotations

import pytest

from tests.api.helpers import api_get, walk


def _codes(app, url, secret, key="outlet_code"):
    return sorted(item[key] for item in walk(app, url, secret))


def test_head_office_reads_everything(app, data, tokens):
    secret = tokens["head_office"]
    assert _codes(app, "/api/v1/outlets", secret, "code") == ["O1", "O2", "O3"]
    ids = {i["id"] for i in walk(app, "/api/v1/inspections", secret)}
    assert ids == {*data.released.values(), data.submitted, data.draft}
    notices = {n["id"] for n in walk(app, "/api/v1/notices", secret)}
    assert notices == set(data.notices.values())


def test_a_sub_branch_token_never_sees_another_sub_branchs_outlets_inspections_or_notices(
    app, world, data, tokens
):
    sb1, sb2 = world.sub_branch_ids
    secret = tokens["sb1"]
    outlets = walk(app, "/api/v1/outlets", secret)
    assert sorted(o["code"] for o in outlets) == ["O1", "O2"]
    assert {o["sub_branch_id"] for o in outlets} == {sb1}
    inspections = walk(app, "/api/v1/inspections", secret)
    assert [i["id"] for i in inspections] == [data.released["O1"]]
    notices = walk(app, "/api/v1/notices", secret)
    assert sorted(n["number"] for n in notices) == ["ZG-2026Q4-00001", "ZGS-2026Q4-00001"]
    assert {n["sub_branch_id"] for n in notices} == {sb1}
    # asking for the other sub-branch by name finds nothing, as if it were empty
    for url in ("/api/v1/outlets", "/api/v1/inspections", "/api/v1/notices"):
        assert walk(app, url, secret, sub_branch=sb2) == []
    # and its objects do not exist
    for url in (
        f"/api/v1/inspections/{data.released['O3']}",
        f"/api/v1/notices/{data.notices['O3']}",
        f"/api/v1/notices/{data.notices['SB2']}",
    ):
        missing = api_get(app, url, secret)
        assert missing.status_code == 404, url
        assert missing.get_json()["code"] == "not_found"
    # the other sub-branch's token, the same the other way round
    other = walk(app, "/api/v1/inspections", tokens["sb2"])
    assert [i["id"] for i in other] == [data.released["O3"]]


def test_an_outlet_token_sees_its_own_outlet_only(app, world, data, tokens):
    secret = tokens["o1"]
    assert _codes(app, "/api/v1/outlets", secret, "code") == ["O1"]
    assert [i["id"] for i in walk(app, "/api/v1/inspections", secret)] == [data.released["O1"]]
    # its outlet's notice, not the sub-branch's report on all its outlets
    assert [n["id"] for n in walk(app, "/api/v1/notices", secret)] == [data.notices["O1"]]
    assert api_get(app, f"/api/v1/notices/{data.notices['SB1']}", secret).status_code == 404
    assert walk(app, "/api/v1/inspections", secret, outlet=world.outlet_ids[1]) == []


@pytest.mark.parametrize("scope", ["sb1", "o1"])
def test_inspections_not_yet_released_are_invisible_to_branch_scopes(app, data, tokens, scope):
    secret = tokens[scope]
    listed = {i["id"] for i in walk(app, "/api/v1/inspections", secret)}
    assert data.submitted not in listed and data.draft not in listed
    for inspection in (data.submitted, data.draft):
        assert api_get(app, f"/api/v1/inspections/{inspection}", secret).status_code == 404
    assert all(i["status"] == "released" for i in walk(app, "/api/v1/inspections", secret))


@pytest.mark.parametrize(
    ("scope", "visible"),
    [
        ("head_office", {"O1", "O2", "O3", "submitted", "draft"}),
        ("sb1", {"O1"}),
        ("sb2", {"O3"}),
        ("o1", {"O1"}),
        ("o3", {"O3"}),
    ],
)
def test_every_inspection_url_answers_200_in_scope_and_404_outside(
    app, data, tokens, scope, visible
):
    objects = {"O1": data.released["O1"], "O3": data.released["O3"]}
    objects |= {"O2": data.submitted, "submitted": data.submitted, "draft": data.draft}
    for name, inspection in objects.items():
        status = api_get(app, f"/api/v1/inspections/{inspection}", tokens[scope]).status_code
        assert status == (200 if name in visible else 404), (scope, name)


def test_periods_and_checklist_versions_are_the_whole_banks(app, data, tokens):
    everyone = {walk(app, "/api/v1/periods", t)[0]["code"] for t in tokens.values()}
    assert everyone == {"2026Q4"}
    versions = walk(app, "/api/v1/checklist-versions", tokens["o3"])
    assert {v["code"] for v in versions} >= {"six_s", "teller_seven_steps", "five_courtesies"}
