"""Answer writes: a result and a note change independently; the latest change wins."""

import time
import uuid

from sqlalchemy import select

from shopper.extensions import db
from shopper.inspections.models import Answer, AnswerConflict, ClientWrite
from tests.factories import items, start


def write(client, iid, version, code, **fields):
    data = {"uuid": fields.pop("uuid", None) or str(uuid.uuid4()), "version": version, "item": code}
    data.update(fields)
    return client.post(f"/inspect/{iid}/answers", data, json=True)


def saved(app, iid):
    with app.app_context():
        return [
            (a.result, a.note)
            for a in db.session.scalars(select(Answer).where(Answer.inspection_id == iid))
        ]


def test_a_result_tap_keeps_the_saved_note(login, world, app):
    """Finding 1 of issue 12: tapping 不达标 again after a reconnect wiped the note."""
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = items(app, iid)[0]
    assert write(c, iid, version, code, result="fail").status_code == 200
    assert write(c, iid, version, code, note="dust on the counter").status_code == 200
    response = write(c, iid, version, code, result="fail")  # no note field: note untouched
    assert response.json["note"] == "dust on the counter"
    assert response.json["result"] == "fail"
    assert saved(app, iid) == [("fail", "dust on the counter")]


def test_a_note_write_keeps_the_result_and_an_empty_note_clears_it(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = items(app, iid)[0]
    write(c, iid, version, code, result="fail", note="first")
    write(c, iid, version, code, note="second")
    assert saved(app, iid) == [("fail", "second")]
    write(c, iid, version, code, note="")
    assert saved(app, iid) == [("fail", "")]


def test_a_note_before_any_result_is_refused_and_nothing_is_written(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = items(app, iid)[0]
    response = write(c, iid, version, code, note="orphan")
    assert response.status_code == 400
    assert "before writing its note" in response.json["error"]
    assert saved(app, iid) == []
    with app.app_context():
        assert db.session.scalar(select(ClientWrite).where(ClientWrite.kind == "answer")) is None


def test_a_write_with_neither_result_nor_note_is_refused(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = items(app, iid)[0]
    response = write(c, iid, version, code)
    assert response.status_code == 400
    assert saved(app, iid) == []


def test_two_phones_the_latest_change_wins_and_the_loser_is_recorded(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = items(app, iid)[0]
    now = int(time.time() * 1000)
    # phone B changed the item later, but its write reaches the server first
    assert write(c, iid, version, code, result="pass", changed_at=now - 1000).json["applied"]
    late = write(c, iid, version, code, result="fail", note="x", changed_at=now - 60_000)
    assert late.status_code == 200
    assert late.json["applied"] is False and late.json["result"] == "pass"
    assert saved(app, iid) == [("pass", "")]
    with app.app_context():
        conflict = db.session.scalar(select(AnswerConflict))
        assert (conflict.lost_result, conflict.lost_note, conflict.kept_result) == (
            "fail",
            "x",
            "pass",
        )
    # a newer change goes through
    assert write(c, iid, version, code, result="fail", note="y", changed_at=now).json["applied"]
    assert saved(app, iid) == [("fail", "y")]


def test_a_phone_clock_in_the_future_cannot_win_forever(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = items(app, iid)[0]
    future = int((time.time() + 3600) * 1000)
    write(c, iid, version, code, result="pass", changed_at=future)
    assert write(c, iid, version, code, result="fail", note="n").json["applied"] is True
    assert saved(app, iid) == [("fail", "n")]
