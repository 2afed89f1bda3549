"""The public entries' names, in memory per content version: suggestions and typo matching.

Every keystroke in the search box asks for suggestions, and most of them are a name being
typed ("lat" → Latency). Those are answered from this small index (title, names and address of
each public entry) without touching the database; the process reads it again after any content
change (apps.core.caching's content version, bumped when a public entry is stored).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from functools import cached_property

from rapidfuzz import utils

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
        for entry in self.with_every(terms):  # a name that is the query has every word of it
            tier = _tier(entry, needle, terms)
            if tier:
                scored.append((-tier, len(entry.title), entry.title, entry))
        scored.sort(key=lambda row: row[:3])
        return [row[-1] for row in scored[:limit]]  # shared between threads: not annotated

    def with_every(self, terms: list[str]) -> list[Entry]:
        """The entries with each of ``terms`` in a name: one scan of all the names per term, in
        C (a loop over 10,000 entries in Python took 10 ms, on every keystroke)."""
        found: set[int] | None = None
        for term in sorted(terms, key=len, reverse=True):  # the longest is the rarest, mostly
            ends = re.finditer(re.escape(term), self._all_names)
            here = {bisect.bisect_right(self._starts, match.start()) - 1 for match in ends}
            found = here if found is None else found & here
            if not found:
                return []
        return [self.entries[i] for i in sorted(found or ())]

    @cached_property
    def _all_names(self) -> str:
        # One line per entry ("\n" is in no name, nor in a term), so a match names its entry.
        return "\n".join(entry.names for entry in self.entries)

    @cached_property
    def _starts(self) -> list[int]:
        starts, position = [], 0
        for entry in self.entries:
            starts.append(position)
            position += len(entry.names) + 1
        return starts

    @cached_property
    def spellings(self) -> dict[tuple[int, str], str]:
        """Every title and alias by (entry pk, name): what a misspelt query is matched to."""
        return spellings((entry.pk, entry.names) for entry in self.entries)

    @cached_property
    def typo_choices(self) -> Spellings:
        """The spellings as rapidfuzz compares them, processed once per content version."""
        return Spellings.of(self.spellings)


@dataclass(frozen=True)
class Spellings:
    """Each distinct name as rapidfuzz compares it (processed once), with the (entry pk, name
    as stored) pairs it stands for: a title and its slug ("Apache Kafka", "apache-kafka") are
    scored once."""

    processed: list[str]
    keys: list[list[tuple[int, str]]]

    @classmethod
    def of(cls, spellings: dict[tuple[int, str], str]) -> Spellings:
        grouped: dict[str, list[tuple[int, str]]] = {}
        for key, name in spellings.items():
            grouped.setdefault(utils.default_process(name), []).append(key)
        return cls(list(grouped), list(grouped.values()))

    def __or__(self, other: Spellings) -> Spellings:
        return Spellings(self.processed + other.processed, self.keys + other.keys)


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
