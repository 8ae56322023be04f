"""A notice's HTML, from the plain dict the notice service prepares, in a given language.

The only module of the document layer that needs Flask (templates and translations);
pdf, signing and verify take plain data.
"""

from __future__ import annotations

import base64
import functools
import math
from dataclasses import dataclass
from html import escape

import segno
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from fontTools.pens.svgPathPen import SVGPathPen
from fontTools.ttLib import TTCollection, TTLibError
from markupsafe import Markup

from shopper.pdf import thumbnail_uri

TEMPLATES = {"outlet": "notices/outlet.html", "sub_branch": "notices/sub_branch.html"}
SEAL_RED = "#d0121b"
# A finding's head is justified at its one ASCII space, which pushes the lost points to
# the right edge (a float costs WeasyPrint ~10 ms a finding): its other words are joined
# by a four-per-em space (U+2005, a space's width, which justification leaves alone).
WORD_SPACE = "\u2005"
GAP = "\u3000"  # an ideographic space after the finding's number
DOT = WORD_SPACE + "·" + WORD_SPACE


def tight(text: object) -> str:
    """`text` with its spaces, tabs and line breaks made four-per-em spaces (see WORD_SPACE)."""
    return " ".join(str(text).split()).replace(" ", WORD_SPACE)


def line(text: object) -> object:
    """`text` on one line: its runs of spaces, tabs and line breaks made one space (a fact's
    value follows its label's tab; see notice.css). Markup (a macro's output) stays Markup,
    escaped once."""
    if isinstance(text, Markup):
        return Markup(" ").join(text.split())
    return " ".join(text.split()) if isinstance(text, str) else text


def untab(text: object) -> object:
    """`text` without tabs (a row's label ends at a tab stop; see notice.css)."""
    return text.replace("\t", " ") if isinstance(text, str) else text


def locale_for(lang: str) -> str:
    """Our locale name for a language code: "en" for English, otherwise Chinese."""
    return "en" if str(lang).lower().startswith("en") else "zh_CN"


def render_html(context: dict, lang: str) -> str:
    """The notice's HTML in `lang` (Chinese unless "en"). Needs an app context.

    `context["kind"]` picks the template: "outlet" or "sub_branch". Raises KeyError for
    another kind. The seal and the QR code (to context["verify_url"]) are drawn inline;
    the findings' photos (print copies) are shrunk to thumbnails. `context` is not changed.
    """
    template = TEMPLATES[context["kind"]]
    locale = locale_for(lang)
    if context.get("findings"):
        context = {**context, "findings": [_with_thumbnails(f) for f in context["findings"]]}
    with force_locale(locale):
        return render_template(
            template,
            notice=context,
            lang="en" if locale == "en" else "zh",
            page_words=page_words(),
            seal_uri=seal_data_uri(context["bank"], _("Inspection Seal")),
            qr_uri=qr_data_uri(context["verify_url"]),
            tight=tight,
            untab=untab,
            line=line,
            gap=GAP,
            dot=DOT,
        )


def page_words() -> tuple[str, str, str]:
    """The words before, between and after the page counters of "Page x of y", trimmed:
    the page margin's string() drops spaces at their edges, so notice.css puts a space
    around each counter. A translation must keep the page before the page count."""
    words = _("Page %(page)s of %(pages)s", page="\x00", pages="\x01")
    before, _page, rest = words.partition("\x00")
    middle, _pages, after = rest.partition("\x01")
    return before.strip(), middle.strip(), after.strip()


def _with_thumbnails(finding: dict) -> dict:
    if not finding.get("photos"):
        return finding
    return {**finding, "photos": [thumbnail_uri(photo) for photo in finding["photos"]]}


def stamp_labels(lang: str) -> dict[str, str]:
    """The words of the signature field's appearance (see signing.sign_pdf)."""
    with force_locale(locale_for(lang)):
        return {
            "title": _("Digitally signed"),
            "office": _("Issued by"),
            "time": _("Signed at"),
            "certificate": _("Certificate"),
        }


@functools.lru_cache(maxsize=256)
def qr_data_uri(url: str) -> str:
    """A QR code of `url` as a PNG data URI, 4 px a module, to be drawn without smoothing
    (notice.css: image-rendering: pixelated): as sharp in print as a vector, and a few
    hundred bytes; WeasyPrint spends ~20 ms parsing the SVG path of the same code."""
    return segno.make(url, error="m").png_data_uri(scale=4, border=1, dark="#000")


