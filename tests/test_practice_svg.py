"""The practice charts' SVG: day labels under the columns never run into each other."""

import re
from datetime import date, timedelta
from itertools import pairwise

import pytest

from apps.practice import svg

TICK = re.compile(r'<text class="tick" x="([\d.]+)" y="[\d.]+" text-anchor="middle">([^<]*)</text>')
CHAR_WIDTH = 6  # at the charts' 10 px font, wider than the average glyph of a date label
GAP = 8  # labels that touch read as one


def day_labels(days: int) -> list[tuple[str, int]]:
    first = date(2026, 11, 5)
    return [(f"{first + timedelta(days=n):%d %b}", n % 5) for n in range(days)]


def ticks(chart: str) -> list[tuple[float, str]]:
    return [(float(x), label) for x, label in TICK.findall(chart)]


@pytest.mark.parametrize("days", [2, 7, 8, 14, 15, 29, 30, 31, 60, 90, 365])
@pytest.mark.parametrize("label_every", [1, 2, 7])
def test_day_labels_keep_a_labels_width_apart_and_keep_the_first_and_last(days, label_every):
    points = day_labels(days)
    shown = ticks(svg.columns(points, title="Reviews", y_label="n", label_every=label_every))
    assert shown[0][1] == points[0][0] and shown[-1][1] == points[-1][0]
    for (x, label), (next_x, next_label) in pairwise(shown):
        # Centred labels: half of each, side by side, and a gap.
        needed = CHAR_WIDTH * (len(label) + len(next_label)) / 2 + GAP
        assert next_x - x >= needed, f"{label} and {next_label} overlap ({days} days)"


def test_day_labels_keep_their_rhythm_when_there_is_room():
    shown = [label for _, label in ticks(svg.columns(day_labels(30), title="R", y_label="n"))]
    assert shown[:4] == ["05 Nov", "12 Nov", "19 Nov", "26 Nov"]  # weekly, as asked
    assert shown[-1] == "04 Dec"


def test_a_point_without_data_is_a_gap_not_a_column_of_zero():
    points = [("01 Mar", 80), ("02 Mar", None), ("03 Mar", 0)]
    chart = svg.columns(points, title="Retention", y_label="%", y_max=100, unit=" %")
    assert re.findall(r"<title>([^<]*)</title></rect>", chart) == ["01 Mar: 80 %", "03 Mar: 0 %"]
    full = svg.columns([*points[:1], ("02 Mar", 50), *points[2:]], title="Retention",
                       y_label="%", y_max=100, unit=" %")  # fmt: skip
    x = re.compile(r'<rect class="bar" x="([\d.]+)"')
    assert x.findall(chart) == x.findall(full)[::2], "the days after a gap keep their places"
