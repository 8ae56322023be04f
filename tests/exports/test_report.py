"""The period report: a signed PDF of coverage, rankings, bottom three, recognitions and
deductions, weak indicators and re-inspections, recognised by the public check."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from shopper.audit.models import AuditRecord
from shopper.extensions import db
from shopper.inspections.models import Answer
from shopper.models import Outlet, SubBranch
from shopper.notices import pki
from shopper.results import report
from tests.notices.test_signing import pdfsig

LEAK = '<img src="file:///etc/passwd">'


def text_of(pdf: bytes, tmp_path) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext is not installed (Debian package poppler-utils)")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def issue(office, programme) -> tuple[bytes, str]:
    """Issue a report through the page and download it: (the PDF, its number)."""
    response = office.post(f"/office/results/{programme.period_id}/reports")
    assert response.status_code == 302, response.get_data(as_text=True)
    page = office.get(f"/office/results/{programme.period_id}/exports").get_data(as_text=True)
    link = re.search(r'href="(/office/results/\d+/reports/([^"/]+)\.pdf)"', page)
    pdf = office.get(link.group(1))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    return pdf.get_data(), link.group(2)


@pytest.fixture
def chinese(office):
    office.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    return office


def test_the_chinese_report_names_the_sections_outlets_and_bottom_three(
    chinese, programme, app, tmp_path
):
    pdf, number = issue(chinese, programme)
    assert number == "TB-2026Q4-00001"
    text = text_of(pdf, tmp_path)
    with app.test_request_context(), force_locale("zh_CN"):
        headings = [
            _("Service Quality Inspection Report"),
            _("1. Coverage"),
            _("2. Ranking of sub-branches"),
            _("3. Ranking of outlets"),
            _("4. Recognitions and deductions"),
            _("5. Weak indicators"),
            _("6. Re-inspections"),
            _("Bottom three sub-branches: called to the review meeting"),
        ]
    flat = re.sub(r"\s+", "", text)
    for heading in headings:
        assert re.sub(r"\s+", "", heading) in flat, heading
    for name in (
        "东城人民路网点",
        "北湖公园网点",
        "西城长江网点",
        "中山支行",
        "南山支行",
        "北湖支行",
    ):
        assert name in text
    banner = flat[flat.index(re.sub(r"\s+", "", headings[-1])) :][:60]
    assert "中山支行" in banner and "南山支行" in banner and "北湖支行" in banner
    assert "东城支行" not in banner
    footers = re.findall(r"第\s*(\d+)\s*页\s*/\s*共\s*(\d+)\s*页", text)  # on every page
    assert footers and [int(n) for n, _total in footers] == list(range(1, len(footers) + 1))
    assert {int(total) for _n, total in footers} == {len(footers)} and len(footers) > 1
    assert number in text


def test_the_report_is_signed_valid_and_trusted(chinese, programme, app, tmp_path):
    pdf, _number = issue(chinese, programme)
    root = pki.root_certificate_pem(app.config["PKI_DIR"])
    found = pdfsig(pdf, root, tmp_path)
    assert "Signature is Valid." in found
    assert "Total document signed" in found
    assert "Certificate is Trusted." in found


def test_the_public_check_recognises_a_report_and_refuses_an_altered_copy(chinese, programme, app):
    pdf, number = issue(chinese, programme)
    from tests.conftest import Client

    visitor = Client(app)
    import io

    def upload(data: bytes):
        token = visitor.refresh_csrf()
        return visitor.http.post(
            "/verify/",
            data={"csrf_token": token, "file": (io.BytesIO(data), "report.pdf")},
            content_type="multipart/form-data",
        )

    genuine = upload(pdf)
    assert genuine.status_code == 200
    page = genuine.get_data(as_text=True)
    assert number in page and "Period report" in page and "2026Q4" in page
    altered = bytearray(pdf)
    altered[len(altered) // 3] ^= 0x01
    assert upload(bytes(altered)).status_code == 422


def test_issuing_stores_the_file_first_and_records_it_in_the_audit_trail(office, programme, app):
    pdf, number = issue(office, programme)
    with app.app_context():
        record = db.session.scalar(
            select(AuditRecord).where(AuditRecord.object_type == report.OBJECT_TYPE)
        )
        found = report.find_by_sha(db.session, record.object_id)
        assert found.number == number and found.lang == "en"
        from shopper.photos.service import storage

        assert storage().get(report.report_key(record.object_id)) == pdf
    second, again = issue(office, programme)
    assert again == "TB-2026Q4-00002"  # a new report, a new number; the first is kept


def test_the_english_report_for_an_english_viewer(office, programme, tmp_path):
    pdf, _number = issue(office, programme)
    text = text_of(pdf, tmp_path)
    assert "Service Quality Inspection Report" in text
    assert "Page 1 of" in text
    assert "Recognised outlets" in text and "东城人民路网点" in text
    assert "Provisional" in text  # 2026Q4 is still open


def test_user_text_in_the_report_is_text_and_fetches_nothing(
    office, programme, app, tmp_path, caplog
):
    with app.app_context():
        db.session.execute(update(Outlet).where(Outlet.code == "O42").values(name=LEAK))
        db.session.execute(update(SubBranch).where(SubBranch.code == "SB4").values(name=LEAK))
        db.session.execute(update(Answer).where(Answer.note != "").values(note=LEAK))
        db.session.commit()
    pdf, _number = issue(office, programme)
    text = text_of(pdf, tmp_path)
    assert 'img src="file:///etc/passwd"' in re.sub(r"\s+", " ", text)  # shown as words
    assert "root:" not in text
    assert not [r for r in caplog.records if "refused to fetch" in r.getMessage()]
