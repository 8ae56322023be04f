"""Charts as server-rendered SVG: pure functions from plain data to a self-contained SVG
string (presentation attributes only, no CSS or script, every text escaped), so the same
chart serves the page, print, a phone and the period report's PDF. Each chart has a
`<title>` and `<desc>`; the pages put a table of the same figures beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any

INK = "#1d2433"
MUTED = "#5b6578"
GRID = "#d9dee7"
FONT = "system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"
BAND_COLOURS = {
    "excellent": "#1f7a3f",
    "pass": "#1d4ed8",
    "fail": "#a14a00",
    "severe_fail": "#b42318",
}
OTHER = "#596273"


def band_colour(band: str | None) -> str:
    return BAND_COLOURS.get(band or "", OTHER)


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def fit(text: str, size: int, width: float) -> str:
    """`text` cut (with an ellipsis) to about `width` units at font `size`: wide (CJK)
    characters count as one em, others as about half of one."""
    used, out = 0.0, []
    for ch in text:
        w = size if ord(ch) > 0x2E7F else size * 0.55
        if used + w > width:
            return "".join(out).rstrip() + "…"
        used += w
        out.append(ch)
    return text


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" font-family="{_e(FONT)}" '
        f'preserveAspectRatio="xMinYMin meet">'
        f"<title>{_e(title)}</title><desc>{_e(desc)}</desc>"
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: object, size: int = 13, **attrs: object) -> str:
    fill = attrs.pop("fill", INK)
    extra = "".join(f' {k.replace("_", "-")}="{_e(v)}"' for k, v in attrs.items())
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" fill="{_e(fill)}"'
        f"{extra}>{_e(text)}</text>"
    )


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # in the chart's unit
    colour: str = "#1d4ed8"
    note: str = ""  # printed after the value (e.g. "12/40")


def bars(
    rows: Sequence[Bar],
    *,
    title: str,
    desc: str,
    unit: str = "",
    maximum: float | None = None,
    width: int = 420,
) -> str:
    """Horizontal bars, one per row, label above its bar: stays readable at phone width."""
    top = max((r.value for r in rows), default=0)
    scale_max = maximum if maximum is not None else (top or 1)
    left, right, row_h = 8, 8, 34
    usable = width - left - right - 110
    body = []
    y = 8
    for r in rows:
        y += 14
        body.append(_text(left, y, fit(r.label, 14, width - left - right), 14))
        length = 0 if scale_max <= 0 else max(0.0, min(1.0, r.value / scale_max)) * usable
        body.append(
            f'<rect x="{left}" y="{y + 4}" width="{_num(max(length, 1))}" height="12" '
            f'fill="{_e(r.colour)}"/>'
        )
        label = f"{_num(r.value)}{unit}" + (f"  {r.note}" if r.note else "")
        body.append(_text(left + length + 6, y + 15, label, 13, fill=MUTED))
        y += row_h - 14
    if not rows:
        y += 20
        body.append(_text(left, y, "—", 13, fill=MUTED))
    return _svg(width, y + 10, title, desc, body)


def histogram(
    bins: Sequence[tuple[Decimal, Decimal | None, int]],
    band_of: Mapping[Decimal, str],
    *,
    title: str,
    desc: str,
    width: int = 400,
    height: int = 230,
) -> str:
    """Vertical bars of counts per score bin, coloured by the band of the bin's low edge."""
    left, bottom, top = 36, 34, 16
    plot_h = height - bottom - top
    n = max(len(bins), 1)
    slot = (width - left - 8) / n
    peak = max((c for _l, _h, c in bins), default=0) or 1
    body = [
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 8}" y2="{height - bottom}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    ]
    for tick in (0, peak):
        y = height - bottom - plot_h * tick / peak
        body.append(_text(left - 4, y + 4, tick, 12, fill=MUTED, text_anchor="end"))
    for n_, (low, high, count) in enumerate(bins):
        x = left + n_ * slot
        h = plot_h * count / peak
        y = height - bottom - h
        colour = band_colour(band_of.get(low))
        body.append(
            f'<rect x="{_num(x + 2)}" y="{_num(y)}" width="{_num(max(slot - 4, 1))}" '
            f'height="{_num(h)}" fill="{colour}"/>'
        )
        if count:
            body.append(_text(x + slot / 2, y - 3, count, 11, fill=INK, text_anchor="middle"))
        label = f"{low:.0f}"
        if n_ == 0 and high is not None:
            label = f"<{high:.0f}"
        body.append(
            _text(x + slot / 2, height - bottom + 16, label, 12, fill=MUTED, text_anchor="middle")
        )
    return _svg(width, height, title, desc, body)


