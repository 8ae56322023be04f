"""The audit trail: every change of state appends one record through one function; records
are chained by SHA-256, so an edited or removed record is found and named."""

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from shopper.audit import service as audit
from shopper.audit.models import AuditRecord
from shopper.extensions import db
from tests.factories import answer, answer_all, items, jpeg, start, submit, upload


def actions(app):
    with app.app_context():
        return [r.action for r in db.session.scalars(select(AuditRecord).order_by(AuditRecord.seq))]


def test_an_inspection_from_start_to_release_leaves_its_trail(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _item = next(
        (v, code, item)
        for v, code, item in items(app, iid)
        if not item.red_line and not item.photo_required_on_fail
    )
    photo = upload(c, iid, version, code, jpeg()).json
    assert c.post(f"/inspect/{iid}/photos/{photo['id']}/delete", json=True).status_code in (
        200,
        204,
    )
    answer_all(c, app, iid, lambda item: "fail" if item.code == code else "pass")
    assert submit(c, iid).status_code == 302
    assert login("admin").post(f"/office/inspections/{iid}/release").status_code == 302
    done = actions(app)
    assert done[:3] == ["checklist.published"] * 3
    assert [a for a in done if a != "sign_in"][3] == "inspection.started"
    assert {"photo.added", "photo.removed", "answer.saved", "inspection.submitted"} <= set(done)
    assert "released" in done and "issued" in done
    assert done.count("answer.saved") == len(items(app, iid))
    with app.app_context():
        assert audit.verify(db.session).ok


def test_a_refused_write_appends_nothing(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    version, code, _item = items(app, iid)[0]
    before = actions(app)
    assert answer(c, iid, version, code, "maybe").status_code == 400
    assert actions(app) == before


def chain(app, n=5) -> list[int]:
    """Append `n` records; their sequence numbers."""
    with app.app_context():
        seqs = [
            audit.record(db.session, None, "test.step", "test", k, {"k": k}).seq for k in range(n)
        ]
        db.session.commit()
        return seqs


def tamper(app, sql, **params):
    with app.app_context():
        db.session.execute(text(sql), params)
        db.session.commit()


def verdict(app):
    with app.app_context():
        return audit.verify(db.session)


def test_the_chain_verifies_and_names_an_edited_record(app, world):
    if db.engine(app).dialect.name != "sqlite":
        pytest.skip("PostgreSQL refuses the edit itself (next test)")
    seqs = chain(app)
    assert verdict(app).ok and verdict(app).records == seqs[-1]
    tamper(app, "UPDATE audit_records SET changes = :c WHERE seq = :s", c='{"k":9}', s=seqs[2])
    found = verdict(app)
    assert not found.ok and found.broken_seq == seqs[2] and "changed" in found.reason


def test_a_removed_record_is_named_and_so_is_a_removed_tail(app, world):
    if db.engine(app).dialect.name != "sqlite":
        pytest.skip("PostgreSQL refuses the deletion itself (next test)")
    seqs = chain(app)
    tamper(app, "DELETE FROM audit_records WHERE seq = :s", s=seqs[1])
    assert verdict(app).broken_seq == seqs[1]
    tamper(app, "DELETE FROM audit_records WHERE seq >= :s", s=seqs[1])
    found = verdict(app)
    assert not found.ok and found.broken_seq == seqs[1] and "removed" in found.reason


def test_postgresql_refuses_to_update_or_delete_a_record(app, world):
    if db.engine(app).dialect.name != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    from sqlalchemy.exc import DBAPIError

    seqs = chain(app, 2)
    for sql in ("UPDATE audit_records SET actor = 'x'", "DELETE FROM audit_records"):
        with pytest.raises(DBAPIError, match="append-only"):
            tamper(app, sql)
    assert verdict(app).ok and verdict(app).records == seqs[-1]


def test_the_cli_verifies_and_exits_1_on_a_broken_chain(app, world):
    seqs = chain(app, 3)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and f"{seqs[-1]} records" in result.output
    if db.engine(app).dialect.name == "sqlite":
        tamper(app, "UPDATE audit_records SET actor = 'mallory' WHERE seq = 1")
        result = app.test_cli_runner().invoke(args=["audit", "verify"])
        assert result.exit_code == 1 and "record 1" in result.output


def test_head_office_reads_and_exports_an_inspections_trail(login, world, app):
    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    answer_all(c, app, iid)
    admin = login("admin")
    page = admin.get(f"/office/audit/?kind=inspection&id={iid}&verify=1").get_data(as_text=True)
    assert "inspection.started" in page and "answer.saved" in page
    assert "The chain is whole" in page
    export = admin.get(f"/office/audit/export.xlsx?kind=inspection&id={iid}")
    sheet = load_workbook(io.BytesIO(export.data)).active
    assert [cell.value for cell in next(sheet.iter_rows())][:4] == ["seq", "at", "actor", "action"]
    assert sheet.max_row == 1 + 1 + len(items(app, iid))  # header, started, one per answer
    assert "sign_in" in admin.get(f"/office/audit/?kind=user&id={world.users['admin']}").get_data(
        as_text=True
    )
    mine = admin.get(f"/office/audit/?kind=user&id={world.users['inspector']}")
    assert "answer.saved" in mine.get_data(as_text=True)


def test_a_bad_subject_is_a_sentence_not_a_500(login, world):
    admin = login("admin")
    for query in ("kind=planet&id=1", "kind=inspection&id=x", "kind=inspection&id=99999999999"):
        response = admin.get(f"/office/audit/?{query}")
        assert response.status_code in (400, 404), query
        assert "<h1>" in response.get_data(as_text=True)
    assert admin.get("/office/audit/?kind=user&id=987654").status_code == 404


def test_sign_ins_sign_outs_failures_and_locks_are_audited(app, world):
    from tests.conftest import Client

    c = Client(app)
    assert c.login("inspector", "wrong password").status_code == 401
    assert actions(app)[-1] == "sign_in.failed"
    with app.app_context():
        failed = db.session.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc())).first()
        assert failed.actor == "inspector" and failed.actor_id is None
    assert c.login("inspector").status_code == 302
    assert actions(app)[-1] == "sign_in"
    assert c.post("/logout").status_code == 302
    assert actions(app)[-1] == "sign_out"
    status = None
    for _attempt in range(30):
        status = Client(app).login("inspector2", "wrong").status_code
        if status == 429:
            break
    assert status == 429
    assert actions(app)[-1].startswith("sign_in.sign_in_")
    with app.app_context():
        assert audit.verify(db.session).ok
