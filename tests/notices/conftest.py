"""Fixtures of the notice document layer: our PKI and an impostor's with the same names,
made once per run; signed notices rendered once per run and kind (rendering is slow)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from shopper import pdf
from shopper.notices import document, pki, signing
from tests.notices import samples

BANK = "示范银行"
_CACHE: dict[tuple, bytes] = {}


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pki") / "pki"
    pki.ensure_pki(folder, BANK)
    return folder


@pytest.fixture(scope="session")
def other_pki_dir(tmp_path_factory) -> Path:
    """Another root and signing certificate with exactly our names."""
    folder = tmp_path_factory.mktemp("other-pki") / "pki"
    pki.ensure_pki(folder, BANK)
    return folder


@pytest.fixture(scope="session")
def signer(pki_dir):
    return pki.load_signer(pki_dir)


@pytest.fixture(scope="session")
def root_pem(pki_dir) -> bytes:
    return pki.root_certificate_pem(pki_dir)


def sign_kwargs(context: dict) -> dict:
    return {
        "signer_name": context["issuer"],
        "reason": context["number"],
        "location": context["bank"],
    }


@pytest.fixture
def small_context() -> dict:
    """An outlet notice short enough to render quickly: 3 findings, 2 photos."""
    return samples.outlet_notice(findings=3, photos=2)


@pytest.fixture
def render(app):
    """render(context, lang="zh") → the notice's HTML, inside an app context."""

    def make(context: dict, lang: str = "zh") -> str:
        with app.app_context():
            return document.render_html(context, lang)

    return make


@pytest.fixture
def signed(render, signer):
    """signed(name, context, lang) → a notice signed with our PKI, once per run and name."""

    def make(name: str, context: dict, lang: str = "zh", with_signer=None) -> bytes:
        key = (name, lang, id(with_signer))
        if key not in _CACHE:
            rendered = pdf.render_pdf(render(context, lang))
            _CACHE[key] = signing.sign_pdf(
                rendered.data,
                with_signer or signer,
                field_box=rendered.signature_box,
                **sign_kwargs(context),
            )
        return _CACHE[key]

    return make


def pdftotext(data: bytes, tmp_path: Path, *args: str) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext is not installed (Debian package poppler-utils)")
    path = tmp_path / "notice.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", *args, str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
