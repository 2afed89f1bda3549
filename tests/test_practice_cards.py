"""Flashcards: built from the content with stable keys, scheduled by FSRS per user, reviewed in
at most five queries a request, undone, exported to Anki and CSV, and counted in statistics."""

import csv
import io
import re
import sqlite3
import zipfile
from datetime import UTC, datetime, timedelta

import fsrs
import genanki
import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.concepts.models import Concept, Level
from apps.core import caching
from apps.metrics.models import Family, Metric
from apps.practice import cards, scheduling
from apps.practice.models import (
    NEW_PER_DAY,
    Card,
    CardState,
    Deck,
    Problem,
    ReviewLog,
    advance_state,
    next_card,
    review_counts,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice)
    return client


def card(key: str) -> Card:
    return Card.objects.get(key=key)


def grade(client, card: Card, rating: int, reps: int = 0, **extra):
    data = {"card": card.pk, "rating": rating, "reps": reps, **extra}
    return client.post("/practice/cards/review/grade/", data)


# --- Where the cards come from -----------------------------------------------------------------


def test_cards_come_from_every_kind_of_content():
    active = Card.objects.active()
    assert active.count() >= 250
    for concept in Concept.objects.all():
        questions = cards.review_questions(concept.body)
        assert len(questions) == 3, concept.slug
        assert active.filter(key__startswith=f"concept:{concept.slug}:review:").count() == 3
        assert active.filter(key=f"concept:{concept.slug}:term").exists(), concept.slug
    for metric in Metric.objects.all():
        metric_card = active.get(key=f"metric:{metric.slug}")
        assert metric_card.front == metric.name and metric.summary in metric_card.back
        if metric.formula:
            assert "<math" in metric_card.back_html, metric.slug
    for problem in Problem.objects.all():
        back = active.get(key=f"problem:{problem.slug}:questions").back
        assert all(question in back for question in problem.clarifying_questions), problem.slug


def test_review_questions_are_read_from_paragraphs_and_numbered_lists():
    body = """## How it works

**Not this one.** It is outside the section.

## In a design review

**"Which store, and why?"** A good answer names it and its
latency.

1. **What is the p99?** Expect a number with $ms$.
2. **How is it measured?** Per region.
3. Not a question in bold, skipped.

## References
"""
    assert cards.review_questions(body) == [
        ("Which store, and why?", "A good answer names it and its latency."),
        ("What is the p99?", "Expect a number with $ms$."),
        ("How is it measured?", "Per region."),
    ]


def test_aliases_of_one_section_make_one_card_with_that_sections_definition():
    tail = card("concept:latency:term:tail-latency")
    assert tail.front == "tail latency"
    assert tail.back.startswith("Percentiles describe the distribution")
    assert "Also called: p99, p95, percentile latency." in tail.back
    assert 'href="/concepts/latency/#tail-latency"' in tail.back_html


def test_decks_follow_levels_metric_families_and_problems():
    slugs = set(Deck.objects.filter(cards__retired=False).values_list("slug", flat=True))
    levels = {f"level-{s}" for s in Level.objects.filter(concepts__isnull=False).values_list(
        "slug", flat=True)}  # fmt: skip
    families = {f"family-{s}" for s in Family.objects.filter(metrics__isnull=False).values_list(
        "slug", flat=True)}  # fmt: skip
    problems = {f"problem-{s}" for s in Problem.objects.values_list("slug", flat=True)}
    assert levels | families | problems == slugs
    kafka = card("concept:kafka:review:1")
    assert kafka.deck.slug == f"level-{Concept.objects.get(slug='kafka').level.slug}"


