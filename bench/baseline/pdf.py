"""The baseline's renderer (see bench/baseline/__init__.py), frozen.

HTML to PDF with WeasyPrint, fetching nothing: only `data:` URIs are read.

A document's HTML (a notice, a printed checklist) carries user text (notes, item wording);
whatever it smuggles in as a URL (file:, http:, a relative path) must not reach the disk or
the network. Fonts come from fontconfig, never from a URL. No Flask here.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from PIL import Image, ImageFile
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

# WeasyPrint switches on Pillow's LOAD_TRUNCATED_IMAGES for the whole process when imported;
# the photo pipeline must see truncated uploads as damaged, so switch it back off (the only
# images we render are our own data URIs).
ImageFile.LOAD_TRUNCATED_IMAGES = False

logger = logging.getLogger(__name__)

# The template marks the signature field's box with these two ids (top-left, bottom-right).
SIGNATURE_ANCHOR = "signature-field"
SIGNATURE_ANCHOR_END = "signature-field-end"
# Photos are drawn as thumbnails about 40 mm wide: the 1000 px print copies, whole, would
# make a notice with ten photos over 1 MB and cost WeasyPrint's HTML parser ~20 ms each.
# Halved by the JPEG decoder (cheap: no full decode), they still print at ~300 dpi.
THUMBNAIL_SIDE = 500
THUMBNAIL_QUALITY = 75
_CSS_PX_TO_PT = 0.75


class ForbiddenURL(ValueError):
    """A renderer asked for a URL that is not a data: URI."""


class DataOnlyFetcher(URLFetcher):
    """Serves data: URIs and refuses everything else, before any I/O."""

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        if not url.lower().startswith("data:"):
            logger.warning("notice PDF: refused to fetch %.80r", url)
            raise ForbiddenURL(f"only data: URIs are allowed, not {url[:80]!r}")
        header, comma, payload = url[5:].partition(",")
        if not comma:
            raise ForbiddenURL("malformed data: URI")
        params = header.split(";")
        media_type = params[0] or "text/plain"
        try:
            if "base64" in (p.strip().lower() for p in params[1:]):
                body = base64.b64decode(unquote_to_bytes(payload), validate=False)
            else:
                body = unquote_to_bytes(payload)
        except (binascii.Error, ValueError) as error:
            raise ForbiddenURL(f"malformed data: URI: {error}") from None
        content_type = "; ".join([media_type, *[p for p in params[1:] if "=" in p]])
        return URLFetcherResponse(url, body, {"Content-Type": content_type})


@dataclass(frozen=True)
class SignatureBox:
    """Where the template reserved the signature field: page index and a PDF rectangle
    (points, origin bottom-left)."""

    page: int
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int
    signature_box: SignatureBox | None


def render_pdf(
    html: str, base_url: str | None = None, stylesheets: Sequence[str] = ()
) -> RenderedPdf:
    """The PDF of `html`, its page count and the reserved signature box (if it has one).

    `stylesheets` are extra CSS texts applied after the document's own (the benchmark
    swaps fonts with them). Resources other than data: URIs are dropped, with a warning.
    """
    fetcher = DataOnlyFetcher()
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher).render(
        stylesheets=[CSS(string=css, url_fetcher=fetcher) for css in stylesheets] or None,
    )
    signature_box = _signature_box(document)
    data = document.write_pdf()
    return RenderedPdf(data=data, pages=len(document.pages), signature_box=signature_box)


def html_to_pdf(html: str, base_url: str | None = None) -> bytes:
    """The PDF of `html`; nothing but data: URIs is fetched."""
    return render_pdf(html, base_url).data


def _signature_box(document) -> SignatureBox | None:
    for index in range(len(document.pages) - 1, -1, -1):
        page = document.pages[index]
        start = page.anchors.get(SIGNATURE_ANCHOR)
        if not start:
            continue
        if len(start) == 4:  # WeasyPrint >= 68: the anchor's whole border box
            x1, y1, x2, y2 = start
        else:  # older: its top-left point only; the end marker gives the bottom-right
            end = page.anchors.get(SIGNATURE_ANCHOR_END)
            if not end:
                continue
            (x1, y1), (x2, y2) = start, end[:2]
        height = page.height * _CSS_PX_TO_PT
        return SignatureBox(
            page=index,
            box=(
                round(x1 * _CSS_PX_TO_PT),
                round(height - y2 * _CSS_PX_TO_PT),
                round(x2 * _CSS_PX_TO_PT),
                round(height - y1 * _CSS_PX_TO_PT),
            ),
        )
    return None


@functools.lru_cache(maxsize=512)
def thumbnail_uri(uri: str, side: int = THUMBNAIL_SIDE) -> str:
    """A JPEG data URI shrunk to at most `side` px (the decoder's own scaling, then a
    bilinear finish); other URIs, small JPEGs and what Pillow cannot read come back as
    they are (the renderer decides what to do with them)."""
    header, comma, payload = uri.partition(",")
    if not comma or not header.lower().startswith("data:image/jpeg") or "base64" not in header:
        return uri
    try:
        with Image.open(io.BytesIO(base64.b64decode(payload))) as image:
            if max(image.size) <= side:
                return uri
            scale = side / max(image.size)
            # the decoder's scaling keeps both sides at least the requested ones
            image.draft("RGB", (int(image.width * scale), int(image.height * scale)))
            small = image.convert("RGB")
        if max(small.size) > side:
            small.thumbnail((side, side), Image.Resampling.BILINEAR)
        buffer = io.BytesIO()
        small.save(buffer, "JPEG", quality=THUMBNAIL_QUALITY)
    except (OSError, ValueError, binascii.Error, Image.DecompressionBombError):
        return uri
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
