"""Issue 13: release → signed notice → answers and disputes → decisions → closed."""

import subprocess
import uuid

import pytest
from sqlalchemy import func, select

from shopper.extensions import db
from shopper.inspections.models import Inspection
from shopper.notices.models import Finding, FindingResponse, Notice, NoticeEvent, ScoreRevision
from tests.factories import answer_all, jpeg, start, submit


def fail_three(item):
    return "fail" if item.code in FAILED else "pass"


FAILED = set()


@pytest.fixture
def submitted(login, world, app):
    """The inspector's inspection of Outlet One, three items failed, submitted."""
    from tests.factories import items

    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    codes = [
        code
        for _v, code, item in items(app, iid)
        if not item.red_line and not item.photo_required_on_fail
    ][:3]
    FAILED.clear()
    FAILED.update(codes)
    answer_all(c, app, iid, result_for=fail_three)
    assert submit(c, iid).status_code == 302
    return iid


def release(login, iid):
    admin = login("admin")
    response = admin.post(f"/office/inspections/{iid}/release")
    assert response.status_code == 302, response.get_data(as_text=True)
    return admin


def notice_of(app, iid) -> Notice:
    with app.app_context():
        notice = db.session.scalars(
            select(Notice).where(Notice.inspection_id == iid).order_by(Notice.id.desc())
        ).first()
        db.session.expunge_all()
        return notice


def findings(app, iid):
    with app.app_context():
        rows = db.session.scalars(select(Finding).where(Finding.inspection_id == iid)).all()
        db.session.expunge_all()
        return sorted(rows, key=lambda f: f.id)


def test_the_outlet_sees_nothing_until_head_office_releases(login, submitted, app):
    manager = login("outlet_manager")
    assert manager.get(f"/inspections/{submitted}").status_code == 404
    assert notice_of(app, submitted) is None
    release(login, submitted)
    assert manager.get(f"/inspections/{submitted}").status_code == 200
    notice = notice_of(app, submitted)
    assert notice.number == "ZG-2026Q4-00001"
    assert len(findings(app, submitted)) == 3