def test_an_edit_keeps_the_card_and_its_progress_and_a_removal_retires_it(alice):
    concept = Concept.objects.get(slug="kafka")
    question = card("concept:kafka:review:1")
    scheduling.grade(alice, question.pk, fsrs.Rating.Good, 0, T0)
    _, answer = cards.review_questions(concept.body)[0]
    concept.body = concept.body.replace(answer[:30], "Rewritten: ", 1)
    concept.save()
    cards.rebuild()
    edited = card("concept:kafka:review:1")
    assert edited.pk == question.pk and edited.back.startswith("Rewritten: ")
    assert CardState.objects.filter(user=alice, card=edited).exists()
    concept.body = cards.section(concept.body, "What it is")  # the review section is gone
    concept.save()
    report = cards.rebuild()
    assert report.retired == 3 and card("concept:kafka:review:1").retired
    assert not Card.objects.active().filter(key__startswith="concept:kafka:review:").exists()


def test_content_changes_queue_one_rebuild_for_after_the_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for concept in Concept.objects.all()[:3]:
            concept.save()
        Metric.objects.first().save()
    assert [c for c in callbacks if c is not caching._bump] == [cards.rebuild]


def test_a_new_problem_gets_its_deck_after_the_admin_saves_it(client, staff):
    client.force_login(staff)
    data = {
        "title": "Tiny search", "slug": "tiny-search", "difficulty": "easy",
        "summary": "Rank ten documents.", "tags": "search", "scale": "10 QPS.",
        "body": "Rank ten documents.", "clarifying_questions": "Who searches?",
        "rubric": "", "pitfalls": "", "concepts": "", "metrics": "", "example": "",
    }  # fmt: skip
    with client_commits():
        response = client.post("/admin/practice/problem/add/", data)
    assert response.status_code == 302
    assert card("problem:tiny-search:questions").deck.name == "Tiny search"


class client_commits:
    """Run the on-commit callbacks of a request, as a real commit would."""

    def __enter__(self):
        from django.db import connection

        self.connection = connection
        self.start = len(connection.run_on_commit)

    def __exit__(self, *exc):
        callbacks = self.connection.run_on_commit[self.start :]
        del self.connection.run_on_commit[self.start :]
        for _, callback, _ in callbacks:
            callback()


# --- Scheduling through FSRS -------------------------------------------------------------------


def _review_state(steps: int) -> dict:
    state = None
    moment = T0
    for _ in range(steps):
        state = scheduling.schedule(state, 1, fsrs.Rating.Good, moment)
        moment = datetime.fromisoformat(state["due"])
    return state, moment


@pytest.mark.parametrize("goods_before", [0, 4])
def test_good_pushes_the_due_date_further_than_hard(goods_before):
    state, now = _review_state(goods_before)
    hard = datetime.fromisoformat(scheduling.schedule(state, 1, fsrs.Rating.Hard, now)["due"])
    good = datetime.fromisoformat(scheduling.schedule(state, 1, fsrs.Rating.Good, now)["due"])
    easy = datetime.fromisoformat(scheduling.schedule(state, 1, fsrs.Rating.Easy, now)["due"])
    assert now < hard < good < easy


@pytest.mark.parametrize("goods_before", [0, 4])
def test_again_is_due_within_minutes(goods_before):
    state, now = _review_state(goods_before)
    if goods_before:
        assert state["state"] == fsrs.State.Review and datetime.fromisoformat(state["due"]) > (
            now - timedelta(days=1)
        )
    again = datetime.fromisoformat(scheduling.schedule(state, 1, fsrs.Rating.Again, now)["due"])
    assert timedelta(0) < again - now <= timedelta(minutes=10)


def test_grading_stores_the_packages_state_and_a_log(alice):
    target = card("metric:recall")
    assert scheduling.grade(alice, target.pk, fsrs.Rating.Good, 0, T0)
    state = CardState.objects.get(user=alice, card=target)
    restored = fsrs.Card.from_dict(state.fsrs)
    assert restored.card_id == target.pk and restored.due == state.due > T0
    assert state.reps == 1
    log = ReviewLog.objects.get(user=alice, card=target)
    assert log.rating == 3 and log.previous is None and not log.was_review


def test_a_grade_from_a_stale_page_is_ignored(alice):
    target = card("metric:recall")
    assert scheduling.grade(alice, target.pk, fsrs.Rating.Good, 0, T0)
    assert not scheduling.grade(alice, target.pk, fsrs.Rating.Easy, 0, T0)  # a double press
    assert ReviewLog.objects.filter(user=alice).count() == 1
    assert CardState.objects.get(user=alice, card=target).reps == 1


