"""Practice: interview problems, timed mock interviews over a design doc, and flashcards.

Three parts, each with its own models:

* :class:`Problem` — an interview prompt with its answer key (a written page, like a concept);
* :class:`Attempt` and :class:`TimeSpan` — a timed mock interview and the time its writer spent
  on each step page, recorded on the server;
* :class:`Deck`, :class:`Card`, :class:`CardState` and :class:`ReviewLog` — flashcards built from
  the content (see ``apps.practice.cards``) and each user's spaced-repetition state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Case, IntegerField, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from apps.concepts.models import Concept
from apps.core.markdown import Link, find_links, render, render_inline
from apps.core.models import MarkdownPage
from apps.core.sql import fetch_one
from apps.designdocs.models import DesignDoc, Step
from apps.metrics.models import Metric

# --- Problems ----------------------------------------------------------------------------------


def check_rubric(rubric, step_slugs: Iterable[str]) -> dict[str, list[str]]:
    """The rubric as ``{step slug: [points]}``, or ValidationError saying what is wrong."""
    allowed = list(step_slugs)
    if not isinstance(rubric, dict):
        raise ValidationError("The rubric is a mapping of step slugs to lists of points.")
    cleaned = {}
    for step, points in rubric.items():
        if step not in allowed:
            raise ValidationError(
                f"The rubric names “{step}”, which is not a step; use {', '.join(allowed)}."
            )
        if not isinstance(points, list) or not all(_is_text(point) for point in points):
            raise ValidationError(f"The rubric of “{step}” must be a list of non-empty points.")
        cleaned[step] = [point.strip() for point in points]
    return cleaned


_LIST_ITEM = re.compile(r"^<li>(.*)</li>$", re.MULTILINE)


def render_items(items: list[str]) -> list[str]:
    """Each item rendered as inline Markdown. One pass for the whole list (as a bulleted list,
    split again afterwards) instead of one per item: a render costs milliseconds, and a problem
    has thirty items. An item that does not stay one list item is rendered on its own."""
    if not items:
        return []
    rendered = render("\n".join(f"- {' '.join(item.split())}" for item in items), glossary=False)
    found = _LIST_ITEM.findall(rendered.html)
    if len(found) == len(items) and rendered.html.count("<li>") == len(items):
        return found
    return [render_inline(item) for item in items]


def _is_text(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


class Problem(MarkdownPage):
    """A system design interview problem: the statement (``body``) and its answer key.

    ``concepts`` and ``metrics`` are slugs, in the author's order; a slug whose page does not
    exist yet is listed among the broken links rather than dropped.
    """

    class Difficulty(models.TextChoices):
        EASY = "easy", "Easy"
        MEDIUM = "medium", "Medium"
        HARD = "hard", "Hard"

    link_prefix = "problem"
    page_kind = "problem"
    url_name = "practice:problem"
    rendered_fields = (*MarkdownPage.rendered_fields, "details_html")

    title = models.CharField(max_length=200)
    difficulty = models.CharField(max_length=6, choices=Difficulty.choices)
    tags = models.JSONField(default=list, blank=True, help_text="Lower-case words, one per line.")
    scale = models.CharField(max_length=500, blank=True, help_text="The numbers to design for.")
    concepts = models.JSONField(default=list, blank=True, help_text="Concept slugs, one per line.")
    metrics = models.JSONField(default=list, blank=True, help_text="Metric slugs, one per line.")
    example = models.SlugField(
        max_length=80, blank=True, help_text="Slug of a worked example design doc, if there is one."
    )
    clarifying_questions = models.JSONField(default=list, blank=True)
    rubric = models.JSONField(
        default=dict, blank=True, help_text="For each step slug, the points a good answer covers."
    )
    pitfalls = models.JSONField(default=list, blank=True)
    # The questions, rubric points and pitfalls rendered as inline Markdown, on save.
    details_html = models.JSONField(editable=False, default=dict)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return self.url_for(self.slug)

    def render(self):
        self.details_html = {
            "clarifying_questions": render_items(self.clarifying_questions),
            "rubric": {step: render_items(points) for step, points in self.rubric.items()},
            "pitfalls": render_items(self.pitfalls),
        }
        rendered = super().render()
        missing = [str(link) for link in self.declared_links() if link not in self._existing()]
        self.broken_links = sorted({*self.broken_links, *missing})
        return rendered

    def declared_links(self) -> set[Link]:
        return {Link("", slug) for slug in self.concepts} | {
            Link("metric", slug) for slug in self.metrics
        }

    def _existing(self) -> set[Link]:
        concepts = Concept.objects.filter(slug__in=self.concepts).values_list("slug", flat=True)
        metrics = Metric.objects.filter(slug__in=self.metrics).values_list("slug", flat=True)
        return {Link("", s) for s in concepts} | {Link("metric", s) for s in metrics}

    def link_targets(self) -> set[Link]:
        """Its [[links]], in the body and in the questions, rubric and pitfalls, and the
        concepts and metrics it declares, for their backlinks (and so that a page they name
        appearing or moving renders them again)."""
        details = [*self.clarifying_questions, *self.pitfalls]
        details += [point for points in self.rubric.values() for point in points]
        written = {link for text in details if isinstance(text, str) for link in find_links(text)}
        return super().link_targets() | self.declared_links() | written

    def concept_pages(self) -> list[Concept]:
        """The declared concepts that exist, in the author's order."""
        pages = Concept.objects.filter(slug__in=self.concepts).only("slug", "title")
        found = {page.slug: page for page in pages}
        return [found[slug] for slug in self.concepts if slug in found]

    def metric_pages(self) -> list[Metric]:
        pages = Metric.objects.filter(slug__in=self.metrics).only("slug", "name")
        found = {page.slug: page for page in pages}
        return [found[slug] for slug in self.metrics if slug in found]

    def rubric_by_step(self, steps: Iterable[Step]) -> list[tuple[Step, list[str]]]:
        """``(step, rendered points)`` in the template's order, for the steps the rubric has."""
        rendered = self.details_html.get("rubric", {})
        return [(step, rendered[step.slug]) for step in steps if rendered.get(step.slug)]

    @property
    def rubric_size(self) -> int:
        return sum(len(points) for points in self.rubric.values())


