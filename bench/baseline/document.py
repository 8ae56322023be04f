"""The baseline's notice HTML (see bench/baseline/__init__.py): shopper/notices/document.py
as it was, rendering the frozen templates beside this file through the app's Jinja
environment (its translations)."""

from __future__ import annotations

import base64
import functools
import math
from html import escape
from pathlib import Path

import segno
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from jinja2 import FileSystemLoader

from bench.baseline.pdf import thumbnail_uri

TEMPLATES = {"outlet": "notices/outlet.html", "sub_branch": "notices/sub_branch.html"}
SEAL_RED = "#d0121b"


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
    env = _environment(current_app.jinja_env)
    with force_locale(locale):
        return env.get_template(template).render(
            notice=context,
            lang="en" if locale == "en" else "zh",
            page_words=page_words(),
            seal_uri=seal_data_uri(context["bank"], _("Inspection Seal")),
            qr_uri=qr_data_uri(context["verify_url"]),
        )


@functools.lru_cache(maxsize=4)
def _environment(app_env):
    """The app's Jinja environment reading the frozen templates (compiled once)."""
    return app_env.overlay(loader=FileSystemLoader(Path(__file__).parent / "templates"))


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
    """A QR code of `url` as an SVG data URI (vector: sharp in print, a few KB)."""
    return segno.make(url, error="m").svg_data_uri(scale=4, border=1, dark="#000")


@functools.lru_cache(maxsize=64)
def seal_data_uri(bank: str, label: str) -> str:
    """A round red seal in the style of a Chinese official seal: the bank's name along the
    top arc, a five-pointed star in the middle, `label` across the bottom."""
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
    for index, char in enumerate(chars):
        angle = -90 - span / 2 + span * (index + 0.5) / len(chars)
        x = centre + text_radius * math.cos(math.radians(angle))
        y = centre + text_radius * math.sin(math.radians(angle))
        parts.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{font_size}" fill="{SEAL_RED}" '
            f'font-family="WenQuanYi Micro Hei, sans-serif" font-weight="bold" '
            f'text-anchor="middle" dominant-baseline="central" '
            f'transform="rotate({angle + 90:.1f} {x:.1f} {y:.1f})">{escape(char)}</text>'
        )
    label_size = 15 if len(label) <= 8 else max(9, int(15 * 8 / len(label)))
    parts.append(
        f'<text x="{centre}" y="{centre + 52}" font-size="{label_size}" fill="{SEAL_RED}" '
        f'font-family="WenQuanYi Micro Hei, sans-serif" text-anchor="middle">'
        f"{escape(label)}</text>"
    )
    parts.append("</svg>")
    svg = "".join(parts).encode()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _star_points(cx: float, cy: float, outer: float, inner: float) -> str:
    points = []
    for index in range(10):
        r = outer if index % 2 == 0 else inner
        angle = math.radians(-90 + 36 * index)
        points.append(f"{cx + r * math.cos(angle):.1f},{cy + r * math.sin(angle):.1f}")
    return " ".join(points)
