"""`flask --app shopper doctor`: a healthy deployment passes; each problem is a sentence
and a non-zero exit."""

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from shopper import doctor
from shopper.extensions import db


def run(app):
    return app.test_cli_runner().invoke(args=["doctor"])


def test_a_healthy_deployment_passes(app):
    app.config["SECRET_KEY"] = "k" * 64
    result = run(app)
    assert result.exit_code == 0, result.output
    assert "All checks passed" in result.output


def test_a_default_secret_key_is_a_problem(app):
    app.config["SECRET_KEY"] = "test-secret"
    result = run(app)
    assert result.exit_code == 1
    assert "secret key is a default or too short" in result.output


def test_unwritable_storage_is_a_problem(app, tmp_path):
    app.config["SECRET_KEY"] = "k" * 64
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    app.config["STORAGE_DIR"] = str(blocked / "storage")
    result = run(app)
    assert result.exit_code == 1 and "is not writable" in result.output


def test_an_unmigrated_database_is_a_problem(app, tmp_path):
    from shopper.db import make_engine

    empty = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    found = doctor.check_database(dict(app.config), empty)
    assert found and "init-db" in found[0]
    with app.app_context():
        assert doctor.check_database(dict(app.config), db.engine()) == []


def certificate(days_left: int) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=400))
        .not_valid_after(now + dt.timedelta(days=days_left))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.PEM)


def test_a_signing_certificate_near_or_past_its_end_is_a_problem(app, tmp_path):
    config = {**app.config, "PKI_DIR": str(tmp_path), "SIGNING_P12": None}
    (tmp_path / "signing.pem").write_bytes(certificate(days_left=10))
    assert "renew it now" in doctor.check_signing(config, None)[0]
    (tmp_path / "signing.pem").write_bytes(certificate(days_left=-1))
    assert "expired" in doctor.check_signing(config, None)[0]
    (tmp_path / "signing.pem").write_bytes(certificate(days_left=400))
    assert doctor.check_signing(config, None) == []


def test_a_missing_font_is_a_problem(app, monkeypatch):
    monkeypatch.setattr(doctor, "FONT", "No Such Font Family 12345")
    found = doctor.check_fonts(dict(app.config), None)
    assert found and "No Such Font Family 12345" in found[0]
