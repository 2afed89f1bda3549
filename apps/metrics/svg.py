"""Server-side SVG charts: a curve with a marked point, a histogram and a reliability diagram.

Built with format_html, so every number and label is escaped; the result is safe to embed.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT = 320, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 40


def _x(value: float, lo: float, hi: float) -> float:
    span = (hi - lo) or 1.0
    return LEFT + (value - lo) / span * (WIDTH - LEFT - RIGHT)


def _y(value: float, lo: float, hi: float) -> float:
    span = (hi - lo) or 1.0
    return HEIGHT - BOTTOM - (value - lo) / span * (HEIGHT - TOP - BOTTOM)


def _axes(x_label: str, y_label: str, ticks: Sequence[float]) -> SafeString:
    x0, x1 = LEFT, WIDTH - RIGHT
    y0, y1 = HEIGHT - BOTTOM, TOP
    grid = format_html_join(
        "",
        '<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>'
        '<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>',
        (
            (x0, _n(_y(t, 0, 1)), x1, _n(_y(t, 0, 1)), x0 - 6, _n(_y(t, 0, 1) + 4), f"{t:g}",
             _n(_x(t, 0, 1)), y0 + 16, f"{t:g}")
            for t in ticks
        ),
    )  # fmt: skip
    return format_html(
        '{}<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<text class="label" x="{}" y="{}" text-anchor="middle">{}</text>'
        '<text class="label" x="14" y="{}" text-anchor="middle" transform="rotate(-90 14 {})">{}'
        "</text>",
        grid, x0, y0, x1, y0, x0, y0, x0, y1,
        _n((x0 + x1) / 2), HEIGHT - 6, x_label,
        _n((y0 + y1) / 2), _n((y0 + y1) / 2), y_label,
    )  # fmt: skip


def curve(
    points: Sequence[tuple[float, float]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    marker: tuple[float, float] | None = None,
    diagonal: bool = False,
    step: bool = False,
) -> SafeString:
    """A curve on the unit square, e.g. ROC or precision-recall, with the current point marked."""
    coords = []
    previous = None
    for x, y in points:
        if step and previous is not None:
            coords.append((_x(x, 0, 1), _y(previous[1], 0, 1)))
        coords.append((_x(x, 0, 1), _y(y, 0, 1)))
        previous = (x, y)
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    extra = SafeString("")
    if diagonal:
        extra = format_html(
            '<line class="chance" x1="{}" y1="{}" x2="{}" y2="{}"/>',
            _n(_x(0, 0, 1)), _n(_y(0, 0, 1)), _n(_x(1, 0, 1)), _n(_y(1, 0, 1)),
        )  # fmt: skip
    mark = SafeString("")
    if marker is not None:
        mark = format_html(
            '<circle class="marker" cx="{}" cy="{}" r="5"><title>{}</title></circle>',
            _n(_x(marker[0], 0, 1)), _n(_y(marker[1], 0, 1)),
            f"Current threshold: {x_label} {marker[0]:.3f}, {y_label} {marker[1]:.3f}",
        )  # fmt: skip
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title">'
        '<title id="{}-title">{}</title>{}{}<polyline class="series" points="{}"/>{}</svg>',
        WIDTH, HEIGHT, _id(title), _id(title), title,
        _axes(x_label, y_label, (0, 0.25, 0.5, 0.75, 1)), extra, path, mark,
    )  # fmt: skip


def histogram(
    edges: Sequence[float], counts: Sequence[int], *, title: str, x_label: str
) -> SafeString:
    """Bars for a histogram whose bins are given by ``edges`` (len(counts) + 1 values)."""
    lo, hi = edges[0], edges[-1]
    top = max(counts) or 1
    bars = format_html_join(
        "",
        '<rect class="bar" x="{}" y="{}" width="{}" height="{}">'
        "<title>{}–{} ms: {}</title></rect>",
        (
            (
                _n(_x(edges[i], lo, hi) + 0.5),
                _n(_y(count, 0, top)),
                _n(max(_x(edges[i + 1], lo, hi) - _x(edges[i], lo, hi) - 1, 0.5)),
                _n(_y(0, 0, top) - _y(count, 0, top)),
                f"{edges[i]:.4g}", f"{edges[i + 1]:.4g}", count,
            )
            for i, count in enumerate(counts)
        ),
    )  # fmt: skip
    x0, x1, y0 = LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title">'
        '<title id="{}-title">{}</title>{}'
        '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<text class="tick" x="{}" y="{}" text-anchor="start">{}</text>'
        '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>'
        '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>'
        '<text class="label" x="{}" y="{}" text-anchor="middle">{}</text></svg>',
        WIDTH, HEIGHT, _id(title), _id(title), title, bars,
        x0, y0, x1, y0, x0, y0, x0, TOP,
        x0, y0 + 16, f"{lo:.4g}", x1, y0 + 16, f"{hi:.4g}", x0 - 6, TOP + 8, top,
        _n((x0 + x1) / 2), HEIGHT - 6, x_label,
    )  # fmt: skip


def reliability(bins: Sequence[dict], *, title: str) -> SafeString:
    """A reliability diagram: each bin at (mean prediction, share of positives), joined in order,
    with the diagonal of perfect calibration. A dot's area grows with the bin's count."""
    largest = max(b["count"] for b in bins)
    points = [(_x(b["mean_predicted"], 0, 1), _y(b["fraction_positive"], 0, 1)) for b in bins]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dots = format_html_join(
        "",
        '<circle class="marker" cx="{}" cy="{}" r="{}"><title>{}</title></circle>',
        (
            (
                _n(x), _n(y), _n(2.5 + 4.5 * (b["count"] / largest) ** 0.5),
                f"{b['lower']:.3g}–{b['upper']:.3g}: {b['count']} predictions, mean "
                f"{b['mean_predicted']:.3f}, share of 1s {b['fraction_positive']:.3f}",
            )
            for (x, y), b in zip(points, bins, strict=True)
        ),
    )  # fmt: skip
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title">'
        '<title id="{}-title">{}</title>{}'
        '<line class="chance" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<polyline class="series" points="{}"/>{}</svg>',
        WIDTH, HEIGHT, _id(title), _id(title), title,
        _axes("Mean predicted probability", "Share of 1s", (0, 0.25, 0.5, 0.75, 1)),
        _n(_x(0, 0, 1)), _n(_y(0, 0, 1)), _n(_x(1, 0, 1)), _n(_y(1, 0, 1)), path, dots,
    )  # fmt: skip


def _n(value: float) -> str:
    """A coordinate, rounded: format_html escapes its arguments, so numbers go in as text."""
    return f"{value:.1f}"


def _id(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower())


def charts_for(calculator: str, result: dict) -> dict[str, SafeString]:
    """The charts a calculator's result is drawn with (empty when it has none)."""
    if calculator == "binary-classification" and result.get("roc_curve"):
        fpr = result["fp"] / (result["fp"] + result["tn"]) if result["fp"] + result["tn"] else 0.0
        recall = result["recall"] if result["recall"] is not None else 0.0
        precision = result["precision"] if result["precision"] is not None else 1.0
        return {
            "roc": curve(
                [(p["fpr"], p["tpr"]) for p in result["roc_curve"]],
                title="ROC curve", x_label="False positive rate", y_label="True positive rate",
                marker=(fpr, recall), diagonal=True,
            ),
            "pr": curve(
                [(p["recall"], p["precision"]) for p in result["pr_curve"]],
                title="Precision-recall curve", x_label="Recall", y_label="Precision",
                marker=(recall, precision), step=True,
            ),
        }  # fmt: skip
    if calculator == "calibration" and result.get("bins"):
        return {"reliability": reliability(result["bins"], title="Reliability diagram")}
    if calculator == "latency" and result.get("histogram"):
        return {
            "histogram": histogram(
                result["histogram"]["edges"], result["histogram"]["counts"],
                title="Latency histogram", x_label="Latency (ms)",
            )
        }  # fmt: skip
    return {}
