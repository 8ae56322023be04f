"""Bad input gets a clear 4xx sentence and changes nothing."""

import uuid

import pytest
from sqlalchemy import update

from shopper.extensions import db
from shopper.periods.models import Period, PeriodState
from tests.factories import answer, answer_all, counts, items, jpeg, start, submit, upload


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
    assert submit(c, iid).status_code == 302
    version, code, _ = items(app, iid)[0]
    refused(
        app, lambda: answer(c, iid, version, code, "fail", "late"), 409, "can no longer be changed"
    )


def test_a_draft_of_a_closed_period_no_longer_changes(draft, app):
    """Its period closed while it was a draft: it can never be submitted, so an answer (new,
    changed or a note) or a photo is refused with a sentence and nothing changes."""
    c, iid, version, code = draft
    with app.app_context():
        db.session.execute(update(Period).values(state=PeriodState.CLOSED))
        db.session.commit()
    closed = "is closed: this inspection can no longer change"
    other_version, other_code, _ = items(app, iid)[1]
    refused(app, lambda: answer(c, iid, other_version, other_code, "fail", "late"), 409, closed)
    refused(app, lambda: answer(c, iid, version, code, "fail"), 409, closed)
    refused(
        app,
        lambda: c.post(
            f"/inspect/{iid}/answers",
            {"uuid": str(uuid.uuid4()), "version": version, "item": code, "note": "late"},
            json=True,
        ),
        409,
        closed,
    )
    refused(app, lambda: upload(c, iid, version, code, jpeg()), 409, closed)


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


def test_a_uuid_reused_for_a_different_answer_is_refused(draft, app):
    c, iid, version, code = draft
    same = "55555555-5555-4555-8555-555555555555"
    assert answer(c, iid, version, code, "fail", "one", uuid=same).status_code == 200
    other_version, other_code, _ = items(app, iid)[1]
    refused(
        app, lambda: answer(c, iid, other_version, other_code, "pass", uuid=same), 409, "identifier"
    )


def test_the_same_uuid_from_two_inspectors_is_two_writes(login, world, app):
    same = "66666666-6666-4666-8666-666666666666"
    one, two = login("inspector"), login("inspector2")
    first = start(one, world.assignment_ids["inspector"][0])
    second = start(two, world.assignment_ids["inspector2"][0])
    v1, c1, _ = items(app, first)[0]
    v2, c2, _ = items(app, second)[0]
    assert answer(one, first, v1, c1, "pass", uuid=same).json["applied"] is True
    assert answer(two, second, v2, c2, "pass", uuid=same).json["applied"] is True


def test_an_answer_racing_a_submit_is_refused(login, world, app):
    """A request that loaded the draft before a submit committed must not change it."""
    from shopper.extensions import db
    from shopper.inspections import service
    from shopper.inspections.models import Inspection
    from shopper.models import User
    from shopper.refusals import Refused

    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, iid)
    version, code, _ = items(app, iid)[0]
    with app.app_context():
        stale = db.session.get(Inspection, iid)
        inspector = db.session.get(User, world.users["inspector"])
        assert stale.status == "draft"
        db.session.commit()  # end the read; the object stays loaded as a draft
        assert submit(c, iid).status_code == 302  # another request
        with pytest.raises(Refused) as exc:
            service.save_answer(
                db.session,
                inspector,
                stale,
                version_id=version,
                item_code=code,
                result="fail",
                note="late",
                client_uuid="77777777-7777-4777-8777-777777777777",
            )
        assert exc.value.code == "already_submitted"
        db.session.rollback()
        assert db.session.get(Inspection, iid).score == 100
