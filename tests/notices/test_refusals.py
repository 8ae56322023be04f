"""Each refusal of the rectification loop: a sentence, a 4xx, and nothing changed."""

import io
import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from shopper.extensions import db
from shopper.notices.models import Finding, FindingResponse, NoticeEvent, ResponsePhoto
from tests.conftest import Client
from tests.factories import files_in, jpeg
from tests.notices.test_loop import findings, notice_of, release, submitted  # noqa: F401


def state(app):
    with app.app_context():
        s = db.session
        return (
            s.scalar(select(func.count()).select_from(FindingResponse)),
            s.scalar(select(func.count()).select_from(ResponsePhoto)),
            s.scalar(select(func.count()).select_from(NoticeEvent)),
            tuple(s.scalars(select(Finding.status).order_by(Finding.id))),
        )


@pytest.fixture
def open_finding(login, submitted, app):  # noqa: F811
    release(login, submitted)
    return findings(app, submitted)[0]


def respond(c, finding, **data):
    data.setdefault("uuid", str(uuid.uuid4()))
    return c.post(
        f"/notices/findings/{finding.id}/respond",
        data,
        json=True,
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    "data, status, words",
    [
        ({"kind": "fixed", "note": "x"}, 400, "rectified or is disputed"),
        ({"kind": "rectified", "note": "   "}, 400, "Write what was done"),
        ({"kind": "rectified", "note": "x" * 2001}, 400, "at most 2000"),
        ({"kind": "rectified", "note": "x", "uuid": "not-a-uuid"}, 400, "uuid"),
    ],
)
def test_a_bad_answer_is_refused(login, open_finding, app, data, status, words):
    before = state(app)
    response = respond(login("outlet_manager"), open_finding, **data)
    assert response.status_code == status and words in response.json["error"]
    assert state(app) == before


def test_a_bad_photo_with_an_answer_is_refused_and_nothing_is_kept(
    login, open_finding, app, tmp_path
):
    before = state(app)
    storage = tmp_path / "storage"
    files = files_in(storage) if storage.exists() else []
    # a good photo first: it must not be written either when the second is refused
    photos = [
        (io.BytesIO(jpeg(color=(1, 2, 3))), "ok.jpg"),
        (io.BytesIO(b"not an image at all"), "fix.jpg"),
    ]
    response = respond(
        login("outlet_manager"), open_finding, kind="rectified", note="Done", photos=photos
    )
    assert response.status_code == 415 and "not a photo" in response.json["error"]
    assert state(app) == before
    assert (files_in(storage) if storage.exists() else []) == files


def test_too_many_photos_are_refused(login, open_finding, app):
    before = state(app)
    photos = [(io.BytesIO(jpeg()), f"{n}.jpg") for n in range(7)]
    response = respond(
        login("outlet_manager"), open_finding, kind="rectified", note="Done", photos=photos
    )
    assert response.status_code == 400 and "At most 6 photos" in response.json["error"]
    assert state(app) == before


def test_a_dispute_after_its_deadline_is_refused_but_a_fix_is_not(login, open_finding, app):
    with app.app_context():
        db.session.get(Finding, open_finding.id).dispute_deadline = date(2020, 1, 1)
        db.session.commit()
    before = state(app)
    c = login("outlet_manager")
    late = respond(c, open_finding, kind="disputed", note="Not so")
    assert late.status_code == 409 and "2020-01-01" in late.json["error"]
    assert state(app) == before
    assert respond(c, open_finding, kind="rectified", note="Fixed").status_code == 302


def test_a_retried_answer_is_applied_once(login, open_finding, app):
    c = login("outlet_manager")
    key = str(uuid.uuid4())
    assert respond(c, open_finding, kind="rectified", note="Fixed", uuid=key).status_code == 302
    after = state(app)
    assert respond(c, open_finding, kind="rectified", note="Fixed", uuid=key).status_code == 302
    assert state(app) == after


def test_a_decision_that_does_not_fit_or_comes_twice_is_refused(login, open_finding, app):
    assert (
        respond(login("outlet_manager"), open_finding, kind="rectified", note="Fixed").status_code
        == 302
    )
    with app.app_context():
        rid = db.session.scalars(select(FindingResponse)).one().id
    admin = login("admin")
    before = state(app)
    wrong = admin.post(
        f"/notices/responses/{rid}/decide", {"decision": "upheld", "reason": "x"}, json=True
    )
    assert wrong.status_code == 400 and "decision that fits" in wrong.json["error"]
    assert state(app) == before
    assert (
        admin.post(f"/notices/responses/{rid}/decide", {"decision": "accepted"}).status_code == 302
    )
    twice = admin.post(f"/notices/responses/{rid}/decide", {"decision": "accepted"}, json=True)
    assert twice.status_code == 409 and "decided already" in twice.json["error"]