def test_a_state_moves_on_only_from_the_reviews_the_grader_saw(alice):
    target = card("metric:recall")
    scheduling.grade(alice, target.pk, fsrs.Rating.Good, 0, T0)
    first = CardState.objects.get(user=alice, card=target)
    later = T0 + timedelta(days=1)
    state = scheduling.schedule(first.fsrs, target.pk, fsrs.Rating.Easy, later)
    assert not advance_state(alice, target.pk, 0, state, later), "it has had a review since"
    assert CardState.objects.get(user=alice, card=target).fsrs == first.fsrs
    assert advance_state(alice, target.pk, 1, state, later)
    moved = CardState.objects.get(user=alice, card=target)
    assert (moved.fsrs, moved.reps, moved.updated_at) == (state, 2, later)
    assert moved.due == datetime.fromisoformat(state["due"]) > later


def test_undo_restores_the_state_before_the_last_grade(alice):
    target = card("metric:recall")
    scheduling.grade(alice, target.pk, fsrs.Rating.Good, 0, T0)
    first = CardState.objects.get(user=alice, card=target).fsrs
    scheduling.grade(alice, target.pk, fsrs.Rating.Again, 1, T0 + timedelta(minutes=20))
    assert scheduling.undo(alice) == target.pk
    state = CardState.objects.get(user=alice, card=target)
    assert state.fsrs == first and state.reps == 1
    assert state.due == datetime.fromisoformat(first["due"])
    assert scheduling.undo(alice) == target.pk
    assert not CardState.objects.filter(user=alice).exists(), "undoing the first grade: new again"
    assert scheduling.undo(alice) is None


def test_new_cards_stop_at_the_daily_limit(alice):
    deck = Deck.objects.get(slug="level-technologies")
    with time_machine.travel(T0, tick=False):
        for target in deck.cards.active().order_by("order")[:NEW_PER_DAY]:
            scheduling.grade(alice, target.pk, fsrs.Rating.Easy, 0)
        counts = review_counts(alice, deck, T0)
        assert counts["introduced"] == NEW_PER_DAY and counts["new"] == 0
        assert next_card(alice, deck, T0 + timedelta(hours=1), new_allowed=False) is None
    tomorrow = T0 + timedelta(days=1)
    assert review_counts(alice, deck, tomorrow)["new"] == NEW_PER_DAY


def test_the_counts_and_the_next_card_follow_the_users_states(alice, bob):
    deck = Deck.objects.get(slug="family-ranking")
    good, again = deck.cards.active().order_by("order")[:2]
    elsewhere = Card.objects.active().exclude(deck=deck).first()
    with time_machine.travel(T0, tick=False):
        scheduling.grade(alice, good.pk, fsrs.Rating.Good, 0)  # learning: due in 10 minutes
        scheduling.grade(alice, again.pk, fsrs.Rating.Again, 0)  # due in a minute
        scheduling.grade(alice, elsewhere.pk, fsrs.Rating.Again, 0)
        scheduling.grade(bob, deck.cards.active().last().pk, fsrs.Rating.Again, 0)
    now = T0 + timedelta(minutes=5)
    counts = review_counts(alice, deck, now)
    assert (counts["due"], counts["due_everywhere"], counts["introduced"]) == (1, 2, 2)
    assert counts["unseen"] == deck.cards.active().count() - 2
    assert counts["new"] == min(counts["unseen"], NEW_PER_DAY - 2)
    # An aware datetime on SQLite as on PostgreSQL: the page says how long until then.
    assert counts["next_due"] == CardState.objects.get(user=alice, card=good).due
    shown = next_card(alice, deck, now, new_allowed=False)
    assert shown.pk == again.pk and shown.state_reps == 1
    assert shown.deck == deck and shown.deck.name == deck.name and shown.front_html
    assert next_card(bob, deck, now, new_allowed=True).state_reps == 1, "bob's own due card"


