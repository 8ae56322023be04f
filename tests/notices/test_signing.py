"""Our PKI and the notice signature: certified, PAdES, the last revision covering the whole file,
visible on the last page."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import http.server
import io
import multiprocessing
import shutil
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from asn1crypto import keys, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, timestamps
from pyhanko.sign.general import load_cert_from_pemder
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from shopper.notices import pki, signing
from shopper.notices.sync import outside_event_loop
from shopper.notices.verify import verify_notice
from tests.notices.conftest import BANK, sign_kwargs

SMALL_HTML = """<!doctype html><html><body><p>通知 notice</p>
<div id="signature-field" style="position: absolute; left: 20mm; top: 200mm; width: 92mm;
height: 16mm"><span id="signature-field-end"></span></div></body></html>"""


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_pki_is_a_root_and_a_signing_certificate_it_issued(pki_dir):
    root, signing_cert = load(pki_dir / pki.ROOT_CERT), load(pki_dir / pki.SIGNING_CERT)
    assert root.subject == root.issuer
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert root.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    usage = signing_cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert signing_cert.issuer == root.subject
    signing_cert.verify_directly_issued_by(root)
    names = {a.oid: a.value for a in signing_cert.subject}
    assert names[x509.NameOID.ORGANIZATION_NAME] == BANK
    assert names[x509.NameOID.COMMON_NAME] == f"{BANK} Notice Signing"


def test_pki_folder_and_keys_are_private(pki_dir):
    assert stat.S_IMODE(pki_dir.stat().st_mode) == 0o700
    for name in (pki.ROOT_KEY, pki.SIGNING_KEY):
        assert stat.S_IMODE((pki_dir / name).stat().st_mode) == 0o600


def test_ensure_pki_is_idempotent(pki_dir):
    before = {p.name: p.read_bytes() for p in pki_dir.iterdir()}
    pki.ensure_pki(pki_dir, "another name")
    assert {p.name: p.read_bytes() for p in pki_dir.iterdir()} == before


def test_ensure_pki_racing_processes_leave_one_consistent_pki(tmp_path):
    folder = tmp_path / "pki"
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(3, mp_context=context) as pool:
        list(pool.map(pki.ensure_pki, [folder] * 3, [BANK] * 3))
    assert sorted(p.name for p in folder.iterdir()) == sorted(pki._FILES)
    assert [p.name for p in tmp_path.iterdir()] == ["pki"]  # no staging folder left
    load(folder / pki.SIGNING_CERT).verify_directly_issued_by(load(folder / pki.ROOT_CERT))
    key = serialization.load_pem_private_key((folder / pki.SIGNING_KEY).read_bytes(), None)
    assert key.public_key() == load(folder / pki.SIGNING_CERT).public_key()


def test_ensure_pki_refuses_a_folder_holding_something_else(tmp_path):
    folder = tmp_path / "pki"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        pki.ensure_pki(folder, BANK)


def test_load_signer_needs_the_pki(tmp_path):
    with pytest.raises(FileNotFoundError):
        pki.load_signer(tmp_path / "missing")


def test_signer_for_loads_once_per_process(pki_dir):
    assert pki.signer_for(str(pki_dir), None, None) is pki.signer_for(str(pki_dir), None, None)


def test_signed_notice_is_a_certified_pades_last_revision_covering_the_file(
    signed, small_context, pki_dir
):
    data = signed("small", small_context)
    assert data.count(b"%%EOF") == 2 and data.rstrip().endswith(b"%%EOF")
    reader = PdfFileReader(io.BytesIO(data))
    assert reader.xrefs.total_revisions == 2  # WeasyPrint's PDF, then the signature
    [signature] = reader.embedded_signatures
    assert signature.signed_revision == 1
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.docmdp_level == fields.MDPPerm.NO_CHANGES
    embedded = {c.subject.native["common_name"] for c in signature.embedded_attr_certs} | {
        c.subject.native["common_name"] for c in signature.other_embedded_certs
    }
    assert f"{BANK} Root CA" in embedded  # the chain is in the file
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(pki_dir / pki.ROOT_CERT))])
    status = outside_event_loop(
        validate_pdf_signature, signature, signer_validation_context=context
    )
    assert status.intact and status.valid and status.trusted and status.docmdp_ok
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE


def test_signature_field_is_visible_on_the_last_page_in_the_reserved_box(
    signed, small_context, render
):
    from shopper import pdf

    data = signed("small", small_context)
    reader = PdfFileReader(io.BytesIO(data))
    pages = reader.root["/Pages"]["/Kids"]
    last = pages[len(pages) - 1].get_object()
    [widget] = [a.get_object() for a in last["/Annots"] if a.get_object()["/FT"] == "/Sig"]
    box = pdf.render_pdf(render(small_context)).signature_box
    assert [round(float(v)) for v in widget["/Rect"]] == list(box.box)
    assert "/AP" in widget and widget["/F"] & 4  # has an appearance, printed


def test_signing_time_is_the_time_in_the_appearance(signed, small_context, root_pem):
    verdict = verify_notice(
        signed("small", small_context), root_pem=root_pem, lookup=lambda sha: "stored"
    )
    assert verdict.status == "genuine"
    assert verdict.signed_at.utcoffset().total_seconds() == 8 * 3600  # Asia/Shanghai
    assert verdict.signer == f"CN={BANK} Notice Signing, O={BANK}, C=CN"


