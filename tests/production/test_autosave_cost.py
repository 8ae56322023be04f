"""What one autosave costs the database: a count of SQL statements, so it cannot creep back.

An autosave is the client write claimed on the inspector's own draft from a live session of
theirs (1: the sign-in is checked in the same statement), the answer upserted (1) and the audit
record (2 on SQLite, 1 on PostgreSQL). Timings
are bench/load.py's business, not a test's.
"""

import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, func, select, update

from shopper.audit import service as audit
from shopper.audit.models import AuditRecord
from shopper.auth.models import LoginSession, User
from shopper.db import utcnow
from shopper.extensions import db
from shopper.inspections.models import Answer, AnswerConflict, ClientWrite
from tests.factories import items, start

MAX_STATEMENTS = {"sqlite": 4, "postgresql": 3}  # PostgreSQL's audit record is one statement
WRITERS, EACH = 6, 20


@contextmanager
def statements(app):
    """Every statement the app sends to the database inside the block."""
    seen: list[str] = []

    def count(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    engine = db.engine(app)
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def autosave(c, iid, version, code, **fields):
    data = {"uuid": str(uuid.uuid4()), "version": version, "item": code, **fields}
    response = c.post(f"/inspect/{iid}/answers", data, json=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_an_autosave_takes_at_most_four_statements(login, world, app):
    most = MAX_STATEMENTS[db.engine(app).dialect.name]
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    (v1, first, _), (v2, second, _) = items(app, iid)[:2]
    autosave(c, iid, v1, first, result="pass")  # the worker has now read the versions once
    for label, fields, code in (
        ("a new answer", {"result": "fail", "note": "dust"}, second),
        ("a changed result", {"result": "pass"}, second),
        ("a note alone", {"note": "wiped"}, second),
    ):
        with statements(app) as sent:
            reply = autosave(c, iid, v2, code, **fields)
        assert reply["applied"] and reply["answered"] == 2, label
        assert len(sent) <= most, f"{label}: {len(sent)} statements\n" + "\n".join(sent)
    assert reply["result"] == "pass" and reply["note"] == "wiped"
    with app.app_context():  # the account the session's statement found is the one recorded
        last = db.session.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc())).first()
        inspector_id = db.session.scalar(select(User.id).where(User.username == "inspector"))
        assert (last.action, last.actor, last.actor_id) == (
            "answer.saved",
            "inspector",
            inspector_id,
        )


def test_the_uncommon_cases_still_answer_as_before(login, world, app):
    """A retry, a lost race and someone else's inspection take the long way, same replies."""
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = items(app, iid)[0]
    write = {"uuid": str(uuid.uuid4()), "version": version, "item": code, "result": "fail"}
    first = c.post(f"/inspect/{iid}/answers", {**write, "changed_at": "2000"}, json=True).json
    retry = c.post(f"/inspect/{iid}/answers", {**write, "changed_at": "2000"}, json=True).json
    assert first["applied"] and not retry["applied"]
    assert (retry["result"], retry["answered"], retry["total"]) == ("fail", 1, first["total"])
    reused = c.post(f"/inspect/{iid}/answers", {**write, "result": "pass"}, json=True)
    assert reused.status_code == 409
    lost = autosave(c, iid, version, code, result="pass", changed_at="1000")  # made earlier
    assert not lost["applied"] and lost["result"] == "fail" and lost["answered"] == 1
    with app.app_context():
        assert db.session.scalar(select(AnswerConflict.lost_result)) == "pass"
        assert db.session.scalars(select(Answer.result)).all() == ["fail"]
    other = login("inspector2").post(f"/inspect/{iid}/answers", write, json=True)
    assert other.status_code == 404


def test_concurrent_records_keep_one_ordered_chain(app, world):
    """The record is inserted from the chain's end read FOR UPDATE: writers at once queue."""
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with app.app_context():
                for k in range(EACH):
                    audit.record(db.session, None, "test.step", "test", f"{n}-{k}", {"k": k})
                    db.session.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with app.app_context():
        verdict = audit.verify(db.session)
        ours = db.session.scalars(select(AuditRecord).where(AuditRecord.action == "test.step"))
        assert verdict.ok, verdict
        assert len(ours.all()) == WRITERS * EACH


def test_the_statement_that_saves_checks_the_sign_in(login, world, app):
    """The access check leaves the autosave's token to its first statement: a disabled
    account, an expired session and one ended on the server are each refused (401) with nothing
    written, as every other route refuses them."""
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _ = items(app, iid)[0]

    def refused(label):
        write = {"uuid": str(uuid.uuid4()), "version": version, "item": code, "result": "fail"}
        reply = c.post(f"/inspect/{iid}/answers", write, json=True)
        assert reply.status_code == 401, label
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(Answer)) == 0, label
            written = (
                select(func.count()).select_from(ClientWrite).where(ClientWrite.kind == "answer")
            )
            assert db.session.scalar(written) == 0, label

    def change(statement):
        with app.app_context():
            db.session.execute(statement)
            db.session.commit()

    inspector = User.username == "inspector"
    change(update(User).where(inspector).values(active=False))
    refused("a disabled account")
    change(update(User).where(inspector).values(active=True))
    change(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    refused("an expired session")
    change(update(LoginSession).values(expires_at=utcnow() + timedelta(hours=1)))
    assert autosave(c, iid, version, code, result="pass")["applied"]  # live again
    with app.app_context():
        db.session.execute(Answer.__table__.delete())
        db.session.execute(ClientWrite.__table__.delete())
        db.session.commit()
    change(LoginSession.__table__.delete())  # ended elsewhere: the cookie still names it
    refused("a session ended on the server")