def test_a_card_graded_again_comes_back_within_the_session(alice):
    deck = Deck.objects.get(slug="family-ranking")
    first = next_card(alice, deck, T0, new_allowed=True)
    scheduling.grade(alice, first.pk, fsrs.Rating.Again, 0, T0)
    second = next_card(alice, deck, T0, new_allowed=True)
    assert second.pk != first.pk, "new cards come before a card due in a minute"
    later = next_card(alice, deck, T0 + timedelta(minutes=2), new_allowed=True)
    assert later.pk == first.pk and later.state_reps == 1


# --- The review page ---------------------------------------------------------------------------


def test_review_page_and_grade_take_at_most_five_queries(
    signed_in, alice, django_assert_max_num_queries
):
    for url in ["/practice/cards/review/", "/practice/cards/review/?deck=family-ranking"]:
        with django_assert_max_num_queries(5):
            page = signed_in.get(url)
        assert page.status_code == 200 and 'name="rating"' in page.text
    target = next_card(alice, Deck.objects.get(slug="family-ranking"), T0, new_allowed=True)
    with django_assert_max_num_queries(5):
        response = grade(signed_in, target, 3, deck="family-ranking")
    assert response.status_code == 302
    assert response["Location"] == "/practice/cards/review/?deck=family-ranking"
    with django_assert_max_num_queries(5):
        grade(signed_in, target, 3, reps=1)
    with django_assert_max_num_queries(5):
        assert signed_in.post("/practice/cards/review/undo/").status_code == 302
    # Many states and logs later, still five.
    for target in Card.objects.active()[:60]:
        scheduling.grade(alice, target.pk, fsrs.Rating.Again, 0, T0)
    with django_assert_max_num_queries(5):
        signed_in.get("/practice/cards/review/")


@pytest.fixture
def reviewer(db):
    """A user with months of reviews behind them: 200 to 400 cards studied, a few grades
    each, some of them due now (the data ``make bench`` loads a thousand users with)."""
    from django.core.management import call_command

    call_command("generate_reviews", users=1, stdout=io.StringIO())
    return get_user_model().objects.get(username="reviewer-00000")


def shown(page) -> tuple[int, int]:
    """The card a review page offers to grade, and the reviews the page says it has had."""
    card_id = re.search(r'name="card" value="(\d+)"', page.text)
    reps = re.search(r'name="reps" value="(\d+)"', page.text)
    assert card_id and reps, "the page offers no card to grade"
    return int(card_id[1]), int(reps[1])


def sql(queries) -> str:
    return "\n".join(query["sql"][:160] for query in queries.captured_queries)


HX = {"HX-Request": "true"}


@pytest.mark.parametrize(
    ("url", "headers", "expected"),
    [
        # The user (the session is cached), the counts, the card with its state and deck.
        ("/practice/cards/review/", {}, 3),
        ("/practice/cards/review/", HX, 3),
        # And the deck, looked up by its slug.
        ("/practice/cards/review/?deck=family-ranking", HX, 4),
    ],
)
def test_the_next_card_costs_the_same_few_queries_after_months_of_reviews(
    client, reviewer, url, headers, expected
):
    client.force_login(reviewer)
    client.get(url, headers=headers)  # once first: one-off work of the process is not counted
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url, headers=headers)
    assert page.status_code == 200
    assert len(queries) == expected <= 5, sql(queries)
    card_id, reps = shown(page)
    if "deck=" not in url:
        state = CardState.objects.get(user=reviewer, card_id=card_id)
        assert reps == state.reps > 0 and state.due <= timezone.now(), "a due card comes first"


