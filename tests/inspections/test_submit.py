"""Review and submit: a preview of the score, the gaps by section, attestation, confirm, replays."""

from __future__ import annotations

from sqlalchemy import select

from shopper.config import DEFAULT_BANDS
from shopper.core import scoring
from shopper.extensions import db
from shopper.inspections import service
from shopper.inspections.models import ClientWrite, Inspection
from tests.factories import answer, answer_all, counts, items, start, submit

SAME = "88888888-8888-4888-8888-888888888888"


def state(app, iid):
    with app.app_context():
        i = db.session.get(Inspection, iid)
        return i.status, i.submitted_at, i.attested_at, i.score


def refused(app, iid, do, status, message, as_json=True):
    before = counts(app), state(app, iid)
    response = do()
    assert response.status_code == status, response.get_data(as_text=True)
    text = response.json["error"] if as_json else response.get_data(as_text=True)
    assert message in text
    assert (counts(app), state(app, iid)) == before
    return response


def ready(login, world, app, result_for=lambda item: "pass"):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, iid, result_for)
    return c, iid


# ---- the review page ----


def test_the_preview_is_the_cores_score_of_the_answers_so_far_and_says_it_is_provisional(
    login, world, app
):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    pinned = items(app, iid)
    failing = next(code for _, code, item in pinned if not item.photo_required_on_fail)
    answered = [i for i in pinned if i[1] == failing] + [i for i in pinned if i[1] != failing][:9]
    for version, code, _item in answered:
        answer(c, iid, version, code, "fail" if code == failing else "pass", "seen")
    with app.app_context():
        inspection = db.session.get(Inspection, iid)
        card = scoring.score(
            [p.checklist for p in service.pinned(inspection)],
            service.answer_map(db.session, inspection),
            scoring.bands_from_config(DEFAULT_BANDS),
        )
    page = c.get(f"/inspect/{iid}/review").get_data(as_text=True)
    assert f'<strong id="preview-score">{card.score:.1f}</strong>' in page
    assert "Score so far" in page
    assert f"Provisional: {len(pinned) - 10} items are not answered yet" in page
    assert "Section scores" in page


def test_a_complete_inspection_previews_its_final_score_and_band(login, world, app):
    c, iid = ready(login, world, app)
    page = c.get(f"/inspect/{iid}/review").get_data(as_text=True)
    assert '<strong id="preview-score">100.0</strong>' in page
    assert "Excellent" in page and "Provisional" not in page


def test_gaps_are_grouped_by_section_with_a_link_to_the_first(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    pinned = items(app, iid)
    for version, code, _item in pinned[:3]:
        answer(c, iid, version, code, "pass")
    page = c.get(f"/inspect/{iid}/review").get_data(as_text=True)
    first_gap = pinned[3][1]
    assert f'id="first-gap" href="/inspect/{iid}#{first_gap}"' in page
    assert "Go to the first gap" in page
    assert page.count('class="gap-section"') >= 15  # one heading per section with gaps
    assert f"4 · {first_gap}" in page  # item numbers as on the fill page
    assert 'data-queue="submit"' not in page  # no submit that would only be refused


def test_a_ready_inspection_offers_the_attestation_and_a_confirm_step(login, world, app):
    c, iid = ready(login, world, app)
    page = c.get(f"/inspect/{iid}/review").get_data(as_text=True)
    assert 'data-queue="submit"' in page and 'name="uuid" value="' in page
    assert 'type="checkbox" name="attest" value="y" required' in page
    assert "What I recorded is what I observed." in page
    assert '<details class="confirm-step">' in page
    assert '<input type="hidden" name="confirm" value="yes">' in page
    assert page.index('name="confirm"') > page.index("<details")


# ---- submitting ----


def test_submitting_stores_the_attestation(login, world, app):
    c, iid = ready(login, world, app)
    response = submit(c, iid)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/inspections/{iid}")
    status, submitted_at, attested_at, _ = state(app, iid)
    assert status == "submitted" and attested_at == submitted_at is not None


def test_without_the_attestation_nothing_is_submitted(login, world, app):
    c, iid = ready(login, world, app)
    message = "Tick “What I recorded is what I observed” before submitting"
    refused(app, iid, lambda: submit(c, iid, attest=False, json=True), 400, message)
    page = refused(app, iid, lambda: submit(c, iid, attest=False), 400, message, as_json=False)
    assert "Review and submit" in page.get_data(as_text=True)  # the page, shown again


def test_without_the_confirm_step_nothing_is_submitted(login, world, app):
    c, iid = ready(login, world, app)
    message = "Confirm the submission"
    refused(app, iid, lambda: submit(c, iid, confirm=False, json=True), 400, message)
    page = refused(app, iid, lambda: submit(c, iid, confirm=False), 400, message, as_json=False)
    # the inspector's tick is kept and the confirm step is open again
    assert 'value="y" required checked' in page.get_data(as_text=True)
    assert '<details class="confirm-step" open>' in page.get_data(as_text=True)


def test_an_incomplete_inspection_is_shown_again_with_its_gaps(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    page = refused(app, iid, lambda: submit(c, iid), 409, "cannot be submitted yet", False)
    assert "Go to the first gap" in page.get_data(as_text=True)


def test_a_submit_answers_json_with_the_record(login, world, app):
    c, iid = ready(login, world, app)
    response = submit(c, iid, json=True)
    assert response.status_code == 200
    _, submitted_at, _, _ = state(app, iid)
    assert response.json == {
        "submitted": True,
        "record_url": f"/inspections/{iid}",
        "submitted_at": submitted_at.isoformat(),
    }


def test_a_replayed_submit_succeeds_once_more_and_changes_nothing(login, world, app):
    c, iid = ready(login, world, app)
    first = submit(c, iid, uuid=SAME, json=True)
    assert first.status_code == 200
    before = counts(app), state(app, iid)
    again = submit(c, iid, uuid=SAME, json=True)  # the answer was lost: the queue sends it again
    assert again.status_code == 200 and again.json == first.json
    no_js = submit(c, iid, uuid=SAME)
    assert no_js.status_code == 302 and no_js.headers["Location"].endswith(f"/inspections/{iid}")
    assert (counts(app), state(app, iid)) == before
    with app.app_context():
        assert db.session.scalar(select(ClientWrite.kind).where(ClientWrite.uuid == SAME)) == (
            "submit"
        )


def test_another_submit_of_a_submitted_inspection_is_refused(login, world, app):
    c, iid = ready(login, world, app)
    submit(c, iid, uuid=SAME)
    refused(app, iid, lambda: submit(c, iid, json=True), 409, "can no longer be changed")


def test_a_uuid_used_for_another_write_cannot_submit(login, world, app):
    c, iid = ready(login, world, app)
    version, code, _ = items(app, iid)[0]
    answer(c, iid, version, code, "pass", uuid=SAME)
    refused(app, iid, lambda: submit(c, iid, uuid=SAME, json=True), 409, "identifier")


def test_a_failed_submit_can_be_sent_again_with_the_same_uuid(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    assert submit(c, iid, uuid=SAME, json=True).status_code == 409  # incomplete
    answer_all(c, app, iid)
    assert submit(c, iid, uuid=SAME, json=True).status_code == 200
    assert state(app, iid)[0] == "submitted"
