"""HTML to PDF with WeasyPrint, fetching nothing: only `data:` URIs are read.

A document's HTML (a notice, a printed checklist) carries user text (notes, item wording);
whatever it smuggles in as a URL (file:, http:, a relative path) must not reach the disk or
the network. Fonts come from fontconfig, never from a URL. No Flask here.

Per process (per thread: Pango is not thread-safe) the renderer keeps what does not change
from one document to the next: the font configuration (Pango's font map, with its font and
shaping caches) and the parsed stylesheets of `<style data-shared>` blocks and of
`stylesheets`, so that a notice's 5 KB of CSS is parsed once, not once per notice.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import logging
import re
import threading
import types
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

import pydyf
from PIL import Image, ImageFile
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

# WeasyPrint switches on Pillow's LOAD_TRUNCATED_IMAGES for the whole process when imported;
# the photo pipeline must see truncated uploads as damaged, so switch it back off (the only
# images we render are our own data URIs).
ImageFile.LOAD_TRUNCATED_IMAGES = False
# pydyf (WeasyPrint's PDF writer) deflates every stream at zlib's level 9: at level 6 a
# notice's PDF is written ~30 ms sooner (of ~250 ms) and 0.3% larger. It reads zlib through
# its module's global, so that global is given one whose compressobj goes no higher than 6.
_DEFLATE_LEVEL = 6


def _compressobj(level: int = -1, *args, **kwargs):
    return zlib.compressobj(min(level, _DEFLATE_LEVEL), *args, **kwargs)


if getattr(pydyf, "zlib", None) is zlib:
    pydyf.zlib = types.SimpleNamespace(compress=zlib.compress, compressobj=_compressobj)

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
# A style element marked data-shared (our templates' own CSS, never user text: Jinja escapes
# that) is taken out of the HTML and applied as a stylesheet parsed once per process and
# thread. The style elements are matched one after the other from their opening tags, so
# that the words of such a tag inside another one's CSS (a comment) are not taken for one.
_STYLE = re.compile(r"<style(\s[^>]*)?>(.*?)</style\s*>", re.S | re.I)
_SHARED = re.compile(r"\sdata-shared(\s|=|$)", re.I)
_STYLESHEETS_CACHED = 16
# A document with @font-face adds its fonts to the font configuration: it gets a fresh one
# (and its stylesheets are parsed for it alone), so that it cannot change the fonts of the
# documents after it.
_FONT_FACE = re.compile(r"@font-face", re.I)
# Long base64 data: URIs in quoted attributes (photos, the seal) are taken out of the HTML
# before it is parsed, and served by the fetcher under a short made-up URL of this document
# alone: the HTML parser reads an attribute a character at a time (~5 ms a 50 KB photo).
# Only base64 is taken (no character of it can end an attribute or be an entity).
_LONG_DATA_URI = re.compile(
    r'"(data:[a-z]+/[a-z0-9.+-]+(?:;[a-z0-9_.+-]+=[a-z0-9_.+-]+)*;base64,[a-z0-9+/]{200,}=*)"',
    re.I,
)
INLINE_SCHEME = "x-shopper-inline"
_local = threading.local()


class ForbiddenURL(ValueError):
    """A renderer asked for a URL that is not a data: URI."""


class DataOnlyFetcher(URLFetcher):
    """Serves data: URIs and refuses everything else, before any I/O. `inline` maps the
    made-up URLs of the data: URIs taken out of a document (see _LONG_DATA_URI) to them."""

    def __init__(self, inline: dict[str, str] | None = None, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._inline = inline or {}

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        url = self._inline.get(url, url)
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
    swaps fonts with them). A `<style data-shared>` element of the document is applied the
    same way, before them: both are parsed once per process and thread, and both count
    as user stylesheets (above the browser's defaults, below any other <style> of the
    document). Resources other than data: URIs are dropped, with a warning.
    """
    own_fonts = _FONT_FACE.search(html) or any(_FONT_FACE.search(css) for css in stylesheets)
    shared: list[str] = []
    html = _STYLE.sub(lambda match: _take_shared(match, shared), html)
    # after the shared CSS is out: a sheet parsed once must not keep this document's URLs
    inline: dict[str, str] = {}
    html = _LONG_DATA_URI.sub(lambda match: _take_inline(match, inline), html)
    fetcher = DataOnlyFetcher(inline)
    if own_fonts:
        font_config = FontConfiguration()
        sheets = [
            CSS(string=css, url_fetcher=fetcher, font_config=font_config)
            for css in (*shared, *stylesheets)
        ]
    else:
        font_config = _font_config()
        sheets = [_stylesheet(css) for css in (*shared, *stylesheets)]
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher).render(
        font_config=font_config, stylesheets=sheets or None
    )
    signature_box = _signature_box(document)
    data = document.write_pdf()
    return RenderedPdf(data=data, pages=len(document.pages), signature_box=signature_box)


def _take_shared(match: re.Match, shared: list[str]) -> str:
    """A style element's CSS appended to `shared` (and the element dropped) if it is marked
    data-shared; any other element as it was."""
    if not _SHARED.search(match.group(1) or ""):
        return match.group(0)
    shared.append(match.group(2))
    return ""


def _take_inline(match: re.Match, inline: dict[str, str]) -> str:
    """A made-up URL standing for the match's data: URI, the two kept in `inline`."""
    url = f"{INLINE_SCHEME}:{len(inline)}"
    inline[url] = match.group(1)
    return f'"{url}"'


def _font_config() -> FontConfiguration:
    """This thread's font configuration, made on first use. Reusing it keeps Pango's font
    map warm (fonts opened, glyphs shaped) from one document to the next."""
    font_config = getattr(_local, "font_config", None)
    if font_config is None:
        font_config = _local.font_config = FontConfiguration()
    return font_config


def _stylesheet(css: str) -> CSS:
    """`css` parsed, from this thread's cache (the most recent few stylesheets)."""
    cache: dict[str, CSS] = getattr(_local, "stylesheets", None) or {}
    _local.stylesheets = cache
    sheet = cache.pop(css, None)
    if sheet is None:
        sheet = CSS(string=css, url_fetcher=DataOnlyFetcher(), font_config=_font_config())
        while len(cache) >= _STYLESHEETS_CACHED:
            cache.pop(next(iter(cache)))
    cache[css] = sheet  # most recently used last
    return sheet


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