def test_a_grade_costs_four_queries_for_a_due_card_and_for_a_new_one(client, reviewer):
    """The user, the card with the reviewer's state, the state written, the log written."""
    client.force_login(reviewer)
    url = "/practice/cards/review/grade/"
    card_id, reps = shown(client.get("/practice/cards/review/", headers=HX))
    client.post(url, {"card": card_id, "rating": 3, "reps": reps}, headers=HX)  # warm-up
    card_id, reps = shown(client.get("/practice/cards/review/", headers=HX))
    assert reps > 0
    with CaptureQueriesContext(connection) as due:
        response = client.post(url, {"card": card_id, "rating": 3, "reps": reps}, headers=HX)
    assert response.status_code == 302 and response["Location"] == "/practice/cards/review/"
    assert len(due) == 4, sql(due)
    assert CardState.objects.get(user=reviewer, card_id=card_id).reps == reps + 1
    unseen = Card.objects.active().exclude(states__user=reviewer).first()
    with CaptureQueriesContext(connection) as new:
        response = client.post(url, {"card": unseen.pk, "rating": 3, "reps": 0}, headers=HX)
    assert response.status_code == 302
    assert len(new) == 4, sql(new)
    assert CardState.objects.get(user=reviewer, card=unseen).reps == 1


def test_the_review_page_shows_the_card_hidden_answer_and_grade_buttons(signed_in):
    page = signed_in.get("/practice/cards/review/?deck=family-ranking").text
    assert "data-answer hidden" in page and "Show answer" in page
    for label in ["Again", "Hard", "Good", "Easy"]:
        assert f">{label} <kbd>" in page
    assert "new left today" in page and "Undo the last grade" in page


def test_without_javascript_show_answer_is_a_link_to_the_same_card_revealed(signed_in, alice):
    target = next_card(alice, Deck.objects.get(slug="family-ranking"), T0, new_allowed=True)
    page = signed_in.get(f"/practice/cards/review/?deck=family-ranking&card={target.pk}&show=1")
    assert "data-answer hidden" not in page.text and target.back_html in page.text


@pytest.mark.parametrize("asked", ["retired", str(2**64), "²", "9" * 5000])
def test_a_card_asked_for_that_is_not_on_offer_gives_the_next_card(signed_in, alice, asked):
    retired = card("metric:recall")
    Card.objects.filter(pk=retired.pk).update(retired=True)
    asked = retired.pk if asked == "retired" else asked
    page = signed_in.get(f"/practice/cards/review/?card={asked}&show=1")
    assert page.status_code == 200
    assert shown(page)[0] == next_card(alice, None, timezone.now(), new_allowed=True).pk


def test_htmx_gets_the_card_fragment_only(signed_in):
    response = signed_in.get("/practice/cards/review/", headers={"HX-Request": "true"})
    assert response.text.lstrip().startswith('<section id="review-card"')
    assert "<html" not in response.text


def test_after_a_grade_the_headers_due_count_follows_out_of_band(signed_in, alice):
    due = list(Card.objects.active()[:2])
    for target in due:
        scheduling.grade(alice, target.pk, fsrs.Rating.Again, 0, T0)  # due again long ago
    page = signed_in.get("/practice/cards/review/").text
    assert re.search(r'<a id="nav-practice"[^>]*>Practice <span class="due-badge">2<', page)
    assert page.count('id="nav-practice"') == 1, "the whole page needs nothing out of band"
    response = signed_in.post(
        "/practice/cards/review/grade/", {"card": due[0].pk, "rating": 3, "reps": 1}, follow=True,
        headers=HX,
    )  # fmt: skip
    oob = '<div id="nav-practice" hx-swap-oob="innerHTML">Practice <span class="due-badge">1<'
    assert oob in response.text
    signed_in.post("/practice/cards/review/grade/", {"card": due[1].pk, "rating": 3, "reps": 1})
    response = signed_in.get("/practice/cards/review/", headers=HX)
    assert '<div id="nav-practice" hx-swap-oob="innerHTML">Practice</div>' in response.text


def test_grading_moves_on_to_another_card(signed_in, alice):
    deck = Deck.objects.get(slug="family-ranking")
    shown = next_card(alice, deck, T0, new_allowed=True)
    grade(signed_in, shown, 4, deck="family-ranking")
    page = signed_in.get("/practice/cards/review/?deck=family-ranking").text
    assert f'name="card" value="{shown.pk}"' not in page


