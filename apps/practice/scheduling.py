"""Spaced repetition through FSRS (the ``fsrs`` package): grading a card and undoing a grade.

The scheduler is the package's, with its default parameters (90 % desired retention, learning
steps of 1 and 10 minutes); nothing here computes an interval. Each function is a fixed, small
number of queries: the review page's requests are pinned at five in the tests.
"""

from __future__ import annotations

from datetime import datetime

import fsrs
from django.db import connection
from django.utils import timezone

from apps.practice.models import Card, CardState, ReviewLog, advance_state, card_state

SCHEDULER = fsrs.Scheduler()


def schedule(state: dict | None, card_id: int, rating: int, now: datetime) -> dict:
    """The FSRS state after grading a card ``rating`` (1 Again … 4 Easy) at ``now``."""
    card = fsrs.Card.from_dict(state) if state else fsrs.Card(card_id=card_id, due=now)
    card, _ = SCHEDULER.review_card(card, fsrs.Rating(rating), review_datetime=now)
    return card.to_dict()


def grade(user, card_id: int, rating: int, seen_reps: int, now: datetime | None = None) -> bool:
    """Grade a card for ``user``. ``seen_reps`` is the number of reviews the grader saw; if the
    card was graded since (a second tab, a double press), nothing happens and False is returned.
    Raises Card.DoesNotExist for a card that is not (or no longer) on offer. Three queries."""
    now = now or timezone.now()
    previous, reps = card_state(user, card_id)
    if reps != seen_reps:
        return False
    state = schedule(previous, card_id, rating, now)
    due = datetime.fromisoformat(state["due"])
    if previous is None:
        # ignore_conflicts: of two first grades racing (two tabs), the first stands and the
        # second is only logged, instead of failing on the unique constraint.
        CardState.objects.bulk_create(
            [CardState(user=user, card_id=card_id, fsrs=state, due=due, reps=1)],
            ignore_conflicts=True,
        )
    elif not advance_state(user, card_id, reps, state, now):
        return False
    ReviewLog.objects.create(
        user=user, card_id=card_id, rating=rating, reviewed_at=now, previous=previous,
        previous_reps=reps, was_review=bool(previous) and previous["state"] == fsrs.State.Review,
    )  # fmt: skip
    return True


def undo(user, deck_slug: str = "") -> int | None:
    """Take back ``user``'s latest grade, within the deck named ``deck_slug`` when one is (a
    reader pressing U in one deck means the grade they just gave there, not one given days ago
    in another); the card's id, or None when there is nothing to undo. Three queries."""
    logs = ReviewLog.objects.filter(user=user)
    if deck_slug:
        logs = logs.filter(card__deck__slug=deck_slug)
    log = logs.order_by("-reviewed_at", "-pk").first()
    if log is None:
        return None
    states = CardState.objects.filter(user=user, card_id=log.card_id)
    if log.previous is None:
        states.delete()
    else:
        due = datetime.fromisoformat(log.previous["due"])
        states.update(fsrs=log.previous, due=due, reps=log.previous_reps)
    log.delete()
    return log.card_id


def due_count(user) -> int:
    """Cards due for ``user`` now (the header's badge)."""
    return CardState.objects.filter(user=user, due__lte=timezone.now(), card__retired=False).count()


def due_count_sql() -> tuple[str, list]:
    """:func:`due_count` as one SQL value for the statement that reads the user of a page
    (``{user}`` is their id; apps.core.caching.per_request): the (user, due) index, then
    each due card's row by its key."""
    quote = connection.ops.quote_name
    state, card = quote(CardState._meta.db_table), quote(Card._meta.db_table)
    sql = (
        f"(SELECT COUNT(*) FROM {state} INNER JOIN {card} ON {card}.id = {state}.card_id"
        f" WHERE {state}.user_id = {{user}} AND {state}.due <= %s AND NOT {card}.retired)"
    )
    return sql, [connection.ops.adapt_datetimefield_value(timezone.now())]
