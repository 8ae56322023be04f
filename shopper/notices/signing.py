"""Signing a notice: PAdES, certified (no changes allowed), a visible field.

The signature is appended to the PDF WeasyPrint made as its second and last revision, and
its byte range covers the whole file, both revisions: nothing can follow it unnoticed.
(Copying the PDF into a fresh writer first, for a single revision, cost ~20 ms of a ~40 ms
signature: pyHanko parses every object of the file in Python.) The field's
appearance (issuing office, signing time, certificate subject) is drawn by Pillow: pyHanko
can lay out CJK text only with HarfBuzz, which we do not install. No Flask here.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import (
    AxisAlignment,
    BoxConstraints,
    InnerScaling,
    Margins,
    SimpleBoxLayoutRule,
)
from pyhanko.sign import fields, signers, timestamps
from pyhanko.stamp import StaticStampStyle

from shopper import pdf as pdf_module
from shopper.notices.pki import signer_for, subject_text
from shopper.notices.sync import outside_event_loop

FIELD_NAME = "NoticeSignature"
# Chinese labels by default; document.stamp_labels(lang) gives them in another language.
DEFAULT_LABELS = {
    "title": "数字签名",
    "office": "签发机构",
    "time": "签名时间",
    "certificate": "签名证书",
}
# When the HTML reserved no box: the bottom right of the last page, above the footer.
FALLBACK_BOX = pdf_module.SignatureBox(page=-1, box=(300, 70, 560, 126))
# room for the CMS signature without a timestamp: the chain (two certificates of ~1.5 KB),
# a 3072-bit signature and the signed attributes need ~5 KB; a bank's longer chain fits
_BYTES_RESERVED = 16 * 1024
STAMP_SCALE = 4  # image pixels per PDF point: sharp when printed
STAMP_COLOUR = (31, 58, 104)
# fontconfig's answer would need a subprocess; these are the Debian paths of the fonts we use
STAMP_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
# the time the field shows: where the bank is, unless the caller says otherwise
DEFAULT_TIMEZONE = "Asia/Shanghai"


def sign_pdf(
    pdf: bytes,
    signer: signers.Signer,
    *,
    signer_name: str,
    reason: str,
    location: str,
    tsa_url: str | None = None,
    field_box: pdf_module.SignatureBox | None = None,
    labels: Mapping[str, str] | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> bytes:
    """`pdf` signed by `signer` in a revision of its own that covers the whole file: PAdES
    baseline, certified with DocMDP "no changes", the signer's chain embedded, a visible
    field at `field_box` (the template's reserved box, else FALLBACK_BOX) naming
    `signer_name` (the issuing office), the signing time in `timezone` (an IANA name) and
    the certificate's subject. With `tsa_url`, an RFC 3161 timestamp from that server is
    embedded (network I/O). Raises pyHanko's errors (SigningError, PdfReadError) and
    ValueError on a bad box."""
    box = field_box or FALLBACK_BOX
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    signing_time = dt.datetime.now(ZoneInfo(timezone)).replace(microsecond=0)
    subject = subject_text(signer.signing_cert.subject)
    width, height = box.box[2] - box.box[0], box.box[3] - box.box[1]
    appearance = _appearance_image(
        width, height, signer_name, signing_time, subject, {**DEFAULT_LABELS, **(labels or {})}
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        name=signer_name,
        reason=reason,
        location=location,
    )
    pdf_signer = _TimedPdfSigner(
        metadata,
        signer=signer,
        timestamper=timestamps.HTTPTimeStamper(tsa_url) if tsa_url else None,
        stamp_style=StaticStampStyle(
            background=PdfImage(appearance, box=BoxConstraints(width, height)),
            background_layout=SimpleBoxLayoutRule(
                x_align=AxisAlignment.ALIGN_MID,
                y_align=AxisAlignment.ALIGN_MID,
                margins=Margins(),
                inner_content_scaling=InnerScaling.STRETCH_FILL,
            ),
            background_opacity=1.0,
            border_width=0,
        ),
        new_field_spec=fields.SigFieldSpec(FIELD_NAME, on_page=box.page, box=box.box),
        system_time=signing_time,
    )
    # a fixed reservation spares pyHanko a dummy signature to estimate the size (the TSA's
    # token, a few KB, would need a dummy request to the TSA)
    output = outside_event_loop(
        pdf_signer.sign_pdf, writer, bytes_reserved=None if tsa_url else _BYTES_RESERVED
    )
    return output.getvalue()


class _TimedPdfSigner(signers.PdfSigner):
    """A PdfSigner whose signing time is the one its appearance shows."""

    def __init__(self, *args, system_time: dt.datetime, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._system_time = system_time

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._system_time
        return session


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in STAMP_FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size, index=0)
    return ImageFont.load_default(size)


def _appearance_image(
    width: int,
    height: int,
    office: str,
    when: dt.datetime,
    subject: str,
    labels: Mapping[str, str],
) -> Image.Image:
    """The field's picture: a thin frame, the title, then office, time and certificate."""
    scale = STAMP_SCALE
    image = Image.new("RGBA", (width * scale, height * scale), (*STAMP_COLOUR, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle(
        (0, 0, image.width - 1, image.height - 1), outline=(*STAMP_COLOUR, 255), width=scale
    )
    lines = [
        (labels["title"], True),
        (_label(labels["office"], office), False),
        (_label(labels["time"], when.isoformat(sep=" ")), False),
        (_label(labels["certificate"], subject), False),
    ]
    padding = 3 * scale
    room = image.width - 2 * padding
    reference = _font(100)
    widest = max(draw.textlength(text, font=reference) for text, _bold in lines)
    by_height = (image.height - 2 * padding) / (len(lines) * 1.22)
    size = max(6 * scale, int(min(by_height, 100 * room / widest)))
    font = _font(size)
    y = padding + ((image.height - 2 * padding) - len(lines) * size * 1.22) / 2
    for text, bold in lines:
        draw.text(
            (padding, y),
            _fit(draw, text, font, room),
            font=font,
            fill=(*STAMP_COLOUR, 255),
            stroke_width=scale // 3 if bold else 0,
            stroke_fill=(*STAMP_COLOUR, 255),
        )
        y += size * 1.22
    return image


def _label(label: str, value: str) -> str:
    """ "标签：值" after Chinese, "Label: value" after a Latin label."""
    return f"{label}: {value}" if label[-1:].isascii() else f"{label}：{value}"


def _fit(draw: ImageDraw.ImageDraw, text: str, font, max_width: int) -> str:
    if draw.textlength(text, font=font) <= max_width:
        return text
    while text and draw.textlength(text + "…", font=font) > max_width:
        text = text[:-1]
    return text + "…"


def pdf_and_sign(
    html: str,
    signer: signers.Signer,
    sign_kwargs: Mapping[str, object],
) -> bytes:
    """Render `html` to PDF and sign it, the field in the box the template reserved."""
    rendered = pdf_module.render_pdf(html)
    return sign_pdf(rendered.data, signer, field_box=rendered.signature_box, **sign_kwargs)


def pdf_and_sign_from_html(
    html: str, signer_args: tuple, sign_kwargs: Mapping[str, object]
) -> bytes:
    """pdf_and_sign for a worker process: picklable arguments, the signer loaded once per
    process. `signer_args` is (pki_dir, p12_path, passphrase) as strings or None;
    `sign_kwargs` are sign_pdf's keyword arguments (signer_name, reason, location,
    tsa_url, labels). Render the HTML in the main process (document.render_html needs
    the app) and send it here: WeasyPrint's work, the bulk of the cost, runs in parallel."""
    signer = signer_for(*(str(a) if a is not None else None for a in signer_args))
    return pdf_and_sign(html, signer, sign_kwargs)


def render_and_sign(
    context: dict,
    lang: str,
    signer_args: tuple,
    sign_kwargs: Mapping[str, object] | None = None,
) -> bytes:
    """A notice's signed PDF from its context, in one call. Needs an app context (the
    templates); for bulk work call document.render_html here and pass the HTML to
    pdf_and_sign_from_html in worker processes. Default sign_kwargs: signer_name is the
    issuing office, reason and location from the context, labels in `lang`."""
    from shopper.notices import document  # Flask lives there, not in this module

    html = document.render_html(context, lang)
    kwargs = {
        "signer_name": context["issuer"],
        "reason": context["number"],
        "location": context["bank"],
        "labels": document.stamp_labels(lang),
        **(sign_kwargs or {}),
    }
    return pdf_and_sign_from_html(html, signer_args, kwargs)
