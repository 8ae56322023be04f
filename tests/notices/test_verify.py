"""Verifying a notice: only the file exactly as we signed and stored it is genuine."""

from __future__ import annotations

import hashlib
import io

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject, copy_into_new_writer

from shopper import pdf
from shopper.notices import pki, signing
from shopper.notices.sync import outside_event_loop
from shopper.notices.verify import verify_notice
from tests.notices.conftest import sign_kwargs
from tests.notices.test_signing import pdfsig


@pytest.fixture
def notice(signed, small_context) -> bytes:
    return signed("small", small_context)


def store_of(*notices: bytes):
    known = {hashlib.sha256(data).hexdigest(): f"notice {i}" for i, data in enumerate(notices)}
    return known.get


def check(data: bytes, root_pem, lookup=None):
    return verify_notice(data, root_pem=root_pem, lookup=lookup or store_of())


def test_the_stored_notice_is_genuine(notice, root_pem):
    verdict = check(notice, root_pem, store_of(notice))
    assert verdict.status == "genuine"
    assert verdict.genuine
    assert verdict.record == "notice 0"
    assert verdict.sha256 == hashlib.sha256(notice).hexdigest()
    assert "Notice Signing" in verdict.signer


def test_a_notice_signed_in_its_only_revision_as_before_is_genuine(
    render, small_context, signer, root_pem, monkeypatch
):
    # notices issued before the signature became a revision of its own stay genuine
    def single_revision(stream, strict):
        return copy_into_new_writer(PdfFileReader(stream, strict=strict))

    monkeypatch.setattr(signing, "IncrementalPdfFileWriter", single_revision)
    rendered = pdf.render_pdf(render(small_context, "zh"))
    data = signing.sign_pdf(
        rendered.data, signer, field_box=rendered.signature_box, **sign_kwargs(small_context)
    )
    assert PdfFileReader(io.BytesIO(data)).xrefs.total_revisions == 1
    assert check(data, root_pem, store_of(data)).status == "genuine"


def test_a_good_notice_the_store_does_not_know_is_unknown(notice, root_pem):
    verdict = check(notice, root_pem, lambda sha: None)
    assert verdict.status == "unknown"
    assert verdict.record is None


def test_roots_may_be_a_list(notice, root_pem, other_pki_dir):
    roots = [pki.root_certificate_pem(other_pki_dir), root_pem]
    assert check(notice, roots, store_of(notice)).status == "genuine"


def test_one_byte_flipped_in_the_signed_range_is_altered(notice, root_pem):
    contents = notice.index(b"/Contents <")
    offsets = [
        notice.index(b"/Type /Catalog") + 7,  # the document's structure
        notice.index(b"stream\n", 1000) + 20,  # inside a compressed stream
        contents // 2,
        len(notice) - 40,  # in the trailer, after the signature's /Contents
    ]
    for offset in offsets:
        data = bytearray(notice)
        data[offset] ^= 0x01
        verdict = check(bytes(data), root_pem, store_of(notice, bytes(data)))
        assert verdict.status == "altered", offset


def test_bytes_appended_after_the_end_are_altered(notice, root_pem):
    data = notice + b"\n% nothing to see here\n"
    assert check(data, root_pem, store_of(data)).status == "altered"


def incremental(notice: bytes, change) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(notice), strict=False)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_an_incremental_update_adding_a_page_is_altered(notice, root_pem, tmp_path):
    def add_page(writer):
        content = writer.add_object(generic.StreamObject(stream_data=b"BT ET"))
        writer.insert_page(PageObject(contents=content, media_box=(0, 0, 595, 842)))

    data = incremental(notice, add_page)
    assert len(data) > len(notice)
    verdict = check(data, root_pem, store_of(data))
    assert verdict.status == "altered"
    assert "Total document signed" not in pdfsig(data, root_pem, tmp_path)


def test_an_incremental_update_adding_an_annotation_is_altered(notice, root_pem):
    def annotate(writer):
        page_ref = writer.find_page_for_modification(0)[0]
        annotation = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Text"),
                pdf_name("/Rect"): generic.ArrayObject(map(generic.NumberObject, (50, 50, 80, 80))),
                pdf_name("/Contents"): generic.TextStringObject("已整改"),
            }
        )
        writer.register_annotation(page_ref, writer.add_object(annotation))

    data = incremental(notice, annotate)
    assert check(data, root_pem, store_of(data)).status == "altered"


def test_a_notice_signed_by_another_root_with_our_names_is_not_ours(
    signed, small_context, root_pem, other_pki_dir
):
    impostor = pki.load_signer(other_pki_dir)
    data = signed("small-impostor", small_context, with_signer=impostor)
    verdict = check(data, root_pem, store_of(data))
    assert verdict.status == "not_ours"
    assert verdict.signer == check(signed("small", small_context), root_pem).signer  # same names


def test_an_unsigned_copy_is_not_ours(render, small_context, root_pem):
    data = pdf.html_to_pdf(render(small_context))
    assert check(data, root_pem, store_of(data)).status == "not_ours"


def test_a_truncated_notice_is_not_genuine(notice, root_pem):
    for size in (len(notice) // 2, len(notice) - 10, 20):
        verdict = check(notice[:size], root_pem, store_of(notice[:size]))
        assert verdict.status in ("altered", "not_pdf"), size


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello",
        b"\x89PNG\r\n\x1a\n" + b"\0" * 100,
        b"%PDF-",
        b"%PDF-1.7\n%%EOF",
        b"%PDF-1.7\n" + b"\xff" * 5000,
    ],
)
def test_what_is_not_a_pdf_is_not_pdf(data, root_pem):
    assert check(data, root_pem).status == "not_pdf"


def test_verify_never_raises_on_mangled_signatures(notice, root_pem):
    start = notice.index(b"/Contents <") + len(b"/Contents <")
    for garbage in (b"00" * 40, b"zz", b"30820000"):
        data = notice[:start] + garbage + notice[start + len(garbage) :]
        assert check(data, root_pem, store_of(data)).status in ("altered", "not_pdf", "not_ours")


def test_a_second_signature_is_altered(notice, root_pem, signer):
    from pyhanko.sign import fields, signers

    class CarelessSigner(signers.PdfSigner):
        def _enforce_certification_constraints(self, reader):
            pass  # pyHanko rightly refuses to sign a certified "no changes" document

    writer = IncrementalPdfFileWriter(io.BytesIO(notice), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name="Second", subfilter=fields.SigSeedSubFilter.PADES
    )
    data = outside_event_loop(CarelessSigner(meta, signer=signer).sign_pdf, writer).getvalue()
    assert check(data, root_pem, store_of(data)).status == "altered"


def test_sign_kwargs_helper_matches_the_context(small_context):
    assert sign_kwargs(small_context)["signer_name"] == small_context["issuer"]