def test_an_empty_comment_is_refused(login, open_finding, app):
    assert (
        respond(login("outlet_manager"), open_finding, kind="rectified", note="Fixed").status_code
        == 302
    )
    with app.app_context():
        rid = db.session.scalars(select(FindingResponse)).one().id
    before = state(app)
    response = login("sub_branch_manager").post(
        f"/notices/responses/{rid}/comment", {"text": ""}, json=True
    )
    assert response.status_code == 400 and state(app) == before


def test_a_refusal_speaks_chinese_by_default(login, open_finding, app):
    c = login("outlet_manager")
    c.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    response = respond(c, open_finding, kind="rectified", note=" ")
    assert response.status_code == 400 and "请写明整改措施" in response.json["error"]


@pytest.mark.parametrize(
    "payload, status, words",
    [
        (b"", 400, "The file is empty"),
        (b"hello, not a PDF", 400, "not a PDF"),
        (b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 10), 413, "at most 1 MB"),
    ],
)
def test_the_verification_page_refuses_bad_files_with_a_sentence(
    app, world, payload, status, words
):
    app.config["NOTICE_MAX_BYTES"] = 1024 * 1024
    c = Client(app)
    c.get("/verify/")
    response = c.post(
        "/verify/", {"file": (io.BytesIO(payload), "n.pdf")}, content_type="multipart/form-data"
    )
    assert response.status_code == status
    assert words in response.get_data(as_text=True)


def test_two_decisions_at_once_apply_once(login, open_finding, app):
    """The second of two head-office clicks read the answer before the first was saved."""
    from shopper.auth.models import User
    from shopper.notices import service
    from shopper.photos.service import storage

    assert (
        respond(login("outlet_manager"), open_finding, kind="rectified", note="Fixed").status_code
        == 302
    )
    with app.app_context():
        stale = db.session  # this request read the answer while it was undecided
        response = stale.scalars(select(FindingResponse)).one()
        admin = stale.scalars(select(User).where(User.username == "admin")).one()
        assert response.decision is None
        with app.app_context():  # meanwhile another request decides and commits
            other = db.session.scalars(select(FindingResponse)).one()
            service.decide(
                db.session,
                storage(),
                admin,
                other,
                "accepted",
                "",
                service.Settings.from_config(app.config),
            )
            db.session.commit()
        with pytest.raises(Exception) as refused:
            service.decide(
                stale,
                storage(),
                admin,
                response,
                "rejected",
                "Not enough",
                service.Settings.from_config(app.config),
            )
        assert getattr(refused.value, "code", None) == "response_decided"
        stale.rollback()
    with app.app_context():
        assert db.session.scalars(select(FindingResponse)).one().decision == "accepted"
        assert db.session.get(Finding, open_finding.id).status == "accepted"


@pytest.mark.parametrize(
    "method, url",
    [
        ("GET", "/notices/100000000000000000000000"),
        ("GET", "/notices/100000000000000000000000/pdf"),
        ("POST", "/notices/findings/100000000000000000000000/respond"),
        ("POST", "/notices/responses/100000000000000000000000/decide"),
        ("POST", "/office/inspections/100000000000000000000000/release"),
        ("GET", "/inspections/100000000000000000000000"),
    ],
)
def test_an_id_beyond_the_database_is_not_found_never_a_500(login, world, method, url):
    admin = login("admin")
    response = admin.get(url) if method == "GET" else admin.post(url)
    assert response.status_code == 404


def test_huge_numbers_in_forms_are_refused_not_a_500(login, world):
    admin = login("admin")
    refused = admin.post("/office/inspections/release", {"ids": ["9" * 30]})
    assert refused.status_code == 400 and "far too large" in refused.get_data(as_text=True)
    assert admin.post("/office/sub-branch-notices", {"period": "9" * 30}).status_code == 400


def test_a_periods_sub_branch_reports_are_issued_once(login, open_finding, app, world):
    admin = login("admin")
    first = admin.post("/office/sub-branch-notices", {"period": str(world.period_id)})
    assert first.status_code == 302
    again = admin.post("/office/sub-branch-notices", {"period": str(world.period_id)})
    assert again.status_code == 302
    with app.app_context():
        from shopper.notices.models import Notice

        assert (
            db.session.scalar(
                select(func.count()).select_from(Notice).where(Notice.kind == "sub_branch")
            )
            == 1
        )


def test_a_date_range_means_the_outlets_local_days(login, open_finding, app):
    """Started at 07:00 in Shanghai on 2 November is 23:00 UTC on 1 November."""
    from datetime import UTC, datetime

    from shopper.inspections.models import Inspection
    from shopper.notices import service

    with app.app_context():
        inspection = db.session.get(Inspection, open_finding.inspection_id)
        inspection.started_at = datetime(2026, 11, 1, 23, 0, tzinfo=UTC)
        db.session.commit()
        nov2 = service.released_in(db.session, service.Range(date(2026, 11, 2), date(2026, 11, 2)))
        nov1 = service.released_in(db.session, service.Range(date(2026, 11, 1), date(2026, 11, 1)))
        assert [i.id for i in nov2] == [inspection.id] and nov1 == []
