"""What one autosave costs the database: a count of SQL statements, so it cannot creep back.

An autosave is the sign-in check (1), the client write claimed on the inspector's own draft
(1), the answer upserted (1) and the audit record (2 on SQLite, 1 on PostgreSQL). Timings
are bench/load.py's business, not a test's.
"""

import threading
import uuid
from contextlib import contextmanager

from sqlalchemy import event, select

from shopper.audit import service as audit
from shopper.audit.models import AuditRecord
from shopper.extensions import db
from shopper.inspections.models import Answer, AnswerConflict
from tests.factories import items, start

MAX_STATEMENTS = {"sqlite": 5, "postgresql": 4}  # PostgreSQL's audit record is one statement
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


def test_an_autosave_takes_at_most_five_statements(login, world, app):
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