def test_undo_shows_the_card_again(signed_in, alice):
    target = card("metric:recall")
    grade(signed_in, target, 1)
    response = signed_in.post("/practice/cards/review/undo/", {"deck": "family-classification"})
    assert response["Location"] == (
        f"/practice/cards/review/?deck=family-classification&card={target.pk}"
    )
    assert not CardState.objects.filter(user=alice).exists()
    nothing = signed_in.post("/practice/cards/review/undo/", follow=True)
    assert "There is no grade to undo." in nothing.text


def test_undo_in_a_deck_takes_back_that_decks_last_grade_not_anothers(signed_in, alice):
    ranking, recall = card("metric:ndcg"), card("metric:recall")
    assert ranking.deck.slug != recall.deck.slug
    with time_machine.travel(T0, tick=False):
        grade(signed_in, recall, 3)
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        grade(signed_in, ranking, 3)
    # The ranking grade is the latest; undo in the classification deck takes back
    # the grade given there.
    response = signed_in.post("/practice/cards/review/undo/", {"deck": recall.deck.slug})
    assert response["Location"].endswith(f"&card={recall.pk}")
    assert list(CardState.objects.filter(user=alice).values_list("card", flat=True)) == [ranking.pk]
    again = signed_in.post("/practice/cards/review/undo/", {"deck": recall.deck.slug}, follow=True)
    assert "There is no grade to undo in this deck." in again.text
    assert CardState.objects.filter(user=alice, card=ranking).exists()
    # Without a deck (the review of everything due), undo takes the latest of all.
    assert signed_in.post("/practice/cards/review/undo/")["Location"].endswith(
        f"?card={ranking.pk}"
    )
    assert not CardState.objects.filter(user=alice).exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"card": "x", "rating": 3, "reps": 0}, "card"),
        ({"card": 1, "rating": 5, "reps": 0}, "rating"),
        ({"card": 1, "rating": 3, "reps": -1}, "reps"),
        ({"card": 99999999, "rating": 3, "reps": 0}, "card"),
        ({"card": 2**64, "rating": 3, "reps": 0}, "card"),
    ],
)
def test_a_bad_grade_is_a_400_with_a_json_error(signed_in, alice, data, field):
    response = signed_in.post("/practice/cards/review/grade/", data)
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == [field]
    assert not ReviewLog.objects.filter(user=alice).exists()


def test_a_retired_card_cannot_be_graded(signed_in, alice):
    target = card("metric:recall")
    Card.objects.filter(pk=target.pk).update(retired=True)
    assert grade(signed_in, target, 3).status_code == 400
    assert not CardState.objects.filter(user=alice).exists()


def test_anonymous_visitors_flip_through_a_deck_without_scheduling(client):
    deck = Deck.objects.get(slug="family-ranking")
    total = deck.cards.active().count()
    first = client.get("/practice/cards/review/?deck=family-ranking").text
    assert f"Card 1 of {total}" in first and 'name="rating"' not in first
    assert "?deck=family-ranking&amp;n=2" in first
    last = client.get(f"/practice/cards/review/?deck=family-ranking&n={total + 50}&show=1").text
    assert f"Card {total} of {total}" in last and "The end of the deck" in last
    assert "data-answer hidden" not in last
    assert client.get("/practice/cards/review/?deck=family-ranking&n=abc").status_code == 200
    assert client.get("/practice/cards/review/?deck=no-such-deck").status_code == 404
    assert "Choose a deck" in client.get("/practice/cards/review/").text


def test_grading_and_undo_need_an_account(client):
    target = card("metric:recall")
    assert grade(client, target, 3).status_code == 302
    assert client.post("/practice/cards/review/undo/").status_code == 302
    assert not ReviewLog.objects.exists()


def test_get_on_grade_and_undo_is_405(signed_in):
    assert signed_in.get("/practice/cards/review/grade/").status_code == 405
    assert signed_in.get("/practice/cards/review/undo/").status_code == 405


