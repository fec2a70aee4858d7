"""A small flat SVG badge, "cache score | 87 B", coloured by grade (shields.io's look).

Self-contained (no fonts or images fetched), deterministic, and sized from approximate Verdana
11px glyph widths so the text fits its box.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from cacheaudit.model import Report

LABEL = "cache score"
GRADE_COLOR: dict[str | None, str] = {
    "A": "#4c1",
    "B": "#97ca00",
    "C": "#dfb317",
    "D": "#fe7d37",
    "F": "#e05d44",
    None: "#9f9f9f",  # nothing to audit
}
_NARROW = dict.fromkeys("ijlI.,:;|!'", 3.5)
_SEMI = dict.fromkeys("frt()[] -/", 4.6)
_WIDE = dict.fromkeys("mwMW%", 10.5)
_CAPS = dict.fromkeys("ABCDEFGHJKLNOPQRSTUVXYZ", 7.8)
GLYPH: dict[str, float] = {**_NARROW, **_SEMI, **_WIDE, **_CAPS, " ": 3.9}
DEFAULT_GLYPH = 6.9
PADDING = 10


def text_width(text: str) -> int:
    return round(sum(GLYPH.get(ch, DEFAULT_GLYPH) for ch in text))


def value_text(report: Report) -> str:
    score = report.score
    return "n/a" if score.overall is None else f"{score.overall} {score.grade}"


def svg(label: str, value: str, color: str) -> str:
    left = text_width(label) + PADDING
    right = text_width(value) + PADDING
    width = left + right
    title = escape(f"{label}: {value}")
    lx, rx = left / 2, left + right / 2
    label, value = escape(label), escape(value)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{title}">'
        f"<title>{title}</title>"
        '<linearGradient id="s" x2="0" y2="100%">'
        '<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>'
        '<g clip-path="url(#r)">'
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{color}"/>'
        f'<rect width="{width}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" '
        'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{lx:g}" y="15" fill="#010101" fill-opacity=".3">{label}</text>'
        f'<text x="{lx:g}" y="14">{label}</text>'
        f'<text x="{rx:g}" y="15" fill="#010101" fill-opacity=".3">{value}</text>'
        f'<text x="{rx:g}" y="14">{value}</text></g></svg>\n'
    )


def render(report: Report, *, color: bool = False) -> str:
    return svg(LABEL, value_text(report), GRADE_COLOR.get(report.score.grade, GRADE_COLOR[None]))
