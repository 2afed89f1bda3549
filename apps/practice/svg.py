"""Server-side SVG charts for practice: columns over days, and time against budget per step.

Built with format_html like ``apps.metrics.svg``, so every label is escaped and numbers go in as
text; the result is safe to embed. Each chart has a <title> and a table of the same numbers
beside it in the page, for readers who cannot see it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# Drawn about a phone's width, so that a phone shows the text near its own size (a chart twice
# as wide was shrunk to half, its 10 px labels to 5); a wide screen shows it a third larger.
WIDTH = 360
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 34
# A tick label is drawn at 10 px (site.css); its width is guessed from its length, generously,
# and two labels keep a gap, since labels that touch read as one.
TICK_CHAR_WIDTH, TICK_GAP = 6.5, 10


def _n(value: float) -> str:
    return f"{value:.1f}"


def _chart_id(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower())


def columns(
    points: Sequence[tuple[str, float | None]],
    *,
    title: str,
    y_label: str,
    y_max: float | None = None,
    unit: str = "",
    label_every: int = 7,
    height: int = 200,
) -> SafeString:
    """One column per point (e.g. per day), labelled every ``label_every`` points, or more
    sparsely where the labels would run into each other. A point whose value is None has no
    data (a day without reviews has no retention): it is a gap, never a column of 0."""
    top = y_max or max((value for _, value in points if value is not None), default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - TOP - BOTTOM
    step = plot_w / max(len(points), 1)
    bars = format_html_join(
        "",
        '<rect class="bar" x="{}" y="{}" width="{}" height="{}"><title>{}: {}{}</title></rect>',
        (
            (
                _n(LEFT + i * step + step * 0.15),
                _n(TOP + plot_h - plot_h * min(value, top) / top),
                _n(step * 0.7),
                _n(plot_h * min(value, top) / top),
                label, f"{value:g}", unit,
            )
            for i, (label, value) in enumerate(points)
            if value is not None
        ),
    )  # fmt: skip
    labelled = _labelled([label for label, _ in points], step, label_every)
    labels = format_html_join(
        "",
        '<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>',
        (
            (_n(LEFT + i * step + step / 2), height - BOTTOM + 16, label)
            for i, (label, _) in enumerate(points)
            if i in labelled
        ),
    )
    y0 = height - BOTTOM
    return format_html(
        '<svg class="chart practice-chart" viewBox="0 0 {} {}" role="img" '
        'aria-labelledby="{}-title"><title id="{}-title">{}</title>{}'
        '<line class="axis" x1="{}" y1="{}" x2="{}" y2="{}"/>'
        '<text class="tick" x="{}" y="{}" text-anchor="end">0</text>'
        '<text class="tick" x="{}" y="{}" text-anchor="end">{}{}</text>{}'
        '<text class="label" x="14" y="{}" text-anchor="middle" transform="rotate(-90 14 {})">{}'
        "</text></svg>",
        WIDTH, height, _chart_id(title), _chart_id(title), title, bars,
        LEFT, y0, WIDTH - RIGHT, y0,
        LEFT - 6, y0 + 4, LEFT - 6, TOP + 8, f"{top:g}", unit, labels,
        _n(TOP + plot_h / 2), _n(TOP + plot_h / 2), y_label,
    )  # fmt: skip


def _labelled(labels: Sequence[str], step: float, every: int) -> set[int]:
    """Which of the points ``step`` apart get their label: every ``every``-th, or fewer when
    the labels would not fit, and always the first and the last, never two that collide."""
    if not labels:
        return set()
    room = TICK_CHAR_WIDTH * max(len(label) for label in labels) + TICK_GAP
    every = max(every, math.ceil(room / step))
    chosen = list(range(0, len(labels), every))
    last = len(labels) - 1
    if chosen[-1] != last:
        if len(chosen) > 1 and (last - chosen[-1]) * step < room:
            chosen.pop()  # the last label matters more: it is today, or the latest attempt
        chosen.append(last)
    return set(chosen)


BUDGET_WIDTH, BUDGET_ROW = 360, 42


def budget_bars(rows: Sequence[tuple[str, float, float]], *, title: str) -> SafeString:
    """For each ``(label, spent, budget)`` in seconds, a bar of the time spent and a mark at
    the budget; a bar past its mark is drawn as over budget.

    Each step's name and times sit on a line above its bar, so the chart is narrow: a phone
    shows it at nearly its own size instead of shrinking a wide one until its words are specks.
    """
    left, right = 6, 10
    height = TOP + len(rows) * BUDGET_ROW + 34
    longest = max([max(spent, budget) for _, spent, budget in rows] or [1]) or 1
    plot_w = BUDGET_WIDTH - left - right

    def x(seconds: float) -> float:
        return left + plot_w * seconds / longest

    body = format_html_join(
        "",
        '<text class="label" x="{}" y="{}">{}</text>'
        '<text class="tick" x="{}" y="{}" text-anchor="end">{} / {}</text>'
        '<rect class="bar{}" x="{}" y="{}" width="{}" height="12">'
        "<title>{}: {} spent of {}</title></rect>"
        '<line class="budget" x1="{}" y1="{}" x2="{}" y2="{}"/>',
        (
            (
                left, TOP + i * BUDGET_ROW + 8, label,
                BUDGET_WIDTH - right, TOP + i * BUDGET_ROW + 8, _clock(spent), _clock(budget),
                " over" if spent > budget else "",
                left, TOP + i * BUDGET_ROW + 15, _n(max(x(spent) - left, 0.5)),
                label, _clock(spent), _clock(budget),
                _n(x(budget)), TOP + i * BUDGET_ROW + 12, _n(x(budget)), TOP + i * BUDGET_ROW + 30,
            )
            for i, (label, spent, budget) in enumerate(rows)
        ),
    )  # fmt: skip
    return format_html(
        '<svg class="chart practice-chart budget-chart" viewBox="0 0 {} {}" role="img" '
        'aria-labelledby="{}-title"><title id="{}-title">{}</title>{}'
        '<text class="tick" x="{}" y="{}">Bars: time spent. Marks: budget.</text>'
        '<text class="tick" x="{}" y="{}">Times in minutes:seconds.</text>'
        "</svg>",
        BUDGET_WIDTH, height, _chart_id(title), _chart_id(title), title, body,
        left, height - 20, left, height - 6,
    )  # fmt: skip


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"
