"""Scale data for benchmarks: many users, each with months of flashcard reviews behind them.

Every user has studied a random 200 to 400 of the active cards (``--cards``) and was last
here a few days ago (three on average). Each card was first reviewed some time in the
``--days`` before that and again each time it fell due (or a little later: people are late),
up to that last visit. Every grade goes through the app's own FSRS scheduling
(``apps.practice.scheduling.schedule``), so the states, due dates and review logs are the ones
real grading would have stored, and the cards that fell due since the last visit are due now,
as they would be for someone coming back to the site.

Rows go in with ``bulk_create``, and states and logs with COPY on PostgreSQL (no ``save()``, no
signals), one transaction per batch of users. The same ``--seed`` gives the same histories,
relative to now: FSRS draws its interval fuzz from the ``random`` module, which is seeded for
the run and then put back as it was.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta

import fsrs
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from apps.concepts.management.commands.generate_concepts import insert_rows
from apps.practice.models import Card, CardState, ReviewLog
from apps.practice.scheduling import schedule

USERNAME_PREFIX = "reviewer"
# How a reader grades, roughly: mostly Good, sometimes Again (Again, Hard, Good, Easy).
RATING_WEIGHTS = [0.12, 0.15, 0.6, 0.13]
AWAY_DAYS = 3  # the mean time since a user's last visit
LATE_HOURS = 18  # the mean delay between a card falling due and its review
STATE_FIELDS = ["user_id", "card_id", "fsrs", "due", "reps", "created_at", "updated_at"]
LOG_FIELDS = ["user_id", "card_id", "rating", "reviewed_at", "previous", "previous_reps"]
LOG_FIELDS += ["was_review"]


def parse_range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        low, high = int(low), int(high or low)
    except ValueError:
        raise CommandError(
            f"--cards takes a number or a range like 200-400, not {text!r}."
        ) from None
    if not 0 < low <= high:
        raise CommandError(f"--cards {text!r}: the range must be positive and in order.")
    return low, high


class Command(BaseCommand):
    help = (
        "Add generated users with flashcard review histories (for benchmarks at scale), "
        "graded through the app's FSRS scheduling. Bulk inserts without signals."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=1000)
        parser.add_argument("--cards", default="200-400", help="Cards studied per user: a range.")
        parser.add_argument("--days", type=int, default=120, help="How far back reviews go.")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch", type=int, default=50, help="Users per transaction.")
        parser.add_argument("--quick", action="store_true", help="A trial run: 50 users.")

    def handle(self, *args, users, cards, days, seed, batch, quick, **options):
        if quick:
            users = min(users, 50)
        low, high = parse_range(cards)
        if users < 1 or days < 1 or batch < 1:
            raise CommandError("--users, --days and --batch must be positive.")
        card_ids = list(Card.objects.active().order_by("pk").values_list("pk", flat=True))
        if not card_ids:
            raise CommandError("No flashcards yet: run `manage.py load_content` first.")
        started = time.monotonic()
        rng = random.Random(seed)
        now = timezone.now()
        people = self._create_users(users)
        states = logs = 0
        outside = random.getstate()
        random.seed(seed)  # FSRS's interval fuzz
        try:
            for start in range(0, len(people), batch):
                rows, history = [], []
                for user in people[start : start + batch]:
                    away = min(rng.expovariate(1 / AWAY_DAYS), days / 2)
                    last_visit = now - timedelta(days=away)
                    count = min(rng.randint(low, high), len(card_ids))
                    for card_id in rng.sample(card_ids, count):
                        state, card_logs = review_history(user.pk, card_id, last_visit, days, rng)
                        rows.append(state)
                        history += card_logs
                with transaction.atomic():
                    states += insert_rows(CardState, STATE_FIELDS, rows)
                    logs += insert_rows(ReviewLog, LOG_FIELDS, history)
        finally:
            random.setstate(outside)
        due = CardState.objects.filter(user__in=people, due__lte=now).count()
        self.stdout.write(
            f"created {len(people)} users, {states} card states ({due} due now) and {logs} "
            f"review logs in {time.monotonic() - started:.1f} s."
        )

    def _create_users(self, count: int) -> list:
        user_model = get_user_model()
        offset = user_model.objects.filter(username__startswith=f"{USERNAME_PREFIX}-").count()
        # One hash for all: hashing a password takes a deliberate fraction of a second.
        password = make_password("generated-user-password")
        new = [
            user_model(
                username=f"{USERNAME_PREFIX}-{offset + n:05d}",
                email=f"{USERNAME_PREFIX}-{offset + n:05d}@example.com",
                password=password,
            )
            for n in range(count)
        ]
        return user_model.objects.bulk_create(new, batch_size=1000)


def review_history(
    user_id: int, card_id: int, last_visit: datetime, days: int, rng: random.Random
) -> tuple[tuple, list[tuple]]:
    """One user's reviews of one card, graded through FSRS up to ``last_visit``: the state
    row and the log rows."""
    moment = first = last_visit - timedelta(days=rng.uniform(0, days))
    state, logs = None, []
    while moment <= last_visit:
        rating = rng.choices(range(1, 5), RATING_WEIGHTS)[0]
        was_review = state is not None and state["state"] == fsrs.State.Review
        logs.append((user_id, card_id, rating, moment, state, len(logs), was_review))
        state = schedule(state, card_id, rating, moment)
        last = moment
        late = timedelta(hours=rng.expovariate(1 / LATE_HOURS))
        moment = datetime.fromisoformat(state["due"]) + late
    due = datetime.fromisoformat(state["due"])
    return (user_id, card_id, state, due, len(logs), first, last), logs
