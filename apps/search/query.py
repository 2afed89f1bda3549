"""Ranked search over the index: full text and typo tolerance on PostgreSQL, words on SQLite.

The order is the same on both databases for exact words: a page whose title or alias is the
query first, then title and alias matches, then summary and body matches. PostgreSQL ranks the
rest with weighted full-text search (``websearch`` syntax) and finds misspellings with pg_trgm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    TrigramSimilarity,
    TrigramWordSimilarity,
)
from django.db import connection
from django.db.models import Case, F, FloatField, IntegerField, Q, Value, When
from django.utils.html import escape
from django.utils.safestring import SafeString

from apps.search.models import Entry

KIND_ORDER = [kind for kind, _ in Entry.Kind.choices]
TYPO_THRESHOLD = 0.3
MAX_QUERY = 200


@dataclass
class Hit:
    entry: Entry
    snippet: SafeString

    @property
    def url(self) -> str:
        return self.entry.url


@dataclass
class Results:
    query: str
    hits: list[Hit] = field(default_factory=list)
    exact: Entry | None = None
    exact_url: str = ""

    def grouped(self) -> list[tuple[str, list[Hit]]]:
        labels = dict(Entry.Kind.choices)
        groups = {kind: [] for kind in KIND_ORDER}
        for hit in self.hits:
            groups[hit.entry.kind].append(hit)
        return [(labels[kind], hits) for kind, hits in groups.items() if hits]


def visible_to(user):
    entries = Entry.objects.defer("search_vector")
    if user is not None and user.is_authenticated:
        return entries.filter(Q(owner__isnull=True) | Q(owner=user))
    return entries.filter(owner__isnull=True)


def normalise(query: str) -> str:
    return " ".join(query.replace("\x00", " ").split())[:MAX_QUERY]


def search(query: str, user=None, limit: int = 50) -> Results:
    """Entries matching ``query`` that ``user`` may see, best first."""
    query = normalise(query)
    results = Results(query=query)
    if not query:
        return results
    needle = query.lower()
    entries = visible_to(user).annotate(
        exact=Case(
            When(names__contains=f"|{needle}|", then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
    )
    if connection.vendor == "postgresql":
        found = list(_postgres(entries, query, needle)[:limit])
        if not found:
            # Nothing under the words as typed: look for names spelled nearly like them.
            found = list(_postgres_typos(entries, query)[:limit])
    else:
        found = list(_sqlite(entries, query)[:limit])
    terms = _terms(query)
    results.hits = [Hit(entry, snippet(entry, terms)) for entry in found]
    exact = [e for e in found if e.exact]
    if len(exact) == 1:
        results.exact = exact[0]
        results.exact_url = exact[0].url + exact[0].anchors.get(needle, "")
    return results


def _postgres(entries, query: str, needle: str):
    search_query = SearchQuery(query, search_type="websearch", config="english")
    # Both conditions can use a GIN index (trigram for LIKE, tsvector for @@), so PostgreSQL
    # reads only the matching rows before ranking them.
    matches = Q(names__contains=f"|{needle}|") | Q(search_vector=search_query)
    return (
        entries.filter(matches)
        .annotate(rank=SearchRank(F("search_vector"), search_query))
        .order_by("-exact", "-rank", "title")
    )


def _postgres_typos(entries, query: str):
    # "names %> query" uses the trigram index; its threshold is a setting of the connection.
    with connection.cursor() as cursor:
        cursor.execute("SET pg_trgm.word_similarity_threshold = %s", [TYPO_THRESHOLD])
    return (
        entries.filter(names__trigram_word_similar=query)
        .annotate(
            similarity=TrigramWordSimilarity(query, "names"),
            # Breaks ties between "precision" and "average precision" for a misspelling.
            closeness=TrigramSimilarity("title", query),
        )
        .order_by("-similarity", "-closeness", "title")
    )


def _sqlite(entries, query: str):
    words = _terms(query) or [query.lower()]
    matches = Q()
    for word in words:
        matches &= Q(names__icontains=word) | Q(summary__icontains=word) | Q(body__icontains=word)
    in_names = Q()
    for word in words:
        in_names &= Q(names__icontains=word)
    return (
        entries.filter(Q(exact=1) | matches)
        .annotate(
            rank=Case(
                When(title__iexact=query, then=Value(3.0)),
                When(in_names, then=Value(2.0)),
                When(summary__icontains=query, then=Value(1.0)),
                default=Value(0.0),
                output_field=FloatField(),
            )
        )
        .order_by("-exact", "-rank", "title")
    )


def _terms(query: str) -> list[str]:
    words = re.findall(r"[\w\-/+.]+", query.lower())
    stop = {"and", "or", "not", "the", "of", "a", "an", "to", "in", "for", "is"}
    return [w for w in words if len(w) > 1 and w not in stop]


def snippet(entry: Entry, terms: list[str], width: int = 180) -> SafeString:
    """A short, escaped excerpt around the first match, with matches in <mark>."""
    text = entry.summary
    lowered = entry.body.lower()
    positions = [lowered.find(t) for t in terms if t and lowered.find(t) >= 0]
    if positions and not any(t in entry.summary.lower() for t in terms):
        start = max(min(positions) - width // 3, 0)
        text = ("…" if start else "") + entry.body[start : start + width].strip() + "…"
    if not terms:
        return SafeString(escape(text))
    # Split the raw text on matches, then escape each piece: matching escaped text would
    # split entities ("amp" inside "&amp;").
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    pieces, position = [], 0
    for match in pattern.finditer(text):
        pieces.append(escape(text[position : match.start()]))
        pieces.append(f"<mark>{escape(match.group(0))}</mark>")
        position = match.end()
    pieces.append(escape(text[position:]))
    return SafeString("".join(pieces))