def trend(
    points: Sequence[tuple[str, Decimal | None, str | None]],
    thresholds: Sequence[tuple[Decimal, str]],
    *,
    title: str,
    desc: str,
    width: int = 400,
    height: int = 230,
) -> str:
    """A score line across periods (gaps where there is none), band thresholds dashed."""
    left, right, bottom, top = 36, 12, 40, 14
    values = [float(v) for _l, v, _b in points if v is not None]
    low = min([*values, *(float(t) for t, _c in thresholds if t > 0)], default=60.0)
    low = max(0.0, min(low, 100.0) - 5)
    high = 100.0
    plot_w = width - left - right
    plot_h = height - bottom - top
    n = max(len(points), 1)

    def y_of(v: float) -> float:
        return top + plot_h * (high - v) / (high - low or 1)

    def x_of(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n)

    body = []
    for value, code in thresholds:
        if low < float(value) < high:
            y = y_of(float(value))
            body.append(
                f'<line x1="{left}" y1="{_num(y)}" x2="{width - right}" y2="{_num(y)}" '
                f'stroke="{band_colour(code)}" stroke-width="1" stroke-dasharray="4 3"/>'
            )
            body.append(_text(left - 4, y + 4, f"{value:.0f}", 11, fill=MUTED, text_anchor="end"))
    body.append(
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )
    body.append(_text(left - 4, y_of(high) + 4, "100", 11, fill=MUTED, text_anchor="end"))
    segment: list[str] = []
    for i, (_label, value, _band) in enumerate(points):
        if value is None:
            if len(segment) > 1:
                body.append(_polyline(segment))
            segment = []
            continue
        segment.append(f"{_num(x_of(i))},{_num(y_of(float(value)))}")
    if len(segment) > 1:
        body.append(_polyline(segment))
    step = max(1, (n + 5) // 6)  # at most six period labels, so they never overlap
    for i, (label, value, band) in enumerate(points):
        x = x_of(i)
        if value is not None:
            y = y_of(float(value))
            body.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="4" fill="{band_colour(band)}"/>')
            body.append(_text(x, y - 8, f"{value}", 12, text_anchor="middle"))
        if i % step == 0:
            body.append(_text(x, height - bottom + 16, label, 11, fill=MUTED, text_anchor="middle"))
    return _svg(width, height, title, desc, body)


def _polyline(points: list[str]) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{INK}" stroke-width="2"/>'


# ---- the charts of the pages and of the period report ---------------------------------


def distribution_chart(bins, bands, *, title: str, desc: str) -> str:
    from shopper.core.scoring import band_for

    band_of = {low: band_for(low, bands, False).code for low, _h, _c in bins}
    return histogram(bins, band_of, title=title, desc=desc)


def weak_chart(rows: Sequence[Any], *, title: str, desc: str, limit: int = 12) -> str:
    """The worst `limit` weak indicators as bars of their failure rate (percent)."""
    chosen = list(rows)[:limit]
    return bars(
        [
            Bar(
                f"{r.item} {r.text}",
                float(r.rate),
                "#b42318" if r.rate >= 20 else "#a14a00" if r.rate >= 10 else "#596273",
                f"{r.failed}/{r.applied}",
            )
            for r in chosen
        ],
        title=title,
        desc=desc,
        unit="%",
        maximum=100.0,
    )


def trend_chart(points, bands, *, title: str, desc: str) -> str:
    thresholds = [(b.minimum, b.code) for b in bands if b.minimum > 0]
    return trend(
        [(p.period_code, p.score, p.band) for p in points], thresholds, title=title, desc=desc
    )


def report_charts(session, period, ranked, weak, settings) -> list[dict[str, str]]:
    """The period report's charts (shopper.results.report): score distribution and weak
    indicators, each with its text alternative."""
    from flask_babel import gettext as _

    from shopper.results import service

    bins = service.distribution(session, period, settings)
    counted = sum(c for _l, _h, c in bins)
    dist = distribution_chart(
        bins,
        settings.bands,
        title=_("Score distribution, %(period)s", period=period.code),
        desc=distribution_text(bins, counted),
    )
    weak_svg = weak_chart(
        weak,
        title=_("Weak indicators, %(period)s", period=period.code),
        desc=weak_text(weak),
    )
    return [
        {
            "section": "rankings",
            "title": _("Score distribution"),
            "svg": dist,
            "alt": distribution_text(bins, counted),
        },
        {
            "section": "weak",
            "title": _("Weak indicators"),
            "svg": weak_svg,
            "alt": weak_text(weak),
        },
    ]


def distribution_text(bins, counted: int) -> str:
    from flask_babel import gettext as _

    parts = []
    for low, high, count in bins:
        span = f"{low:.0f}–{high:.0f}" if high is not None else f"≥ {low:.0f}"
        parts.append(f"{span}: {count}")
    return _("%(num)s outlets ranked.", num=counted) + " " + "; ".join(parts)


def weak_text(weak, limit: int = 12) -> str:
    from flask_babel import gettext as _

    rows = list(weak)[:limit]
    if not rows:
        return _("No item applied in this period.")
    return "; ".join(f"{r.item}: {r.rate}% ({r.failed}/{r.applied})" for r in rows)