def test_a_stranger_never_sees_or_undoes_anothers_grades(client, alice, bob):
    target = card("metric:recall")
    scheduling.grade(alice, target.pk, fsrs.Rating.Again, 0, T0)
    client.force_login(bob)
    assert client.post("/practice/cards/review/undo/").status_code == 302
    assert ReviewLog.objects.filter(user=alice).count() == 1
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        page = client.get("/practice/cards/review/").text
        stats = client.get("/practice/stats/").text
    assert "0 due" in page
    assert "0 cards studied" in stats and "0 reviews in the last 30 days" in stats
    # bob grading the same card makes his own state and leaves alice's alone.
    grade(client, target, 4)
    assert CardState.objects.get(user=alice, card=target).reps == 1
    assert CardState.objects.get(user=bob, card=target).reps == 1


# --- Decks, header count, exports, statistics --------------------------------------------------


def test_the_deck_list_groups_decks_and_counts_what_is_due(signed_in, alice):
    target = card("metric:recall")
    scheduling.grade(alice, target.pk, fsrs.Rating.Again, 0, T0)
    page = signed_in.get("/practice/cards/").text
    for heading in ["Concepts by level", "Metrics by family", "Practice problems"]:
        assert heading in page
    assert "1 due" in page and "/practice/cards/decks/family-classification.apkg" in page


