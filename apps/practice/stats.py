"""A user's review statistics: reviews per day, retention, and the cards due ahead."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils.safestring import SafeString

from apps.practice import svg
from apps.practice.models import CardState, ReviewLog, start_of_day

PAST_DAYS = 30
AHEAD_DAYS = 14


@dataclass
class Day:
    day: date
    reviews: int = 0
    recalled: int = 0  # reviews of mature cards not graded Again
    mature: int = 0  # reviews of cards in the Review state

    @property
    def retention(self) -> float | None:
        return self.recalled / self.mature if self.mature else None


@dataclass
class Summary:
    days: list[Day]
    ahead: list[tuple[date, int]]
    studied: int
    charts: dict[str, SafeString] = field(default_factory=dict)

    @property
    def reviews(self) -> int:
        return sum(d.reviews for d in self.days)

    @property
    def retention(self) -> float | None:
        mature = sum(d.mature for d in self.days)
        return sum(d.recalled for d in self.days) / mature if mature else None


def summary(user, now: datetime) -> Summary:
    """The last PAST_DAYS days of reviews and the next AHEAD_DAYS days of due cards (UTC days).
    Retention is the share of reviews of cards in the Review state not graded Again."""
    today = start_of_day(now)
    since = today - timedelta(days=PAST_DAYS - 1)
    rows = (
        ReviewLog.objects.filter(user=user, reviewed_at__gte=since)
        .annotate(day=TruncDate("reviewed_at"))
        .values("day")
        .annotate(
            reviews=Count("pk"),
            mature=Count("pk", filter=Q(was_review=True)),
            recalled=Count("pk", filter=Q(was_review=True, rating__gt=ReviewLog.Rating.AGAIN)),
        )
    )
    by_day = {row["day"]: row for row in rows}
    days = []
    for n in range(PAST_DAYS):
        day = (since + timedelta(days=n)).date()
        row = by_day.get(day, {})
        days.append(Day(day, row.get("reviews", 0), row.get("recalled", 0), row.get("mature", 0)))
    states = CardState.objects.filter(user=user, card__retired=False)
    due_rows = (
        states.filter(due__lt=today + timedelta(days=AHEAD_DAYS))
        .annotate(day=TruncDate("due"))
        .values("day")
        .annotate(n=Count("pk"))
    )
    ahead = {(today + timedelta(days=n)).date(): 0 for n in range(AHEAD_DAYS)}
    for row in due_rows:
        day = max(row["day"], today.date())  # overdue cards are due today
        ahead[day] += row["n"]
    result = Summary(days=days, ahead=sorted(ahead.items()), studied=states.count())
    result.charts = {
        "reviews": svg.columns(
            [(f"{d.day:%d %b}", d.reviews) for d in days],
            title="Reviews per day",
            y_label="Reviews",
        ),
        "retention": svg.columns(
            [(f"{d.day:%d %b}", _percent(d.retention)) for d in days],  # None: a gap
            title="Retention per day",
            y_label="Recalled (%)",
            y_max=100,
            unit=" %",
        ),
        "ahead": svg.columns(
            [(f"{day:%d %b}", n) for day, n in result.ahead],
            title="Cards due in the coming days",
            y_label="Cards",
            label_every=2,
        ),
    }
    return result


def _percent(share: float | None) -> int | None:
    return round(100 * share) if share is not None else None