def pdfsig(data: bytes, root_pem: bytes, tmp_path: Path) -> str:
    """pdfsig's report on `data`, with an NSS database that trusts `root_pem`."""
    if not shutil.which("pdfsig"):
        pytest.skip("pdfsig is not installed (Debian package poppler-utils)")
    if not shutil.which("certutil"):
        pytest.skip("certutil is not installed (Debian package libnss3-tools)")
    nss = tmp_path / "nss"
    nss.mkdir()
    (tmp_path / "root.pem").write_bytes(root_pem)
    (tmp_path / "notice.pdf").write_bytes(data)
    run = {"check": True, "capture_output": True, "text": True}
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], **run)
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            f"sql:{nss}",
            "-n",
            "root",
            "-t",
            "C,C,",
            "-i",
            str(tmp_path / "root.pem"),
        ],
        **run,
    )
    # pdfsig exits 0 whatever it finds: read what it says
    result = subprocess.run(
        ["pdfsig", "-nssdir", f"sql:{nss}", str(tmp_path / "notice.pdf")],
        capture_output=True,
        text=True,
    )
    return result.stdout + result.stderr


def test_pdfsig_finds_the_signature_valid_trusted_and_covering_the_document(
    signed, small_context, root_pem, tmp_path
):
    report = pdfsig(signed("small", small_context), root_pem, tmp_path)
    assert "Signature is Valid." in report
    assert "Total document signed" in report
    assert "Certificate is Trusted." in report


def test_pdfsig_sees_a_flipped_byte(signed, small_context, root_pem, tmp_path):
    data = bytearray(signed("small", small_context))
    data[len(data) // 3] ^= 0x01
    report = pdfsig(bytes(data), root_pem, tmp_path)
    assert "Signature is Valid." not in report


def test_pkcs12_from_configuration_signs_and_gives_its_root(pki_dir, root_pem, tmp_path):
    key = serialization.load_pem_private_key((pki_dir / pki.SIGNING_KEY).read_bytes(), None)
    bundle = pkcs12.serialize_key_and_certificates(
        b"bank",
        key,
        load(pki_dir / pki.SIGNING_CERT),
        [load(pki_dir / pki.ROOT_CERT)],
        serialization.BestAvailableEncryption(b"secret"),
    )
    path = tmp_path / "bank.p12"
    path.write_bytes(bundle)
    signer = pki.load_signer(None, path, "secret")
    data = signing.pdf_and_sign(
        SMALL_HTML, signer, sign_kwargs({"issuer": "办公室", "number": "N-1", "bank": BANK})
    )
    roots = pki.trust_roots(None, path, "secret")
    assert roots == [root_pem]
    assert verify_notice(data, root_pem=roots, lookup=lambda sha: 1).status == "genuine"


def test_pdf_and_sign_from_html_runs_in_a_worker_process(pki_dir, root_pem):
    context = multiprocessing.get_context("fork")
    kwargs = {"signer_name": "办公室", "reason": "N-1", "location": BANK}
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        data = pool.submit(
            signing.pdf_and_sign_from_html, SMALL_HTML, (str(pki_dir), None, None), kwargs
        ).result()
    assert verify_notice(data, root_pem=root_pem, lookup=lambda sha: 1).status == "genuine"


@pytest.fixture
def tsa_url():
    """A local RFC 3161 time-stamping server, answering with pyHanko's test TSA."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Test TSA")])
    now = dt.datetime.now(dt.UTC)
    tsa_cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    der = tsa_cert.public_bytes(serialization.Encoding.DER)
    key_der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    stamper = timestamps.DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(der), tsa_key=keys.PrivateKeyInfo.load(key_der)
    )
    requests: list[int] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests.append(len(body))
            response = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(response)))
            self.end_headers()
            self.wfile.write(response)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tsa", requests, der
    server.shutdown()
    server.server_close()


def test_a_configured_tsa_adds_a_timestamp(tsa_url, signer, root_pem, pki_dir):
    url, requests, tsa_root = tsa_url
    kwargs = {"signer_name": "办公室", "reason": "N-1", "location": BANK, "tsa_url": url}
    data = signing.pdf_and_sign(SMALL_HTML, signer, kwargs)
    assert requests  # asked the TSA
    [signature] = PdfFileReader(io.BytesIO(data)).embedded_signatures
    status = outside_event_loop(
        validate_pdf_signature,
        signature,
        signer_validation_context=ValidationContext(
            trust_roots=[load_cert_from_pemder(str(pki_dir / pki.ROOT_CERT))]
        ),
        ts_validation_context=ValidationContext(trust_roots=[asn1_x509.Certificate.load(tsa_root)]),
    )
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact and status.timestamp_validity.trusted
    assert verify_notice(data, root_pem=root_pem, lookup=lambda sha: 1).status == "genuine"


def test_the_signer_reads_its_key_once_not_per_signature(pki_dir, monkeypatch):
    signer = pki.load_signer(pki_dir)
    real = serialization.load_der_private_key
    calls = []

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(serialization, "load_der_private_key", counting)
    kwargs = {"signer_name": "办公室", "reason": "N-1", "location": BANK}
    for _ in range(2):
        signing.pdf_and_sign(SMALL_HTML, signer, kwargs)
    assert calls == [1]  # an RSA key costs ~170 ms to load and check


def test_render_and_sign_makes_a_genuine_notice_in_the_asked_language(
    app, small_context, pki_dir, root_pem, tmp_path
):
    from tests.notices.conftest import pdftotext

    with app.app_context():
        data = signing.render_and_sign(small_context, "en", (pki_dir, None, None))
    assert verify_notice(data, root_pem=root_pem, lookup=lambda sha: 1).status == "genuine"
    text = pdftotext(data, tmp_path)
    assert "Rectification Notice" in text
    assert small_context["outlet"] in text
