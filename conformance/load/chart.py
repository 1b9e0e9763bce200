"""An inline SVG chart of a load run (throughput and p95 latency over time): no JavaScript, no external file."""

from __future__ import annotations

from html import escape

from conformance.load.results import LoadResult

WIDTH, HEIGHT, MARGIN = 560, 180, 36


def _polyline(points: list[tuple[float, float]], x_max: float, y_max: float, colour: str) -> str:
    if not points:
        return ""
    plot_w, plot_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN
    coords = " ".join(f"{MARGIN + plot_w * x / (x_max or 1):.1f},{HEIGHT - MARGIN - plot_h * y / (y_max or 1):.1f}"
                      for x, y in points)
    return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>'


def load_chart(result: LoadResult) -> str:
    """Requests/s (blue, left scale) and p95 ms (orange, right scale) against seconds since the start."""
    history = result.history
    x_max = max((p["t"] for p in history), default=result.duration_s) or 1.0
    rps_max = max((p["rps"] for p in history), default=0.0) or 1.0
    p95_max = max((p["p95_ms"] for p in history), default=0.0) or 1.0
    rps = _polyline([(p["t"], p["rps"]) for p in history], x_max, rps_max, "#1f77b4")
    p95 = _polyline([(p["t"], p["p95_ms"]) for p in history], x_max, p95_max, "#ff7f0e")
    title = escape(f"{result.users} users, {result.workers or 1} locust process(es), {result.sut_url}")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
            f'aria-label="load run: requests per second and p95 latency over time">'
            f'<title>{title}</title>'
            f'<rect x="{MARGIN}" y="{MARGIN}" width="{WIDTH - 2 * MARGIN}" height="{HEIGHT - 2 * MARGIN}" '
            f'fill="none" stroke="#999"/>{rps}{p95}'
            f'<text x="{MARGIN}" y="{MARGIN - 8}" font-size="11" fill="#1f77b4">req/s (max {rps_max:.0f})</text>'
            f'<text x="{WIDTH - MARGIN}" y="{MARGIN - 8}" font-size="11" fill="#ff7f0e" text-anchor="end">'
            f'p95 ms (max {p95_max:.0f})</text>'
            f'<text x="{WIDTH / 2}" y="{HEIGHT - 8}" font-size="11" text-anchor="middle">seconds ({x_max:.0f})</text>'
            f'</svg>')
