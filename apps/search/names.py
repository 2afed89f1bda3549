"""The public entries' names, in memory per content version: suggestions and typo matching.

Every keystroke in the search box asks for suggestions, and most of them are a name being
typed ("lat" → Latency). Those are answered from this small index (title, names and address of
each public entry) without touching the database; the process reads it again after any content
change (apps.core.caching's content version, bumped when a public entry is stored).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from apps.core import caching
from apps.search.models import Entry

TITLE, EXACT, PREFIX, IN_NAMES = 6, 5, 4, 3  # as in apps.search.query


@dataclass(frozen=True)
class Names:
    entries: list[Entry]  # public entries: pk, kind, title, names, url only

    def named(self, needle: str, terms: list[str], limit: int) -> list[Entry]:
        """Entries whose title or a name is, starts with or contains every word of the query,
        best first: the ranking of apps.search.query's name tiers."""
        scored = []
        for entry in self.entries:
            tier = _tier(entry, needle, terms)
            if tier:
                scored.append((-tier, len(entry.title), entry.title, entry))
        scored.sort(key=lambda row: row[:3])
        return [row[-1] for row in scored[:limit]]  # shared between threads: not annotated

    @cached_property
    def spellings(self) -> dict[tuple[int, str], str]:
        """Every title and alias by (entry pk, name): what a misspelt query is matched to."""
        return spellings((entry.pk, entry.names) for entry in self.entries)


def spellings(rows) -> dict[tuple[int, str], str]:
    """``{(pk, name): name}`` for each name of each ``(pk, "|name|name|")`` row."""
    return {(pk, name): name for pk, names in rows for name in names.strip("|").split("|") if name}


def _tier(entry: Entry, needle: str, terms: list[str]) -> int:
    names = entry.names
    if entry.title.lower() == needle:
        return TITLE
    if f"|{needle}|" in names:
        return EXACT
    if f"|{needle}" in names or f" {needle}" in names:
        return PREFIX
    if terms and all(term in names for term in terms):
        return IN_NAMES
    return 0


@caching.per_content_version
def public_names() -> Names:
    fields = ("pk", "kind", "title", "names", "url", "anchors")
    return Names(list(Entry.objects.filter(owner__isnull=True).only(*fields)))
