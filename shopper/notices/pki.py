"""The organisation's signing keys: a root CA and a notice-signing certificate it issued,
made on first run under PKI_DIR, or the bank's own certificate from a PKCS#12 file.

No Flask here; callers pass the configured paths.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import shutil
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign import signers
from pyhanko.sign.general import get_pyca_cryptography_hash

ROOT_CERT = "root.pem"
ROOT_KEY = "root.key"
SIGNING_CERT = "signing.pem"
SIGNING_KEY = "signing.key"
_FILES = (ROOT_KEY, ROOT_CERT, SIGNING_KEY, SIGNING_CERT)

_KEY_BITS = 3072
# Notices are verified for years after they were signed: validity outlives any notice's use.
_ROOT_YEARS = 30
_SIGNING_YEARS = 20


def ensure_pki(pki_dir: Path, organisation: str = "Shopper") -> None:
    """Make the root CA and the signing certificate under `pki_dir` unless they exist.

    Idempotent and safe when processes race: the four files are written in a private
    staging folder beside `pki_dir` that is renamed onto it in one step; the loser of a
    race discards its own. `pki_dir` ends up mode 0700 with keys 0600 (PEM, unencrypted:
    the folder's permissions are their protection). Raises FileExistsError if `pki_dir`
    holds other files but not ours.
    """
    pki_dir = Path(pki_dir)
    if (pki_dir / SIGNING_CERT).is_file():
        return
    pki_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{pki_dir.name}-", dir=pki_dir.parent))  # 0700
    try:
        for name, data in _make_pki(organisation).items():
            mode = 0o600 if name.endswith(".key") else 0o644
            descriptor = os.open(staging / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
        _fsync_folder(staging)
        try:
            # replaces a missing or empty folder atomically; fails if another process won
            os.rename(staging, pki_dir)
        except OSError:
            if not (pki_dir / SIGNING_CERT).is_file():
                raise FileExistsError(
                    f"{pki_dir} exists and does not hold a notice-signing PKI"
                ) from None
        else:
            _fsync_folder(pki_dir.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(staging)


def _make_pki(organisation: str) -> dict[str, bytes]:
    now = dt.datetime.now(dt.UTC)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
    root_name = _name(organisation, f"{organisation} Root CA")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * _ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
    signing = (
        x509.CertificateBuilder()
        .subject_name(_name(organisation, f"{organisation} Notice Signing"))
        .issuer_name(root_name)
        .public_key(signing_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * _SIGNING_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signing_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    return {
        ROOT_KEY: _key_pem(root_key),
        ROOT_CERT: root.public_bytes(serialization.Encoding.PEM),
        SIGNING_KEY: _key_pem(signing_key),
        SIGNING_CERT: signing.public_bytes(serialization.Encoding.PEM),
    }


def _name(organisation: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(**granted: bool) -> x509.KeyUsage:
    usages = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    return x509.KeyUsage(**{**usages, **granted})


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def load_signer(
    pki_dir: Path | str | None,
    p12_path: Path | str | None = None,
    passphrase: str | bytes | None = None,
) -> KeyCachingSigner:
    """A pyHanko signer with its chain: from the PKCS#12 file when one is configured,
    else from `pki_dir` (which ensure_pki must have made). Raises FileNotFoundError if
    the key material is missing, ValueError if it cannot be read."""
    if p12_path:
        if isinstance(passphrase, str):
            passphrase = passphrase.encode()
        signer = signers.SimpleSigner.load_pkcs12(str(p12_path), passphrase=passphrase)
    else:
        if pki_dir is None:
            raise ValueError("neither PKI_DIR nor SIGNING_P12 is configured")
        folder = Path(pki_dir)
        for name in (SIGNING_KEY, SIGNING_CERT, ROOT_CERT):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder / name} is missing: run ensure_pki first")
        signer = signers.SimpleSigner.load(
            str(folder / SIGNING_KEY),
            str(folder / SIGNING_CERT),
            ca_chain_files=(str(folder / ROOT_CERT),),
        )
    if signer is None:  # pyHanko logs the reason and returns None
        raise ValueError("the signing key or certificate could not be read")
    return KeyCachingSigner(
        signing_cert=signer.signing_cert,
        signing_key=signer.signing_key,
        cert_registry=signer.cert_registry,
        signature_mechanism=signer.signature_mechanism,
    )


class KeyCachingSigner(signers.SimpleSigner):
    """A SimpleSigner that turns its key into a cryptography key once, not per signature.

    pyHanko's SimpleSigner loads the key from DER on every signature (twice per PDF: the
    size estimate signs too), and loading an RSA key checks it: ~170 ms for 3072 bits.
    """

    _pyca_key = None

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            name = mechanism.signature_algo
        except ValueError:
            name = mechanism["algorithm"].native
        if name not in ("rsassa_pkcs1v15", "ecdsa"):
            return super().sign_raw(data, digest_algorithm)
        if self._pyca_key is None:
            self._pyca_key = serialization.load_der_private_key(
                self.signing_key.dump(), password=None
            )
        hash_algorithm = get_pyca_cryptography_hash(digest_algorithm)
        if name == "ecdsa":
            return self._pyca_key.sign(data, ec.ECDSA(hash_algorithm))
        return self._pyca_key.sign(data, padding.PKCS1v15(), hash_algorithm)


@functools.cache
def signer_for(
    pki_dir: str | None, p12_path: str | None = None, passphrase: str | bytes | None = None
) -> KeyCachingSigner:
    """load_signer, once per process and set of arguments (a bulk worker signs many)."""
    return load_signer(pki_dir, p12_path, passphrase)


def root_certificate_pem(pki_dir: Path | str) -> bytes:
    """Our root CA certificate, PEM: what a verifier trusts (and pdfsig's NSS database)."""
    return (Path(pki_dir) / ROOT_CERT).read_bytes()


def trust_roots(
    pki_dir: Path | str | None,
    p12_path: Path | str | None = None,
    passphrase: str | bytes | None = None,
) -> list[bytes]:
    """The root certificates (PEM) to trust for notices signed with this configuration:
    the self-signed certificates in the PKCS#12 file when one is configured (the bank's
    root should be among them), else our own root; plus our own root when both exist."""
    roots: list[bytes] = []
    if p12_path:
        if isinstance(passphrase, str):
            passphrase = passphrase.encode()
        _key, cert, others = pkcs12.load_key_and_certificates(
            Path(p12_path).read_bytes(), passphrase
        )
        for candidate in [c for c in [cert, *others] if c is not None]:
            if candidate.issuer == candidate.subject:
                roots.append(candidate.public_bytes(serialization.Encoding.PEM))
    if pki_dir and (Path(pki_dir) / ROOT_CERT).is_file():
        roots.append(root_certificate_pem(pki_dir))
    return roots


_NAME_PARTS = (
    ("common_name", "CN"),
    ("organizational_unit_name", "OU"),
    ("organization_name", "O"),
    ("locality_name", "L"),
    ("state_or_province_name", "ST"),
    ("country_name", "C"),
)


def subject_text(name) -> str:
    """An X.509 name (asn1crypto) as "CN=…, O=…, C=…", the most specific part first."""
    values = name.native
    parts = []
    for key, short in _NAME_PARTS:
        value = values.get(key)
        if value:
            parts.append(f"{short}={', '.join(value) if isinstance(value, list) else value}")
    return ", ".join(parts) or name.human_friendly