DIFFICULTY_ORDER = Case(
    When(difficulty=Problem.Difficulty.EASY, then=Value(0)),
    When(difficulty=Problem.Difficulty.MEDIUM, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def filter_problems(problems: Iterable[Problem], tag: str = "", difficulty: str = "") -> list:
    """The problems with ``tag`` and ``difficulty`` (either may be "" for any). Tags are a JSON
    list, filtered here so that SQLite and PostgreSQL behave alike; there are a few dozen."""
    return [
        p
        for p in problems
        if (not tag or tag in p.tags) and (not difficulty or p.difficulty == difficulty)
    ]


# --- Mock interviews ---------------------------------------------------------------------------

#: A heartbeat arrives every 15 s while a step page is visible; a longer silence than this
#: means the page was closed, hidden or asleep, and the open span ends at its last heartbeat.
HEARTBEAT_GAP = timedelta(seconds=45)
#: Two presses of Start this close together start one interview.
DOUBLE_PRESS = timedelta(seconds=10)
#: Far more spans than a real interview makes (one per page load or return to the tab).
MAX_SPANS = 2000


def merged_seconds(spans: Iterable[tuple[datetime, datetime]]) -> float:
    """The length of the union of time spans: overlapping spans (two tabs) count once."""
    total, start, end = 0.0, None, None
    for span_start, span_end in sorted(spans):
        if end is None or span_start > end:
            if end is not None:
                total += (end - start).total_seconds()
            start, end = span_start, span_end
        else:
            end = max(end, span_end)
    if end is not None:
        total += (end - start).total_seconds()
    return total


@dataclass
class StepClock:
    """The countdowns a step page shows, in seconds (negative once over)."""

    step: Step
    budget: float
    spent: float
    left: float  # the whole interview
    total: float
    paused: bool
    finished: bool

    @property
    def step_left(self) -> float:
        return self.budget - self.spent

    @property
    def over_step(self) -> bool:
        return self.step_left <= 0

    @property
    def times_up(self) -> bool:
        return self.left <= 0


@dataclass
class StepTime:
    step: Step
    budget: float
    spent: float


class TooManySpans(Exception):
    pass


class Attempt(models.Model):
    """One timed mock interview: a problem, the design doc written for it, and its clock."""

    class Event(models.TextChoices):
        START = "start", "Page opened or shown"
        BEAT = "beat", "Page still open"
        LEAVE = "leave", "Page hidden or closed"

    MINUTE_CHOICES = [(35, "35 minutes"), (45, "45 minutes"), (60, "60 minutes")]

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_attempts"
    )
    problem = models.ForeignKey(Problem, on_delete=models.PROTECT, related_name="attempts")
    doc = models.OneToOneField(DesignDoc, on_delete=models.CASCADE, related_name="practice_attempt")
    minutes = models.PositiveSmallIntegerField(help_text="The whole interview's length.")
    # The rubric as it was when the attempt started, so a later edit never changes a score.
    rubric = models.JSONField(default=dict)
    rubric_html = models.JSONField(default=dict, editable=False)
    # Ticked rubric points: {step slug: [indexes into rubric[step]]}.
    ticks = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["user", "problem", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.problem} by {self.user} ({self.started_at:%Y-%m-%d %H:%M})"

    def get_absolute_url(self) -> str:
        return reverse("practice:attempt", args=[self.pk])

    @classmethod
    def just_started(cls, user, problem: Problem) -> Attempt | None:
        """The attempt ``user`` started at ``problem`` a moment ago (DOUBLE_PRESS), if any: a
        second press of Start, or a retried request, means that one, not another."""
        since = timezone.now() - DOUBLE_PRESS
        attempts = cls.objects.filter(user=user, problem=problem, finished_at=None)
        return attempts.filter(started_at__gte=since).order_by("-started_at").first()

    @classmethod
    def start(cls, user, problem: Problem, minutes: int) -> Attempt:
        """A new design doc for ``problem`` and the interview clock that times it, together:
        no page ever sees the doc without its clock (stored step pages rely on it). Pressed
        twice, it starts one (:meth:`just_started`)."""
        statement = problem.body.strip()
        with transaction.atomic():
            # The user's row locked: two presses at once are taken one after the other, so the
            # second sees the first's attempt (SQLite's IMMEDIATE transactions do this anyway).
            users = get_user_model().objects.select_for_update()
            list(users.filter(pk=user.pk).values_list("pk"))
            if (pressed := cls.just_started(user, problem)) is not None:
                return pressed
            doc = DesignDoc.objects.create(owner=user, title=problem.title, problem=statement)
            doc.record_revision("Started a mock interview")
            return cls.objects.create(
                user=user,
                problem=problem,
                doc=doc,
                minutes=minutes,
                rubric=problem.rubric,
                rubric_html=problem.details_html.get("rubric", {}),
            )

    # --- The clock ---------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def elapsed(self, now: datetime) -> float:
        """Interview seconds gone: wall time since the start, less the time spent paused."""
        end = self.finished_at or now
        seconds = (end - self.started_at).total_seconds() - self.paused_seconds
        if self.paused_at is not None:
            seconds -= (end - self.paused_at).total_seconds()
        return max(seconds, 0.0)

    @property
    def duration(self) -> float:
        """Interview seconds used so far (all of them, once finished)."""
        return self.elapsed(timezone.now())

    def remaining(self, now: datetime) -> float:
        return self.minutes * 60 - self.elapsed(now)

    def budgets(self, steps: Iterable[Step]) -> dict[int, float]:
        """Each step's share of the interview, in proportion to its suggested minutes."""
        steps = [s for s in steps if not s.optional]
        weight = sum(s.minutes for s in steps) or 1
        return {s.pk: self.minutes * 60 * s.minutes / weight for s in steps}

    def time_per_step(self) -> dict[int, float]:
        """Seconds each step page was open, overlapping tabs and reloads counted once."""
        spans: dict[int, list[tuple[datetime, datetime]]] = {}
        for step_id, start, end in self.spans.values_list("step_id", "started_at", "ended_at"):
            spans.setdefault(step_id, []).append((start, end))
        return {step_id: merged_seconds(items) for step_id, items in spans.items()}

    def clock(self, step: Step, now: datetime) -> StepClock:
        steps = list(Step.objects.order_by("order"))
        budget = self.budgets(steps).get(step.pk, 0.0)
        spans = self.spans.filter(step=step).values_list("started_at", "ended_at")
        return StepClock(
            step=step, budget=budget, spent=merged_seconds(spans), left=self.remaining(now),
            total=self.minutes * 60, paused=self.paused, finished=self.finished,
        )  # fmt: skip

    def step_times(self, steps: Iterable[Step]) -> list[StepTime]:
        budgets = self.budgets(steps)
        spent = self.time_per_step()
        return [
            StepTime(step=s, budget=budgets[s.pk], spent=spent.get(s.pk, 0.0))
            for s in steps
            if s.pk in budgets
        ]

    def record(self, event: str, step: Step, tab: str, now: datetime) -> None:
        """A step page says it opened, is still open, or left: extend or open this tab's span.

        Spans are kept per browser tab and merged when read, so a second tab never counts
        twice; a heartbeat more than HEARTBEAT_GAP after the last one starts a new span.
        Nothing is counted while the clock is paused or after the interview finished.
        """
        if self.finished or self.paused:
            return
        span = (
            self.spans.filter(step=step, tab=tab, open=True, ended_at__gte=now - HEARTBEAT_GAP)
            .order_by("-ended_at")
            .first()
        )
        if span is not None:
            span.ended_at = max(span.ended_at, now)
            span.open = event != self.Event.LEAVE
            span.save(update_fields=["ended_at", "open"])
        elif event != self.Event.LEAVE:
            if self.spans.count() >= MAX_SPANS:
                raise TooManySpans
            self.spans.create(step=step, tab=tab, started_at=now, ended_at=now)

    def _close_spans(self, now: datetime) -> None:
        """Close every open span, counting a live page's time since its last heartbeat: a step
        page beats every 15 s, so without this a pause or finish drops up to that much."""
        live = self.spans.filter(open=True, ended_at__gte=now - HEARTBEAT_GAP, ended_at__lt=now)
        live.update(ended_at=now)
        self.spans.filter(open=True).update(open=False)

    def pause(self, now: datetime) -> None:
        if self.finished or self.paused:
            return
        self._close_spans(now)
        self.paused_at = now
        self.save(update_fields=["paused_at"])

    def resume(self, now: datetime) -> None:
        if self.paused_at is None or self.finished:
            return
        self.paused_seconds += (now - self.paused_at).total_seconds()
        self.paused_at = None
        self.save(update_fields=["paused_at", "paused_seconds"])

    def finish(self, now: datetime) -> None:
        if self.finished:
            return
        self.resume(now)
        self._close_spans(now)
        self.finished_at = now
        self.save(update_fields=["finished_at"])

    # --- The self-review ---------------------------------------------------------------------

    def set_ticks(self, ticked: Iterable[str]) -> None:
        """Store the ticked points, given as ``"<step slug>:<index>"``; ValueError if unknown."""
        ticks: dict[str, list[int]] = {}
        for value in ticked:
            step, _, index = value.partition(":")
            points = self.rubric.get(step)
            # A point is named as the page writes it, "0" to "n-1": not "²" or "٣", which
            # isdigit() takes and int() refuses or reads, nor thousands of digits.
            if points is None or index not in {str(i) for i in range(len(points))}:
                raise ValueError(f"“{value[:40]}” is not a point of this problem's rubric.")
            ticks.setdefault(step, [])
            if int(index) not in ticks[step]:
                ticks[step].append(int(index))
        self.ticks = {step: sorted(indexes) for step, indexes in ticks.items()}
        self.save(update_fields=["ticks"])

    def is_ticked(self, step: str, index: int) -> bool:
        return index in self.ticks.get(step, [])

    def score(self) -> tuple[int, int]:
        """(points ticked, points in the rubric)."""
        total = sum(len(points) for points in self.rubric.values())
        covered = sum(
            len({i for i in self.ticks.get(step, []) if 0 <= i < len(points)})
            for step, points in self.rubric.items()
        )
        return covered, total

    @property
    def percent(self) -> int:
        covered, total = self.score()
        return round(100 * covered / total) if total else 0


class TimeSpan(models.Model):
    """A stretch of time one browser tab had one step page of an attempt open."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="spans")
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="+")
    tab = models.CharField(max_length=40)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    open = models.BooleanField(default=True, help_text="False once the page said it left.")

    class Meta:
        indexes = [models.Index(fields=["attempt", "step", "tab", "-ended_at"])]

    def __str__(self) -> str:
        return f"{self.attempt_id}/{self.step_id}: {self.started_at:%H:%M:%S}–{self.ended_at:%T}"


# --- Flashcards --------------------------------------------------------------------------------


class Deck(models.Model):
    """A group of cards: one per concept level, metric family and problem."""

    class Kind(models.TextChoices):
        LEVEL = "level", "Concepts by level"
        FAMILY = "family", "Metrics by family"
        PROBLEM = "problem", "Practice problems"

    slug = models.SlugField(max_length=120, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    order = models.PositiveIntegerField(default=0)
    source_url = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class CardQuerySet(models.QuerySet):
    def active(self):
        return self.filter(retired=False)


class Card(models.Model):
    """One flashcard built from the content; ``key`` stays the same when its text is edited,
    so a user's progress on it survives (see ``apps.practice.cards``)."""

    class Kind(models.TextChoices):
        REVIEW = "review", "Design-review question"
        METRIC = "metric", "Metric"
        TERM = "term", "Glossary term"
        PROBLEM = "problem", "Problem"

    key = models.CharField(max_length=200, unique=True)
    deck = models.ForeignKey(Deck, on_delete=models.CASCADE, related_name="cards")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    front = models.TextField(help_text="Markdown.")
    back = models.TextField(help_text="Markdown.")
    front_html = models.TextField(default="")
    back_html = models.TextField(default="")
    source_url = models.CharField(max_length=300, blank=True)
    order = models.PositiveIntegerField(default=0)
    retired = models.BooleanField(
        default=False, help_text="Its source is gone; kept so that progress returns with it."
    )

    objects = CardQuerySet.as_manager()

    class Meta:
        ordering = ["deck__order", "order"]
        indexes = [
            models.Index(fields=["deck", "retired", "order"]),
            # The review's counts and next card read the id, deck and order of every active
            # card: from this index alone (on PostgreSQL), not from the rows with their text.
            models.Index(
                fields=["id", "deck", "order"], condition=Q(retired=False),
                name="practice_card_active",
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.front[:80]


class CardState(models.Model):
    """One user's FSRS state of one card (``fsrs`` is ``fsrs.Card.to_dict()``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="card_states"
    )
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="states")
    fsrs = models.JSONField()
    due = models.DateTimeField()
    reps = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "card"], name="one_state_per_card")]
        indexes = [models.Index(fields=["user", "due"])]

    def __str__(self) -> str:
        return f"{self.user_id}/{self.card_id} due {self.due:%Y-%m-%d %H:%M}"


class ReviewLog(models.Model):
    """One grade, with the state it replaced so that it can be undone."""

    class Rating(models.IntegerChoices):
        # The values are fsrs.Rating's.
        AGAIN = 1, "Again"
        HARD = 2, "Hard"
        GOOD = 3, "Good"
        EASY = 4, "Easy"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_logs"
    )
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="+")
    rating = models.PositiveSmallIntegerField(choices=Rating.choices)
    reviewed_at = models.DateTimeField()
    previous = models.JSONField(
        null=True, blank=True, help_text="The FSRS state before; none if the card was new."
    )
    previous_reps = models.PositiveIntegerField(default=0)
    was_review = models.BooleanField(
        default=False, help_text="The card was in the Review state: counts towards retention."
    )

    class Meta:
        indexes = [models.Index(fields=["user", "-reviewed_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}/{self.card_id}: {self.get_rating_display()}"


#: New cards a user is shown per day and deck (all decks together when reviewing everything).
NEW_PER_DAY = 20
#: When nothing is due, cards being learned come back this much early instead of making the
#: reader wait a few minutes for them (Anki's "learn ahead").
LEARN_AHEAD = timedelta(minutes=20)


def start_of_day(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


# The review page asks for the counts and the next card (or a card by its id) on every request,
# and a grade looks up the card's state. Written with the ORM (FilteredRelation, filtered
# aggregates, a Case), each of these queries took more than a millisecond of Python to build
# and compile, several times what PostgreSQL takes to run it; written once as SQL they take a
# tenth of a millisecond. The SQL is plain enough for SQLite (3.30+: FILTER) and PostgreSQL
# alike, and the tests run both.

_STATE_JOIN = """
    FROM practice_card card
    LEFT JOIN practice_cardstate mine ON mine.card_id = card.id AND mine.user_id = %(user)s"""

_COUNTS_SQL = (
    """SELECT
    COUNT(*) FILTER (WHERE mine.due <= %(now)s),
    COUNT(*) FILTER (WHERE {scope} AND mine.due <= %(now)s),
    COUNT(*) FILTER (WHERE {scope} AND mine.id IS NULL),
    COUNT(*) FILTER (WHERE {scope} AND mine.created_at >= %(today)s),
    MIN(mine.due) FILTER (WHERE {scope} AND mine.due > %(now)s)"""
    + _STATE_JOIN
    + """
    WHERE NOT card.retired"""
)

# A card to show: ``chosen`` picks its id and the user's reviews of it from the narrow columns,
# and only then are the card's text and deck read.
_SHOWN_SQL = """SELECT card.id, card.deck_id, card.kind, card.front_html, card.back_html,
        chosen.reps, deck.id, deck.slug, deck.name, deck.kind, deck."order", deck.source_url
    FROM ({chosen}) chosen
    JOIN practice_card card ON card.id = chosen.id
    JOIN practice_deck deck ON deck.id = card.deck_id"""

_NEXT_SQL = (
    "SELECT card.id, mine.reps"
    + _STATE_JOIN
    + """
    JOIN practice_deck deck ON deck.id = card.deck_id
    WHERE NOT card.retired{scope} AND (mine.due <= %(ahead)s{new})
    ORDER BY CASE WHEN mine.due <= %(now)s THEN 0 WHEN mine.id IS NULL THEN 1 ELSE 2 END,
        mine.due, deck."order", card."order"
    LIMIT 1"""
)

_STATE_SQL = (
    "SELECT card.id, mine.reps, mine.fsrs"
    + _STATE_JOIN
    + """
    WHERE card.id = %(card)s AND NOT card.retired"""
)

# A grade moves the state on only from the reviews the grader saw (a stale page changes nothing).
_ADVANCE_SQL = """UPDATE practice_cardstate
    SET fsrs = %(fsrs)s, due = %(due)s, reps = %(reps)s + 1, updated_at = %(now)s
    WHERE user_id = %(user)s AND card_id = %(card)s AND reps = %(reps)s"""

# The columns _SHOWN_SQL reads, in the models' field order (as Model.from_db wants them).
_CARD_COLUMNS = ["id", "deck_id", "kind", "front_html", "back_html"]
_DECK_COLUMNS = ["id", "slug", "name", "kind", "order", "source_url"]
#: Ids beyond a 64-bit integer name no card (and SQLite cannot take them as a parameter).
_MAX_ID = 2**63 - 1


def _moment(value: datetime):
    """A datetime as a query parameter (SQLite stores them as naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def _from_db(field: models.Field, value):
    """A column's value as the ORM would have read it into ``field``."""
    column = field.get_col(field.model._meta.db_table)
    for convert in connection.ops.get_db_converters(column) + field.get_db_converters(connection):
        value = convert(value, column, connection)
    return value


def review_counts(user, deck: Deck | None, now: datetime) -> dict:
    """In one query: cards due for ``user`` (everywhere and in ``deck``), new cards left today
    in ``deck``, and when the next card is due."""
    scope = "card.deck_id = %(deck)s" if deck is not None else "TRUE"
    row = fetch_one(
        _COUNTS_SQL.format(scope=scope),
        {
            "user": user.pk, "deck": deck.pk if deck is not None else None,
            "now": _moment(now), "today": _moment(start_of_day(now)),
        },
    )  # fmt: skip
    due_everywhere, due, unseen, introduced, next_due = row
    counts = {
        "due_everywhere": due_everywhere, "due": due, "unseen": unseen, "introduced": introduced,
        "next_due": _from_db(CardState._meta.get_field("due"), next_due),
    }  # fmt: skip
    counts["new"] = max(0, min(counts["unseen"], NEW_PER_DAY - counts["introduced"]))
    return counts


def next_card(user, deck: Deck | None, now: datetime, *, new_allowed: bool) -> Card | None:
    """The card to show: due cards (earliest first), then new ones, then cards being learned
    that are due within LEARN_AHEAD. One query; the card comes with its deck, and with the
    reviews ``user`` gave it as ``state_reps`` (None for a new card)."""
    chosen = _NEXT_SQL.format(
        scope=" AND card.deck_id = %(deck)s" if deck is not None else "",
        new=" OR mine.id IS NULL" if new_allowed else "",
    )
    params = {
        "user": user.pk, "deck": deck.pk if deck is not None else None,
        "now": _moment(now), "ahead": _moment(now + LEARN_AHEAD),
    }  # fmt: skip
    return _shown(fetch_one(_SHOWN_SQL.format(chosen=chosen), params))


def card_to_show(user, card_id: int) -> Card | None:
    """An active card by its id, as :func:`next_card` returns it; None if there is none."""
    if not 0 < card_id <= _MAX_ID:
        return None
    params = {"user": user.pk, "card": card_id}
    return _shown(fetch_one(_SHOWN_SQL.format(chosen=_STATE_SQL), params))


def _shown(row: tuple | None) -> Card | None:
    if row is None:
        return None
    card = Card.from_db(connection.alias, _CARD_COLUMNS, row[:5])
    card.state_reps = row[5]
    card.deck = Deck.from_db(connection.alias, _DECK_COLUMNS, row[6:])
    return card


def card_state(user, card_id: int) -> tuple[dict | None, int]:
    """``user``'s FSRS state of an active card and the reviews it has had (None and 0 for a
    new card), in one query. Card.DoesNotExist for a card that is not, or no longer, on offer."""
    row = None
    if 0 < card_id <= _MAX_ID:
        row = fetch_one(_STATE_SQL, {"user": user.pk, "card": card_id})
    if row is None:
        raise Card.DoesNotExist(f"No active card {card_id}.")
    _, reps, state = row
    return _from_db(CardState._meta.get_field("fsrs"), state), reps or 0


def advance_state(user, card_id: int, reps: int, state: dict, now: datetime) -> bool:
    """Store ``state`` as ``user``'s FSRS state of a card graded at ``now``, if the card has had
    ``reps`` reviews (False, and nothing stored, if it has been graded since). One query."""
    params = {
        "fsrs": CardState._meta.get_field("fsrs").get_db_prep_save(state, connection),
        "due": _moment(datetime.fromisoformat(state["due"])), "reps": reps, "now": _moment(now),
        "user": user.pk, "card": card_id,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(_ADVANCE_SQL, params)
        return cursor.rowcount > 0
