"""Small inline SVG charts for self-contained HTML reports (no plotting library needed).

Every label is escaped; every coordinate is a number we computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, PAD = 360, 140, 24


def histogram(edges: Sequence[float], counts: Sequence[float], *, color: str = "#4c78a8") -> Markup:
    """Bars over numeric bins, the first and last edge labelled."""
    if not counts:
        return Markup("")
    top = max(*counts, 1)
    width = (WIDTH - 2 * PAD) / len(counts)
    bars = []
    for i, count in enumerate(counts):
        height = (HEIGHT - 2 * PAD) * count / top
        x = PAD + i * width
        y = HEIGHT - PAD - height
        tip = f"{edges[i]:.4g} – {edges[i + 1]:.4g}: {count:g}"
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width - 1, 1):.1f}" height="{height:.1f}" '
            f'fill="{color}"><title>{escape(tip)}</title></rect>'
        )
    labels = (
        f'<text x="{PAD}" y="{HEIGHT - 6}" font-size="10">{edges[0]:.4g}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 6}" font-size="10" text-anchor="end">{edges[-1]:.4g}</text>'
    )
    return Markup(_svg("".join(bars) + labels))


def bars(
    labels: Sequence[str], values: Sequence[float], *, color: str = "#f58518", unit: str = ""
) -> Markup:
    """Horizontal bars, one per label."""
    if not values:
        return Markup("")
    top = max(*(abs(v) for v in values), 1e-12)
    row = 18
    height = row * len(values) + 8
    items = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + i * row
        length = (WIDTH - 170) * abs(value) / top
        items.append(
            f'<text x="120" y="{y + 12}" font-size="11" text-anchor="end">{escape(str(label)[:24])}</text>'
            f'<rect x="126" y="{y + 2}" width="{length:.1f}" height="{row - 6}" fill="{color}"/>'
            f'<text x="{130 + length:.1f}" y="{y + 12}" font-size="10">{value:.4g}{escape(unit)}</text>'
        )
    return Markup(_svg("".join(items), height))


def _svg(body: str, height: int = HEIGHT) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img">{body}</svg>'
    )