def test_release_twice_is_refused_and_changes_nothing(login, submitted, app):
    admin = release(login, submitted)
    response = admin.post(f"/office/inspections/{submitted}/release", json=True)
    assert response.status_code == 409
    assert "not waiting for release" in response.json["error"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 1


def test_return_needs_a_reason_then_the_inspector_corrects_and_resubmits(login, submitted, app):
    admin = login("admin")
    refused = admin.post(f"/office/inspections/{submitted}/return", {"reason": "  "}, json=True)
    assert refused.status_code == 400 and "reason" in refused.json["error"]
    with app.app_context():
        assert db.session.get(Inspection, submitted).status == "submitted"
    ok = admin.post(f"/office/inspections/{submitted}/return", {"reason": "Photo missing on 3"})
    assert ok.status_code == 302
    inspector = login("inspector")
    page = inspector.get(f"/inspect/{submitted}").get_data(as_text=True)
    assert "Photo missing on 3" in page
    assert submit(inspector, submitted).status_code == 302
    record = admin.get(f"/inspections/{submitted}").get_data(as_text=True)
    assert "Submission 1" in record and "Submission 2" in record
    with app.app_context():
        inspection = db.session.get(Inspection, submitted)
        assert [s.n for s in inspection.submissions] == [1, 2]
        assert inspection.submissions[0].return_reason == "Photo missing on 3"


def test_the_notice_is_a_signed_pdf_the_outlet_can_download_and_verify(
    login, submitted, app, tmp_path
):
    release(login, submitted)
    notice = notice_of(app, submitted)
    manager = login("outlet_manager")
    pdf = manager.get(f"/notices/{notice.id}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-")
    # another outlet's manager and the inspector get nothing
    assert login("outlet_manager3").get(f"/notices/{notice.id}/pdf").status_code == 404
    assert login("inspector").get(f"/notices/{notice.id}/pdf").status_code == 403
    # the public page says genuine; one flipped byte says altered
    anyone = app.test_client()
    from tests.conftest import Client

    public = Client(app)
    public.get("/verify/")
    ok = public.post(
        "/verify/",
        {"file": (__import__("io").BytesIO(pdf.data), "n.pdf")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 200, ok.get_data(as_text=True)
    assert "Genuine" in ok.get_data(as_text=True) and notice.number in ok.get_data(as_text=True)
    flipped = bytearray(pdf.data)
    flipped[len(flipped) // 3] ^= 0x01
    bad = public.post(
        "/verify/",
        {"file": (__import__("io").BytesIO(bytes(flipped)), "n.pdf")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "Genuine" not in bad.get_data(as_text=True)
    del anyone
    # the text holds the outlet, the deadline and the item texts (no missing glyphs)
    path = tmp_path / "n.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "Outlet One" in text
    assert notice.deadline.isoformat() in text
    assert notice.number in text


def test_answers_disputes_decisions_and_closure(login, submitted, app):
    release(login, submitted)
    notice = notice_of(app, submitted)
    first, second, third = findings(app, submitted)
    manager = login("outlet_manager")
    assert manager.post(f"/notices/{notice.id}/acknowledge").status_code == 302

    def answer(finding, kind, note, photos=()):
        data = {"uuid": str(uuid.uuid4()), "kind": kind, "note": note}
        if photos:
            data["photos"] = [(__import__("io").BytesIO(p), "fix.jpg") for p in photos]
        return manager.post(
            f"/notices/findings/{finding.id}/respond", data, content_type="multipart/form-data"
        )

    assert answer(first, "rectified", "Counter cleared", [jpeg()]).status_code == 302
    assert answer(second, "rectified", "Leaflets replaced").status_code == 302
    assert answer(third, "disputed", "The leaflets were current that day").status_code == 302
    # answering again before a decision is refused
    again = answer(first, "rectified", "again")
    assert again.status_code == 409

    sub = login("sub_branch_manager")
    with app.app_context():
        responses = db.session.scalars(select(FindingResponse).order_by(FindingResponse.id)).all()
        r1, r2, r3 = (r.id for r in responses)
    assert (
        sub.post(f"/notices/responses/{r1}/comment", {"text": "Checked on site"}).status_code == 302
    )

    admin = login("admin")
    # a rejection needs a reason
    assert (
        admin.post(
            f"/notices/responses/{r2}/decide", {"decision": "rejected"}, json=True
        ).status_code
        == 400
    )
    assert (
        admin.post(f"/notices/responses/{r1}/decide", {"decision": "accepted"}).status_code == 302
    )
    assert (
        admin.post(
            f"/notices/responses/{r2}/decide", {"decision": "rejected", "reason": "Still old"}
        ).status_code
        == 302
    )
    with app.app_context():
        score_before = db.session.get(Inspection, submitted).score
    upheld = admin.post(
        f"/notices/responses/{r3}/decide",
        {"decision": "upheld", "reason": "Photo shows current leaflets"},
    )
    assert upheld.status_code == 302
    with app.app_context():
        inspection = db.session.get(Inspection, submitted)
        assert inspection.score > score_before
        revision = db.session.scalars(select(ScoreRevision)).one()
        assert revision.score_before == score_before and revision.score_after == inspection.score
        assert inspection.submissions[-1].score == score_before  # the original is kept
    reissued = notice_of(app, submitted)
    assert reissued.id != notice.id and reissued.supersedes_id == notice.id
    # the old notice is superseded: the outlet answers on the new one
    assert answer(second, "rectified", "New leaflets racked").status_code == 302
    with app.app_context():
        last = (
            db.session.scalars(select(FindingResponse).order_by(FindingResponse.id.desc()))
            .first()
            .id
        )
    assert (
        admin.post(f"/notices/responses/{last}/decide", {"decision": "accepted"}).status_code == 302
    )
    with app.app_context():
        assert {f.status for f in db.session.scalars(select(Finding))} == {"accepted", "withdrawn"}
        assert db.session.get(Notice, reissued.id).closed_at is not None
        kinds = [e.kind for e in db.session.scalars(select(NoticeEvent).order_by(NoticeEvent.id))]
    for kind in (
        "released",
        "issued",
        "acknowledged",
        "rectified",
        "disputed",
        "commented",
        "accepted",
        "rejected",
        "upheld",
        "revised",
        "reissued",
        "closed",
    ):
        assert kind in kinds, kind
    page = manager.get(f"/notices/{reissued.id}").get_data(as_text=True)
    assert "Closed" in page and "Checked on site" in page


def test_release_all_ticked_releases_only_those_waiting(login, submitted, app, world):
    admin = login("admin")
    listing = admin.get("/office/inspections?status=submitted").get_data(as_text=True)
    assert 'form="release-form"' in listing
    response = admin.post("/office/inspections/release", {"ids": [str(submitted), "999999"]})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Inspection, submitted).status == "released"
    again = admin.post("/office/inspections/release", {"ids": [str(submitted)]})
    assert again.status_code == 302
    page = admin.get(again.headers["Location"]).get_data(as_text=True)
    assert "was not waiting for release" in page


def test_auto_release_releases_on_submit_and_issues_the_notice(login, world, app):
    app.config["AUTO_RELEASE"] = True
    from tests.factories import items

    c = login("inspector")
    iid = start(c, world.assignment_ids["inspector"][0])
    code = next(
        code
        for _v, code, item in items(app, iid)
        if not item.red_line and not item.photo_required_on_fail
    )
    answer_all(c, app, iid, result_for=lambda item: "fail" if item.code == code else "pass")
    assert submit(c, iid).status_code == 302
    with app.app_context():
        assert db.session.get(Inspection, iid).status == "released"
    assert notice_of(app, iid) is not None


def test_photos_of_an_answer_are_served_only_to_those_who_may_see_the_finding(
    login, submitted, app
):
    release(login, submitted)
    first = findings(app, submitted)[0]
    manager = login("outlet_manager")
    response = manager.post(
        f"/notices/findings/{first.id}/respond",
        {
            "uuid": str(uuid.uuid4()),
            "kind": "rectified",
            "note": "Cleared",
            "photos": [(__import__("io").BytesIO(jpeg(color=(20, 90, 200))), "fix.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        from shopper.notices.models import ResponsePhoto

        sha = db.session.scalars(select(ResponsePhoto)).one().sha256
    url = f"/photos/{sha}/thumb.jpg"
    assert manager.get(url).status_code == 200
    assert login("sub_branch_manager").get(url).status_code == 200
    assert login("admin").get(url).status_code == 200
    assert login("outlet_manager3").get(url).status_code == 404
    assert login("inspector2").get(url).status_code == 404


def test_an_outlet_whose_language_is_english_gets_its_notice_in_english(
    login, submitted, app, tmp_path
):
    with app.app_context():
        db.session.get(Inspection, submitted).outlet.language = "en"
        db.session.commit()
    release(login, submitted)
    notice = notice_of(app, submitted)
    pdf = login("outlet_manager").get(f"/notices/{notice.id}/pdf").data
    path = tmp_path / "en.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "Rectification Notice" in text and "整改通知书" not in text


def test_the_outlet_never_reads_head_offices_return_reason(login, submitted, app):
    admin = login("admin")
    assert (
        admin.post(
            f"/office/inspections/{submitted}/return", {"reason": "SECRET-REASON"}
        ).status_code
        == 302
    )
    assert submit(login("inspector"), submitted).status_code == 302
    release(login, submitted)
    notice = notice_of(app, submitted)
    manager = login("outlet_manager")
    for url in (f"/inspections/{submitted}", f"/notices/{notice.id}"):
        assert "SECRET-REASON" not in manager.get(url).get_data(as_text=True)
    assert "SECRET-REASON" in admin.get(f"/inspections/{submitted}").get_data(as_text=True)
    assert "SECRET-REASON" in admin.get(f"/notices/{notice.id}").get_data(as_text=True)
