"""Flashcards: the decks, the review page, grading and undo, exports and statistics.

The review page and the grade are each at most five queries (session, user, deck, counts,
card; or session, user, card with its state, state, log), pinned in the tests.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.validators import slug_re
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST, require_safe

from apps.designdocs.views import bad_request
from apps.practice import exports, scheduling
from apps.practice import stats as review_stats
from apps.practice.forms import GradeForm, UndoForm
from apps.practice.models import (
    NEW_PER_DAY,
    Card,
    CardState,
    Deck,
    ReviewLog,
    card_to_show,
    next_card,
    review_counts,
)


@require_safe
def deck_list(request: HttpRequest) -> HttpResponse:
    """Every deck, grouped by where its cards come from, with the cards due in each."""
    active = Count("cards", filter=Q(cards__retired=False))
    decks = list(Deck.objects.annotate(size=active).filter(size__gt=0))
    due = {}
    if request.user.is_authenticated:
        rows = (
            CardState.objects.filter(
                user=request.user, due__lte=timezone.now(), card__retired=False
            )
            .values("card__deck")
            .annotate(n=Count("pk"))
        )
        due = {row["card__deck"]: row["n"] for row in rows}
    groups = []
    for kind, label in Deck.Kind.choices:
        members = [d for d in decks if d.kind == kind]
        for deck in members:
            deck.due = due.get(deck.pk, 0)
        if members:
            groups.append((label, members))
    total = sum(d.size for d in decks)
    return render(request, "practice/deck_list.html", {"groups": groups, "total": total})


def review_url(deck_slug: str = "", **params) -> str:
    query = {"deck": deck_slug, **params} if deck_slug else params
    url = reverse("practice:review")
    return f"{url}?{urlencode(query)}" if query else url


def _template(request: HttpRequest) -> str:
    if request.htmx and not request.htmx.boosted:
        return "practice/review.html#review-answer"
    return "practice/review.html"


@require_safe
def review(request: HttpRequest) -> HttpResponse:
    """The next card due (signed in) or a deck to flip through (anyone)."""
    deck = None
    if slug := request.GET.get("deck", ""):
        if not slug_re.match(slug):  # never a deck's; a NUL in it would upset PostgreSQL
            raise Http404("No deck has this name.")
        deck = get_object_or_404(Deck, slug=slug)
    if not request.user.is_authenticated:
        return _browse(request, deck)
    now = timezone.now()
    counts = review_counts(request.user, deck, now)
    card = None
    # No card id has 20 digits; int() of thousands of them is a ValueError.
    if (card_id := request.GET.get("card", "")[:20]).isdecimal():
        card = card_to_show(request.user, int(card_id))
    if card is None:
        card = next_card(request.user, deck, now, new_allowed=counts["new"] > 0)
    context = {
        "deck": deck, "card": card, "counts": counts, "show": request.GET.get("show") == "1",
        "ratings": ReviewLog.Rating.choices, "scheduling": True, "new_per_day": NEW_PER_DAY,
        "reveal_url": review_url(deck.slug if deck else "", card=card.pk, show=1) if card else "",
    }  # fmt: skip
    return render(request, _template(request), context)


def _browse(request: HttpRequest, deck: Deck | None) -> HttpResponse:
    """Flip through a deck in order, without scheduling (anonymous visitors)."""
    if deck is None:
        decks = Deck.objects.filter(cards__retired=False).distinct()
        return render(request, "practice/review.html", {"decks": decks, "scheduling": False})
    cards = deck.cards.active().order_by("order")
    total = cards.count()
    try:
        position = min(max(int(request.GET.get("n", "1")), 1), max(total, 1))
    except ValueError:
        position = 1
    card = cards[position - 1] if total else None
    context = {
        "deck": deck, "card": card, "position": position, "total": total,
        "show": request.GET.get("show") == "1", "scheduling": False,
        "reveal_url": review_url(deck.slug, n=position, show=1),
        "previous_url": review_url(deck.slug, n=position - 1) if position > 1 else "",
        "next_url": review_url(deck.slug, n=position + 1) if position < total else "",
    }  # fmt: skip
    return render(request, _template(request), context)


def _first_error(form: forms.Form) -> tuple[str, str]:
    field, errors = next(iter(form.errors.items()))
    return errors[0], field


@require_POST
@login_required
def grade(request: HttpRequest) -> HttpResponse:
    """Grade the card shown, then show the next one (a redirect the browser or HTMX follows)."""
    form = GradeForm(request.POST)
    if not form.is_valid():
        return bad_request(*_first_error(form))
    data = form.cleaned_data
    try:
        scheduling.grade(request.user, data["card"], data["rating"], data["reps"])
    except Card.DoesNotExist:
        return bad_request("No card has this number.", "card")
    return redirect(review_url(data["deck"]))


@require_POST
@login_required
def undo(request: HttpRequest) -> HttpResponse:
    """Take back the latest grade and show that card again."""
    form = UndoForm(request.POST)
    deck = form.cleaned_data["deck"] if form.is_valid() else ""
    card_id = scheduling.undo(request.user, deck)
    if card_id is None:
        where = " in this deck" if deck else ""
        messages.info(request, f"There is no grade to undo{where}.")
        return redirect(review_url(deck))
    return redirect(review_url(deck, card=card_id))


def _deck_cards(slug: str) -> tuple[Deck, list[Card]]:
    deck = get_object_or_404(Deck, slug=slug)
    return deck, list(deck.cards.active().order_by("order"))


def _download(content, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_safe
def export_apkg(request: HttpRequest, slug: str) -> HttpResponse:
    deck, cards = _deck_cards(slug)
    base = request.build_absolute_uri("/").rstrip("/")
    return _download(
        exports.apkg(deck, cards, base), "application/octet-stream", f"mlsd-{deck.slug}.apkg"
    )


@require_safe
def export_csv(request: HttpRequest, slug: str) -> HttpResponse:
    deck, cards = _deck_cards(slug)
    base = request.build_absolute_uri("/").rstrip("/")
    return _download(
        exports.csv_text(deck, cards, base), "text/csv; charset=utf-8", f"mlsd-{deck.slug}.csv"
    )


@require_safe
@login_required
def stats(request: HttpRequest) -> HttpResponse:
    summary = review_stats.summary(request.user, timezone.now())
    return render(request, "practice/stats.html", {"summary": summary})
