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


def compare(
    labels: Sequence[str],
    reference: Sequence[float],
    current: Sequence[float],
    *,
    colors: tuple[str, str] = ("#4c78a8", "#e45756"),
) -> Markup:
    """Two shares per bin side by side: the reference's and the current window's."""
    if not labels:
        return Markup("")
    top = max(*reference, *current, 1e-12)
    width = (WIDTH - 2 * PAD) / len(labels)
    items = []
    for i, label in enumerate(labels):
        for j, (value, color) in enumerate(((reference[i], colors[0]), (current[i], colors[1]))):
            height = (HEIGHT - 2 * PAD) * value / top
            x = PAD + i * width + j * width / 2
            tip = f"{label}: {'reference' if j == 0 else 'current'} {value:.1%}"
            items.append(
                f'<rect x="{x:.1f}" y="{HEIGHT - PAD - height:.1f}" width="{max(width / 2 - 1, 1):.1f}" '
                f'height="{height:.1f}" fill="{color}"><title>{escape(tip)}</title></rect>'
            )
    legend = (
        f'<rect x="{PAD}" y="4" width="10" height="10" fill="{colors[0]}"/>'
        f'<text x="{PAD + 14}" y="13" font-size="10">reference</text>'
        f'<rect x="{PAD + 80}" y="4" width="10" height="10" fill="{colors[1]}"/>'
        f'<text x="{PAD + 94}" y="13" font-size="10">current</text>'
        f'<text x="{PAD}" y="{HEIGHT - 6}" font-size="10">{escape(str(labels[0])[:20])}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 6}" font-size="10" text-anchor="end">{escape(str(labels[-1])[:20])}</text>'
    )
    return Markup(_svg("".join(items) + legend))