@functools.lru_cache(maxsize=64)
def seal_data_uri(bank: str, label: str) -> str:
    """A round red seal in the style of a Chinese official seal: the bank's name along the
    top arc, a five-pointed star in the middle, `label` across the bottom.

    The letters are the seal font's own outlines, as SVG paths (made once per process):
    WeasyPrint would lay out every <text> of the seal with Pango again in every notice.
    Without the font (or a glyph of it) they are SVG text in that font."""
    size, centre, radius = 200, 100, 94
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}">',
        f'<circle cx="{centre}" cy="{centre}" r="{radius}" fill="none" '
        f'stroke="{SEAL_RED}" stroke-width="6"/>',
        f'<polygon fill="{SEAL_RED}" points="{_star_points(centre, centre, 26, 10.5)}"/>',
    ]
    chars = list(bank) or [" "]
    span = min(250.0, 24.0 * len(chars) + 20)  # degrees of the arc the name takes
    font_size = 22 if len(chars) <= 10 else max(13, int(22 * 10 / len(chars)))
    text_radius = radius - 12 - font_size / 2
    outlines = _outlines(bank + label)
    for index, char in enumerate(chars):
        angle = -90 - span / 2 + span * (index + 0.5) / len(chars)
        x = centre + text_radius * math.cos(math.radians(angle))
        y = centre + text_radius * math.sin(math.radians(angle))
        if outlines is not None:
            parts.append(_glyph(outlines, char, x, y, angle + 90, font_size, bold=True))
            continue
        parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{font_size}" fill="{SEAL_RED}" '
            f'font-family="{SEAL_FONT_FAMILY}, sans-serif" font-weight="bold" '
            f'text-anchor="middle" dominant-baseline="central" '
            f'transform="rotate({angle + 90:.1f} {x:.1f} {y:.1f})">{escape(char)}</text>'
        )
    label_size = 15 if len(label) <= 8 else max(9, int(15 * 8 / len(label)))
    if outlines is not None:
        parts.append(_line(outlines, label, centre, centre + 52, label_size))
    else:
        parts.append(
            f'<text x="{centre}" y="{centre + 52}" font-size="{label_size}" '
            f'fill="{SEAL_RED}" font-family="{SEAL_FONT_FAMILY}, sans-serif" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    svg = "".join(parts).encode()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


SEAL_FONT_FAMILY = "WenQuanYi Micro Hei"
SEAL_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"  # Debian's fonts-wqy-microhei


@dataclass(frozen=True)
class _Outlines:
    paths: dict[str, tuple[str, float]]  # char -> (SVG path in font units, y up; advance)
    units: int  # font units per em
    middle: float  # the height of an ideograph's middle above the baseline, font units


def _outlines(text: str) -> _Outlines | None:
    """The seal font's outlines of the characters of `text`, or None when the font or one
    of its glyphs is missing."""
    font = _seal_font()
    if font is None:
        return None
    glyph_set, cmap, units, middle = font
    paths = {}
    for char in set(text):
        if char.isspace():
            paths[char] = ("", units / 3)
            continue
        name = cmap.get(ord(char))
        if name is None:
            return None
        pen = SVGPathPen(glyph_set)
        glyph_set[name].draw(pen)
        paths[char] = (pen.getCommands(), glyph_set[name].width)
    return _Outlines(paths, units, middle)


@functools.cache
def _seal_font():
    try:
        font = TTCollection(SEAL_FONT, lazy=True).fonts[0]
        glyph_set, cmap, units = font.getGlyphSet(), font.getBestCmap(), font["head"].unitsPerEm
        os2 = font["OS/2"]
        middle = (os2.sTypoAscender + os2.sTypoDescender) / 2
    except (OSError, KeyError, AttributeError, TTLibError):
        return None
    return glyph_set, cmap, units, middle


def _glyph(
    outlines: _Outlines, char: str, x: float, y: float, rotate: float, size: float, bold: bool
) -> str:
    """`char` centred on (x, y), turned by `rotate` degrees, `size` px high."""
    path, advance = outlines.paths[char]
    scale = size / outlines.units
    stroke = (
        f' stroke="{SEAL_RED}" stroke-width="{outlines.units * 0.035:.0f}" stroke-linejoin="round"'
        if bold
        else ""
    )
    return (
        f'<path fill="{SEAL_RED}"{stroke} transform="translate({x:.1f} {y:.1f}) '
        f"rotate({rotate:.1f}) scale({scale:.5f} {-scale:.5f}) "
        f'translate({-advance / 2:.0f} {-outlines.middle:.0f})" d="{path}"/>'
    )


def _line(outlines: _Outlines, text: str, centre: float, baseline: float, size: float) -> str:
    """`text` on one line, centred on `centre`, its baseline at `baseline`."""
    scale = size / outlines.units
    width = sum(outlines.paths[char][1] for char in text)
    parts, pen_x = [], -width / 2
    for char in text:
        path, advance = outlines.paths[char]
        if path:
            parts.append(f'<path transform="translate({pen_x:.0f} 0)" d="{path}"/>')
        pen_x += advance
    return (
        f'<g fill="{SEAL_RED}" transform="translate({centre} {baseline}) '
        f'scale({scale:.5f} {-scale:.5f})">{"".join(parts)}</g>'
    )


def _star_points(cx: float, cy: float, outer: float, inner: float) -> str:
    points = []
    for index in range(10):
        r = outer if index % 2 == 0 else inner
        angle = math.radians(-90 + 36 * index)
        points.append(f"{cx + r * math.cos(angle):.1f},{cy + r * math.sin(angle):.1f}")
    return " ".join(points)
