"""Bad input gets a clear 4xx sentence and changes nothing."""

import pytest

from tests.factories import answer, answer_all, counts, items, start


@pytest.fixture
def draft(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = items(app, iid)[0]
    answer(c, iid, version, code, "pass")
    return c, iid, version, code


def refused(app, do, status, message):
    before = counts(app)
    response = do()
    assert response.status_code == status, response.get_data(as_text=True)
    assert message in response.json["error"]
    assert counts(app) == before
    return response


def test_unknown_item_code_is_refused(draft, app):
    c, iid, version, _ = draft
    refused(app, lambda: answer(c, iid, version, "NOPE-99", "pass"), 400, "NOPE-99 is not part of")


def test_item_of_a_version_the_inspection_did_not_pin_is_refused(draft, app):
    c, iid, version, code = draft
    refused(app, lambda: answer(c, iid, version + 999, code, "pass"), 400, "is not part of")


def test_a_result_other_than_pass_fail_na_is_refused(draft, app):
    c, iid, version, code = draft
    refused(
        app, lambda: answer(c, iid, version, code, "maybe"), 400, "pass, fail or not applicable"
    )


def test_na_where_the_item_does_not_allow_it_is_refused(draft, app):
    c, iid, _, _ = draft
    version, code, _ = next(i for i in items(app, iid) if not i[2].na_allowed)
    refused(
        app, lambda: answer(c, iid, version, code, "na"), 400, "cannot be marked not applicable"
    )


def test_a_note_of_20000_characters_is_refused(draft, app):
    c, iid, version, code = draft
    refused(
        app, lambda: answer(c, iid, version, code, "fail", "x" * 20_000), 400, "note is too long"
    )


def test_answers_to_a_submitted_inspection_are_refused(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, iid)
    assert c.post(f"/inspect/{iid}/submit").status_code == 302
    version, code, _ = items(app, iid)[0]
    refused(
        app, lambda: answer(c, iid, version, code, "fail", "late"), 409, "can no longer be changed"
    )


def test_another_inspectors_inspection_is_refused(draft, login, app):
    _, iid, version, code = draft
    other = login("inspector2")
    refused(app, lambda: answer(other, iid, version, code, "fail", "x"), 404, "does not exist")
    assert other.get(f"/inspect/{iid}").status_code == 404
    assert other.get(f"/inspections/{iid}").status_code == 404


def test_another_inspectors_assignment_cannot_be_started(login, world, app):
    c = login("inspector")
    before = counts(app)
    response = c.post(
        f"/inspect/assignments/{world.assignment_ids['inspector2'][0]}/start", {"mode": "on_site"}
    )
    assert response.status_code == 404
    assert counts(app) == before


def test_an_old_periods_assignment_cannot_be_started(login, world, app):
    c = login("inspector")
    response = c.post(
        f"/inspect/assignments/{world.assignment_ids['inspector'][2]}/start", {"mode": "on_site"}
    )
    assert response.status_code == 409
    assert "period is closed" in response.get_data(as_text=True)


def test_a_missing_csrf_token_is_refused(draft, app):
    c, iid, version, code = draft
    refused(
        app,
        lambda: c.post(
            f"/inspect/{iid}/answers",
            {
                "uuid": "33333333-3333-4333-8333-333333333333",
                "version": version,
                "item": code,
                "result": "fail",
            },
            json=True,
            csrf=False,
        ),
        400,
        "did not come from this site",
    )


def test_a_malformed_uuid_is_refused(draft, app):
    c, iid, version, code = draft
    refused(app, lambda: answer(c, iid, version, code, "pass", uuid="not-a-uuid"), 400, "uuid")


def test_refusals_speak_chinese_by_default(draft, app):
    c, iid, version, code = draft
    response = c.http.post(
        f"/inspect/{iid}/answers",
        data={
            "csrf_token": c.csrf,
            "uuid": "44444444-4444-4444-8444-444444444444",
            "version": version,
            "item": code,
            "result": "maybe",
        },
        headers={"Accept": "application/json", "Accept-Language": "zh-CN,zh;q=0.9"},
    )
    assert response.status_code == 400
    assert "不适用" in response.json["error"]
