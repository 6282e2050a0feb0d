"""Small inline SVG line charts for the portal, drawn on the server: no script, no chart library,
and readable with JavaScript off. Values are shares or accuracies, so the y axis is 0 to 1."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad")
WIDTH, HEIGHT, PAD = 560, 220, 36


def line_chart(title: str, xs: list[int], series: dict[str, list[float | None]]) -> Markup:
    """One line per series over the x values (model versions); gaps where a value is None."""
    span = max(len(xs) - 1, 1)

    def x(i: int) -> float:
        return PAD + (WIDTH - 2 * PAD) * (i / span if len(xs) > 1 else 0.5)

    def y(value: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * value

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for tick in (0.0, 0.5, 1.0):
        parts.append(
            f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="#ddd"/><text x="4" y="{y(tick) + 4:.1f}" font-size="11">{tick:g}</text>'
        )
    for i, version in enumerate(xs):
        parts.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - 12}" font-size="11" '
            f'text-anchor="middle">v{version}</text>'
        )
    for n, (name, values) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        points = [(x(i), y(v)) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>'
            )
        for px, py in points:
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>')
        parts.append(
            f'<text x="{PAD + 150 * n}" y="14" font-size="12" fill="{colour}">'
            f"■ {escape(name)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
