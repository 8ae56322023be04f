"""Is this file a notice we issued, exactly as we issued it?

A notice is genuine when all of these hold: it is a PDF with one signature, whose digest
matches (intact) and whose certificate chains to one of our roots (trusted); the signature
certifies the document with "no changes" and that holds (DocMDP); it covers the entire
file, as its last revision (WeasyPrint's PDF, then the signature; notices signed before
2026-12-02 have the one revision); and the file's SHA-256 is one the notice store knows.
No Flask here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal

from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from shopper.notices.pki import subject_text
from shopper.notices.sync import outside_event_loop

logger = logging.getLogger(__name__)

Status = Literal["genuine", "altered", "not_ours", "unknown", "not_pdf"]
# The PDF header may follow a little junk, says ISO 32000; we write it at the very start.
_HEADER_WITHIN = 1024


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What verify_notice found. `record` is what the lookup returned (genuine/unknown
    only); `reason` a short English phrase for logs, not for users."""

    status: Status
    sha256: str | None = None
    signer: str | None = None
    signed_at: dt.datetime | None = None
    record: Any = None
    reason: str = ""

    @property
    def genuine(self) -> bool:
        return self.status == "genuine"


def verify_notice(
    data: bytes,
    *,
    root_pem: bytes | Sequence[bytes],
    lookup: Callable[[str], Any | None],
) -> Verdict:
    """The verdict on `data`, trusting only the roots in `root_pem` (PEM or DER, one or a
    list). `lookup(sha256_hex)` returns the stored notice with that hash, or None. Never
    raises for bad input: what cannot be read is "not_pdf" (or "altered" when it bears a
    signature's byte range), what does not hold up is "altered" or "not_ours". Performs
    no network I/O. Raises only what `lookup` raises, and ValueError when `root_pem`
    holds no certificate."""
    roots = _roots(root_pem)
    if not data or b"%PDF-" not in data[:_HEADER_WITHIN]:
        return Verdict("not_pdf", reason="no PDF header")
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
        revisions = reader.xrefs.total_revisions
    except Exception as error:  # cannot parse: truncated, mangled, or no PDF at all
        # a signed PDF that no longer parses was damaged, by accident or on purpose
        status: Status = "altered" if b"/ByteRange" in data else "not_pdf"
        return Verdict(status, sha256, reason=f"unreadable: {type(error).__name__}")
    if not signatures:
        return Verdict("not_ours", sha256, reason="not signed")
    if len(signatures) > 1:
        return Verdict("altered", sha256, reason="more than one signature")
    signature = signatures[0]
    try:
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        status = outside_event_loop(
            validate_pdf_signature, signature, signer_validation_context=context
        )
    except Exception as error:
        logger.info("notice verification: %s: %s", type(error).__name__, error)
        return Verdict("altered", sha256, reason=f"cannot validate: {type(error).__name__}")
    signer = _subject(status)
    signed_at = getattr(status, "signer_reported_dt", None)
    found = {"sha256": sha256, "signer": signer, "signed_at": signed_at}
    if not (status.intact and status.valid):
        return Verdict("altered", **found, reason="signature does not match the content")
    if not status.trusted:
        return Verdict("not_ours", **found, reason="certificate not from our root")
    if signature.sig_object.get("/Type") != "/Sig" or not _certifies(signature):
        return Verdict("not_ours", **found, reason="not a certifying signature")
    if not status.docmdp_ok:
        return Verdict("altered", **found, reason="changed after certification")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return Verdict("altered", **found, reason="the signature does not cover the whole file")
    if revisions > 2 or signature.signed_revision != revisions - 1:
        # notices were once signed in their only revision, now in the second of two
        return Verdict("altered", **found, reason="more revisions than a notice has")
    record = lookup(sha256)
    if record is None:
        return Verdict("unknown", **found, reason="no stored notice has this hash")
    return Verdict("genuine", **found, record=record)


def _roots(root_pem: bytes | Sequence[bytes]) -> list[x509.Certificate]:
    blobs = [root_pem] if isinstance(root_pem, bytes | bytearray) else list(root_pem)
    roots = []
    for blob in blobs:
        if pem.detect(blob):
            roots.extend(x509.Certificate.load(der) for _t, _h, der in pem.unarmor(blob, True))
        else:
            roots.append(x509.Certificate.load(bytes(blob)))
    if not roots:
        raise ValueError("no trust root given")
    return roots


def _certifies(signature) -> bool:
    """True if the signature carries a DocMDP transform: a certification signature."""
    try:
        return signature.docmdp_level is not None
    except Exception:
        return False


def _subject(status) -> str | None:
    cert = getattr(status, "signing_cert", None)
    return subject_text(cert.subject) if cert is not None else None
