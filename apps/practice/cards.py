"""Flashcards built from the content, and rebuilt whenever it changes.

Where the cards come from:

* every question of a concept's "In a design review" section, with its answer;
* every metric: its name on the front, its definition and formula on the back;
* every glossary term: a concept's title and its aliases, and a metric's aliases. Aliases that
  land on the same section (``p99#tail-latency``, ``p95#tail-latency``) make one card whose
  back is that section's first paragraph and names the others;
* every problem: its clarifying questions, its scale, and its pitfalls.

Decks follow the content: one per concept level, one per metric family, one per problem.

Each card has a key that names where it comes from (``concept:kafka:review:2``,
``metric:recall``, ``concept:latency:term:tail-latency``), never its text, so a user's progress
survives edits. A card whose source goes away is retired, not deleted: if it comes back, so does
the progress. Only cards whose text changed are rendered again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

from apps.concepts.models import Concept, Level
from apps.core.markdown import render
from apps.metrics.models import Family, Metric
from apps.practice.models import Card, Deck, Problem, render_items

REVIEW_HEADING = "In a design review"


@dataclass
class DeckSource:
    slug: str
    name: str
    kind: str
    order: int
    source_url: str


@dataclass
class CardSource:
    key: str
    deck: str
    kind: str
    front: str
    back: str
    source_url: str


# --- Reading the Markdown ----------------------------------------------------------------------

_BLOCK_SPLIT = re.compile(r"\n\s*\n")
_LIST_MARKER = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+")
_BOLD_LEAD = re.compile(r"^\*\*(?P<question>.+?)\*\*\s*(?P<answer>.*)$", re.DOTALL)
_QUOTES = "\"“”'‘’"


def section(body: str, heading: str) -> str:
    """The text under the level-2 heading ``heading`` (up to the next level-2 heading)."""
    match = re.search(rf"^##\s+{re.escape(heading)}\s*(?:\{{#[^}}]*\}})?\s*$", body, re.MULTILINE)
    if not match:
        return ""
    rest = body[match.end() :]
    following = re.search(r"^##\s", rest, re.MULTILINE)
    return rest[: following.start()] if following else rest


def _items(text: str) -> list[str]:
    """Paragraphs and top-level list items, each joined onto one line."""
    items, current = [], []
    for line in text.splitlines():
        starts_item = _LIST_MARKER.match(line) and not line[:1].isspace()
        if (not line.strip() or starts_item) and current:
            items.append(" ".join(current))
            current = []
        if line.strip():
            current.append(line.strip())
    if current:
        items.append(" ".join(current))
    return items


def review_questions(body: str) -> list[tuple[str, str]]:
    """``(question, answer)`` for each item of the "In a design review" section: a paragraph
    or list item that starts with the question in bold, followed by the answer."""
    found = []
    for item in _items(section(body, REVIEW_HEADING)):
        match = _BOLD_LEAD.match(_LIST_MARKER.sub("", item, count=1))
        if not match or not match["answer"].strip():
            continue
        question = match["question"].strip().strip(_QUOTES).strip()
        found.append((question, match["answer"].strip()))
    return found


_NOT_PROSE = re.compile(r"^(?:\||```|~~~|!!!|<|\$\$)")
_LIST_START = re.compile(r"^(?:[-*+]|\d+[.)])\s")


def first_paragraph(body: str, anchor: str) -> str:
    """The first prose paragraph under the heading with ``{#anchor}``, with the list or
    table it introduces when it ends in a colon; "" when there is none before the next heading."""
    match = re.search(rf"^#{{2,6}}\s.*\{{#{re.escape(anchor)}\}}\s*$", body, re.MULTILINE)
    if not match:
        return ""
    blocks = [b.strip() for b in _BLOCK_SPLIT.split(body[match.end() :].strip()) if b.strip()]
    for n, block in enumerate(blocks):
        if block.startswith("#"):
            return ""
        if _NOT_PROSE.match(block) or _LIST_START.match(block):
            continue
        paragraph = " ".join(block.split())
        following = blocks[n + 1] if n + 1 < len(blocks) else ""
        if paragraph.endswith(":") and (_LIST_START.match(following) or following[:1] == "|"):
            return f"{paragraph}\n\n{following}"
        return paragraph
    return ""


def _terms_by_target(aliases: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Aliases of the page itself, and aliases per section anchor, in the author's order."""
    page, sections = [], {}
    for alias in aliases:
        term, _, anchor = alias.partition("#")
        term = term.strip()
        if not term:
            continue
        if anchor:
            sections.setdefault(anchor.strip(), []).append(term)
        else:
            page.append(term)
    return page, sections


def _also(terms: list[str]) -> str:
    return f"\n\nAlso called: {', '.join(terms)}." if terms else ""


def _source(title: str, url: str) -> str:
    return f"\n\nFrom [{title}]({url})."


# --- Where the cards come from -----------------------------------------------------------------


def _page_term_cards(page, prefix: str, deck: str, title: str) -> list[CardSource]:
    url = page.get_absolute_url()
    own, sections = _terms_by_target(list(page.aliases))
    own = [t for t in own if t.lower() != title.lower()]
    result = []
    if prefix == "concept":  # a metric's own card already has its name and definition
        result.append(CardSource(
            f"concept:{page.slug}:term", deck, Card.Kind.TERM, title,
            page.summary + _also(own) + _source(title, url), url,
        ))  # fmt: skip
    for anchor, terms in sections.items():
        definition = first_paragraph(page.body, anchor) or page.summary
        result.append(CardSource(
            f"{prefix}:{page.slug}:term:{anchor}", deck, Card.Kind.TERM, terms[0],
            definition + _also(terms[1:]) + _source(title, f"{url}#{anchor}"), url,
        ))  # fmt: skip
    return result


def collect() -> tuple[list[DeckSource], list[CardSource]]:
    """Every deck and card the content makes, in reading order."""
    decks: list[DeckSource] = []
    sources: list[CardSource] = []
    for level in Level.objects.order_by("order"):
        deck = f"level-{level.slug}"
        decks.append(DeckSource(deck, level.name, Deck.Kind.LEVEL, 100 + level.order,
                                f"/concepts/#{level.slug}"))  # fmt: skip
        for concept in Concept.objects.filter(level=level).order_by("order", "title"):
            url = concept.get_absolute_url()
            for n, (question, answer) in enumerate(review_questions(concept.body), start=1):
                sources.append(CardSource(
                    f"concept:{concept.slug}:review:{n}", deck, Card.Kind.REVIEW, question,
                    answer + _source(concept.title, f"{url}#in-a-design-review"), url,
                ))  # fmt: skip
            sources += _page_term_cards(concept, "concept", deck, concept.title)
    for family in Family.objects.order_by("order"):
        deck = f"family-{family.slug}"
        decks.append(DeckSource(deck, family.name, Deck.Kind.FAMILY, 1000 + family.order,
                                f"/metrics/#{family.slug}"))  # fmt: skip
        for metric in Metric.objects.filter(family=family).order_by("order", "name"):
            url = metric.get_absolute_url()
            own, _ = _terms_by_target(list(metric.aliases))
            own = [t for t in own if t.lower() != metric.name.lower()]
            formula = f"\n\n$$\n{metric.formula}\n$$" if metric.formula else ""
            sources.append(CardSource(
                f"metric:{metric.slug}", deck, Card.Kind.METRIC, metric.name,
                metric.summary + formula + _also(own) + _source(metric.name, url), url,
            ))  # fmt: skip
            sources += _page_term_cards(metric, "metric", deck, metric.name)
    for n, problem in enumerate(Problem.objects.order_by("title")):
        deck = f"problem-{problem.slug}"
        url = problem.get_absolute_url()
        decks.append(DeckSource(deck, problem.title, Deck.Kind.PROBLEM, 2000 + n, url))
        sources += _problem_cards(problem, deck, url)
    return decks, sources


def _problem_cards(problem: Problem, deck: str, url: str) -> list[CardSource]:
    def listed(items: list[str]) -> str:
        return "\n".join(f"{n}. {item}" for n, item in enumerate(items, start=1))

    cards = []
    if problem.clarifying_questions:
        cards.append(CardSource(
            f"problem:{problem.slug}:questions", deck, Card.Kind.PROBLEM,
            f"{problem.title}: which questions do you ask before designing?\n\n{problem.summary}",
            listed(problem.clarifying_questions) + _source(problem.title, url), url,
        ))  # fmt: skip
    if problem.scale:
        cards.append(CardSource(
            f"problem:{problem.slug}:scale", deck, Card.Kind.PROBLEM,
            f"{problem.title}: what scale do you design for?",
            problem.scale + _source(problem.title, url), url,
        ))  # fmt: skip
    if problem.pitfalls:
        cards.append(CardSource(
            f"problem:{problem.slug}:pitfalls", deck, Card.Kind.PROBLEM,
            f"{problem.title}: which pitfalls do you avoid?",
            listed(problem.pitfalls) + _source(problem.title, url), url,
        ))  # fmt: skip
    return cards


# --- Rebuilding --------------------------------------------------------------------------------


@dataclass
class RebuildReport:
    created: int = 0
    updated: int = 0
    retired: int = 0
    total: int = 0


def rebuild() -> RebuildReport:
    """Bring decks and cards in line with the content; idempotent."""
    deck_sources, card_sources = collect()
    report = RebuildReport(total=len(card_sources))
    with transaction.atomic():
        decks = {deck.slug: deck for deck in Deck.objects.all()}
        for source in deck_sources:
            deck = decks.get(source.slug) or Deck(slug=source.slug)
            fields = {"name": source.name, "kind": source.kind, "order": source.order,
                      "source_url": source.source_url}  # fmt: skip
            if deck.pk is None or any(getattr(deck, k) != v for k, v in fields.items()):
                for name, value in fields.items():
                    setattr(deck, name, value)
                deck.save()
            decks[source.slug] = deck
        existing = {card.key: card for card in Card.objects.all()}
        new, changed = [], []
        for order, source in enumerate(card_sources):
            card = existing.pop(source.key, None)
            if card is None:
                new.append(_card(Card(key=source.key), source, order, decks))
            elif _differs(card, source, order, decks):
                changed.append(_card(card, source, order, decks))
        _render_fronts([card for card in new + changed if not card.front_html])
        _render_backs([card for card in new + changed if not card.back_html])
        retired = [card for card in existing.values() if not card.retired]
        for card in retired:
            card.retired = True
        Card.objects.bulk_create(new, batch_size=500)
        Card.objects.bulk_update(
            changed + retired,
            ["deck", "kind", "front", "back", "front_html", "back_html", "source_url", "order",
             "retired"],
            batch_size=500,
        )  # fmt: skip
    report.created, report.updated, report.retired = len(new), len(changed), len(retired)
    return report


def _differs(card: Card, source: CardSource, order: int, decks: dict[str, Deck]) -> bool:
    return (
        card.retired
        or card.deck_id != decks[source.deck].pk
        or (card.kind, card.front, card.back, card.source_url, card.order)
        != (source.kind, source.front, source.back, source.source_url, order)
    )


def _card(card: Card, source: CardSource, order: int, decks: dict[str, Deck]) -> Card:
    if card.pk is None or card.front != source.front:
        card.front_html = ""  # rendered below, with the other fronts
    if card.pk is None or card.back != source.back:
        card.back_html = ""
    card.deck = decks[source.deck]
    card.kind, card.front, card.back = source.kind, source.front, source.back
    card.source_url, card.order, card.retired = source.source_url, order, False
    return card


def _render_fronts(cards: list[Card]) -> None:
    """One-line fronts (most of them) in one Markdown pass; the others one by one."""
    short = [card for card in cards if "\n\n" not in card.front]
    for card, html in zip(short, render_items([card.front for card in short]), strict=True):
        card.front_html = html
    for card in cards:
        if "\n\n" in card.front:
            card.front_html = render(card.front, glossary=False).html


_BREAK = "mlsd-card-break"


def _render_backs(cards: list[Card]) -> None:
    """The backs in one Markdown pass, split at a marker paragraph; one by one if the split
    does not come out even (a footnote or an unclosed fence would run across the marker)."""
    texts = [card.back for card in cards]
    parts = []
    if texts and not any("[^" in text or _BREAK in text for text in texts):
        html = render(f"\n\n{_BREAK}\n\n".join(texts), glossary=False).html
        parts = [part.strip() for part in html.split(f"<p>{_BREAK}</p>")]
    if len(parts) != len(texts):
        parts = [render(text, glossary=False).html for text in texts]
    for card, html in zip(cards, parts, strict=True):
        card.back_html = html


def rebuild_after_commit() -> None:
    """Rebuild once the current transaction commits (at once outside one). However many pages
    a load or an admin save touches, one rebuild is queued."""
    if any(func is rebuild for _, func, _ in connection.run_on_commit):
        return
    transaction.on_commit(rebuild)


def _content_changed(sender, raw=False, **kwargs) -> None:
    if not raw:
        rebuild_after_commit()


def connect_signals() -> None:
    for model in (Concept, Metric, Problem, Level, Family):
        post_save.connect(_content_changed, sender=model, dispatch_uid=f"cards-{model.__name__}")
        post_delete.connect(
            _content_changed, sender=model, dispatch_uid=f"cards-del-{model.__name__}"
        )