def test_the_due_badge_counts_the_cards_due_now(alice, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = alice  # read apart from the page: the badge counts for itself
    template = Template("{% load practice %}{% due_badge %}")
    assert template.render(Context({"request": request})) == ""
    targets = Card.objects.active()[:3]
    for target in targets:
        scheduling.grade(alice, target.pk, fsrs.Rating.Again, 0, T0)
    with django_assert_num_queries(1):
        html = template.render(Context({"request": request}))
    assert ">3<span" in html and "cards due" in html
    scheduling.grade(alice, targets[0].pk, fsrs.Rating.Easy, 1)  # due in days, at once
    assert ">2<span" in template.render(Context({"request": request}))
    request.user = type("Anonymous", (), {"is_authenticated": False})()
    assert template.render(Context({"request": request})) == ""


def test_a_deck_exports_as_an_anki_package(client):
    deck = Deck.objects.get(slug="family-ranking")
    response = client.get("/practice/cards/decks/family-ranking.apkg")
    assert response.status_code == 200
    assert 'filename="mlsd-family-ranking.apkg"' in response["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert set(archive.namelist()) == {"collection.anki2", "media"}
        data = archive.read("collection.anki2")
    path = f"/tmp/test-export-{deck.pk}.anki2"
    with open(path, "wb") as file:
        file.write(data)
    with sqlite3.connect(path) as db:
        notes = db.execute("SELECT guid, flds FROM notes").fetchall()
    expected = list(deck.cards.active())
    assert len(notes) == len(expected)
    guids = {guid for guid, _ in notes}
    assert guids == {genanki.guid_for(c.key) for c in expected}
    assert all('href="http://testserver/' in flds or 'href="/' not in flds for _, flds in notes)


def test_a_deck_exports_as_csv(client):
    deck = Deck.objects.get(slug="family-ranking")
    response = client.get("/practice/cards/decks/family-ranking.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["front", "back", "deck", "kind", "key", "url"]
    assert len(rows) - 1 == deck.cards.active().count()
    ndcg = next(row for row in rows if row[4] == "metric:ndcg")
    assert ndcg[0] == Metric.objects.get(slug="ndcg").name and "$$" in ndcg[1]
    assert client.get("/practice/cards/decks/nope.csv").status_code == 404


def test_statistics_count_reviews_retention_and_cards_due_ahead(signed_in, alice):
    targets = list(Card.objects.active()[:4])
    day = T0 - timedelta(days=10)
    for target in targets:
        scheduling.grade(alice, target.pk, fsrs.Rating.Good, 0, day)
        scheduling.grade(alice, target.pk, fsrs.Rating.Good, 1, day + timedelta(minutes=10))
    # A day later all four are in the Review state: three recalled, one forgotten.
    later = day + timedelta(days=3)
    for n, target in enumerate(targets):
        rating = fsrs.Rating.Again if n == 0 else fsrs.Rating.Good
        scheduling.grade(alice, target.pk, rating, 2, later)
    with time_machine.travel(T0, tick=False):
        page = signed_in.get("/practice/stats/")
    assert page.status_code == 200
    assert "4 cards studied; 12 reviews in the last 30 days, 75 % of mature cards recalled" in (
        page.text
    )
    assert page.text.count("<svg") == 3
    assert "Reviews per day" in page.text and "Cards due in the coming days" in page.text
    retention = page.text.split("Retention per day</title>")[1].split("</svg>")[0]
    recalled = re.findall(r"<title>([^<]*)</title></rect>", retention)
    assert recalled == [f"{later:%d %b}: 75 %"], "days without mature reviews are gaps, not 0 %"


def test_statistics_need_an_account(client):
    response = client.get("/practice/stats/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_build_cards_command_reports_what_it_did():
    from django.core.management import call_command

    out = io.StringIO()
    call_command("build_cards", stdout=out)
    assert f"{Card.objects.active().count()} cards: 0 created, 0 updated, 0 retired." in (
        out.getvalue()
    )


def test_generated_review_histories_are_what_grading_would_have_stored():
    call_command("generate_reviews", users=2, cards="30-40", stdout=io.StringIO())
    users = get_user_model().objects.filter(username__startswith="reviewer-")
    assert users.count() == 2
    now = timezone.now()
    for user in users:
        states = CardState.objects.filter(user=user)
        assert 30 <= states.count() <= 40
        for state in states:
            logs = list(
                ReviewLog.objects.filter(user=user, card_id=state.card_id).order_by("reviewed_at")
            )
            assert [log.previous_reps for log in logs] == list(range(state.reps)), state
            assert logs[0].previous is None and all(log.previous for log in logs[1:])
            assert all(log.reviewed_at < now for log in logs)
            # Each log holds the state before it, and the state is its last grade through FSRS
            # (the same but for the due date, which FSRS fuzzes by a random few percent).
            afterwards = [log.previous for log in logs[1:]] + [state.fsrs]
            for log, after in zip(logs, afterwards, strict=True):
                graded = scheduling.schedule(
                    log.previous, state.card_id, log.rating, log.reviewed_at
                )
                assert {**graded, "due": after["due"]} == after
            assert state.due == datetime.fromisoformat(state.fsrs["due"])
    assert CardState.objects.filter(due__lte=now).exists(), "some cards are due"
    # A first grade's "previous" is SQL NULL, as ReviewLog.objects.create stores it.
    assert ReviewLog.objects.filter(previous__isnull=True).count() == CardState.objects.count()
    with pytest.raises(CommandError, match="range"):
        call_command("generate_reviews", users=1, cards="40-30")


def test_the_same_seed_generates_the_same_histories_and_leaves_random_as_it_was():
    import random

    def histories(skip):
        users = get_user_model().objects.filter(username__startswith="reviewer-")
        return [
            [
                (log.card_id, log.rating, log.previous_reps)
                for log in ReviewLog.objects.filter(user=user).order_by("card_id", "reviewed_at")
            ]
            for user in users.order_by("username")[skip:]
        ]

    random.seed(7)
    before = random.getstate()
    call_command("generate_reviews", users=2, cards="20", seed=3, stdout=io.StringIO())
    assert random.getstate() == before
    first = histories(0)
    call_command("generate_reviews", users=2, cards="20", seed=3, stdout=io.StringIO())
    # The same cards graded the same way, review for review (dates are relative to each run).
    assert histories(2) == first and len(first[0]) > 20


@pytest.mark.django_db
def test_a_deck_no_slug_can_name_is_a_404(client):
    assert client.get("/practice/cards/review/", {"deck": "\x00"}).status_code == 404
    assert client.get("/practice/cards/review/", {"deck": "no-such-deck"}).status_code == 404
