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

import numpy
from rapidfuzz import utils

from apps.core import caching
from apps.search.models import Entry

TITLE, EXACT, PREFIX, IN_NAMES = 6, 5, 4, 3  # as in apps.search.query


# What is kept of each public entry, in this order, as a plain tuple.
FIELDS = ("pk", "kind", "title", "names", "url", "anchors")
PK, NAMES = FIELDS.index("pk"), FIELDS.index("names")


@dataclass(frozen=True)
class Names:
    # Plain tuples of numbers and strings (the anchors as pairs, not a dict): Python's garbage
    # collector stops tracking them after one look. As Entry objects, 10,000 public entries
    # were some 40,000 objects that each full collection walked while every thread of the
    # process waited (25-40 ms under load at scale, added to every request in flight).
    rows: tuple[tuple, ...]  # each public entry's FIELDS

    def named(self, needle: str, terms: list[str], limit: int) -> list[Entry]:
        """Entries whose title or a name is, starts with or contains every word of the query,
        best first: the ranking of apps.search.query's name tiers."""
        return [
            Entry(**dict(zip(FIELDS, row, strict=True)) | {"anchors": dict(row[-1])})
            for row in self.ranked(needle, terms, limit)
        ]

    def ranked(self, needle: str, terms: list[str], limit: int) -> list[tuple]:
        """The rows of :meth:`named`."""
        scored = []
        for row in self.with_every(terms):  # a name that is the query has every word of it
            _, _, title, names, _, _ = row
            tier = _tier(title, names, needle, terms)
            if tier:
                scored.append((-tier, len(title), title, row))
        scored.sort(key=lambda item: item[:3])
        return [item[-1] for item in scored[:limit]]

    def with_every(self, terms: list[str]) -> list[tuple]:
        """The rows with each of ``terms`` in a name: one scan of all the names per term, in
        C (a loop over 10,000 entries in Python took 10 ms, on every keystroke)."""
        found: set[int] | None = None
        for term in sorted(terms, key=len, reverse=True):  # the longest is the rarest, mostly
            ends = re.finditer(re.escape(term), self._all_names)
            here = {bisect.bisect_right(self._starts, match.start()) - 1 for match in ends}
            found = here if found is None else found & here
            if not found:
                return []
        return [self.rows[i] for i in sorted(found or ())]

    def is_name(self, name: str) -> bool:
        """Whether ``name`` (lower case) is a title or alias of a public entry."""
        return f"|{name}|" in self._all_names

    @cached_property
    def _all_names(self) -> str:
        # One line per entry ("\n" is in no name, nor in a term), so a match names its entry.
        return "\n".join(row[NAMES] for row in self.rows)

    @cached_property
    def _starts(self) -> list[int]:
        starts, position = [], 0
        for row in self.rows:
            starts.append(position)
            position += len(row[NAMES]) + 1
        return starts

    @cached_property
    def spellings(self) -> dict[tuple[int, str], str]:
        """Every title and alias by (entry pk, name): what a misspelt query is matched to."""
        return spellings((row[PK], row[NAMES]) for row in self.rows)

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
    # Tuples of ints and strings: Python's collector stops tracking them after one look, so
    # its full collections (which pause every thread) need not walk them, as they do lists.
    keys: tuple[tuple[tuple[int, str], ...], ...]

    @classmethod
    def of(cls, spellings: dict[tuple[int, str], str]) -> Spellings:
        grouped: dict[str, list[tuple[int, str]]] = {}
        for key, name in spellings.items():
            grouped.setdefault(utils.default_process(name), []).append(key)
        return cls(list(grouped), tuple(map(tuple, grouped.values())))

    def __or__(self, other: Spellings) -> Spellings:
        joined = Spellings(self.processed + other.processed, self.keys + other.keys)
        # Each part keeps its own letters: the public names' are counted once per content
        # version, not joined anew for every signed-in reader's search.
        joined.__dict__["parts"] = (self, other)
        return joined

    @cached_property
    def letters(self) -> Letters:
        return Letters.of(self.processed)

    def could_score(self, query: str, cutoff: float) -> numpy.ndarray:
        """The positions of the names whose WRatio with ``query`` (both processed) can reach
        ``cutoff``: a superset of those that do, in order (see :class:`Letters`)."""
        if parts := self.__dict__.get("parts"):
            first, second = parts
            later = second.could_score(query, cutoff) + len(first.processed)
            return numpy.concatenate([first.could_score(query, cutoff), later])
        return self.letters.could_score(query, cutoff)


def _buckets(text: str) -> numpy.ndarray:
    """Each character's bucket: a-z, 0-9 and the space their own, any other character one of
    27 shared buckets (a shared bucket can only overcount what two names have in common)."""
    codes = numpy.frombuffer(text.encode("utf-32-le"), dtype=numpy.uint32).astype(numpy.int64)
    lower = (codes >= 97) & (codes <= 122)
    digit = (codes >= 48) & (codes <= 57)
    other = numpy.where(codes == 32, 36, 37 + codes % 27)
    return numpy.where(lower, codes - 97, numpy.where(digit, codes - 22, other))


@dataclass(frozen=True)
class Letters:
    """What rapidfuzz's WRatio of a query and a name can be at most, from the letters they
    have in common, so that only names that can reach the cutoff are scored (a misspelt
    query scored every public name, 9,000 of them at scale: 10-20 ms a search).

    Every part of WRatio (ratio, partial_ratio and their token_sort/token_set forms) is an
    Indel similarity 2·LCS/(len a + len b) of a string made of the query's characters and one
    of the name's (whole, a window of it, or its tokens sorted or deduplicated), and a common
    subsequence uses at most the characters both have: B, the size of the intersection of
    their multisets of characters. Written for the shortest form of each string (its set of
    words, joined by one space: m for the query, n for the name), a full comparison scores at
    most 2B/(m + n), and a partial one, whose needle is the shorter string, at most
    2B/(min(m, n) + B). WRatio takes the full score, and the partial ones scaled by 0.9 when
    one string is 1.5 to 8 times as long as the other (0.6 beyond 8). The token_set forms
    return 100 outright when the two share a word: such names are always kept.
    tests/test_search.py checks that the names kept score exactly as all names would.
    """

    counts: numpy.ndarray  # one row per name: how many characters fall in each bucket
    lengths: numpy.ndarray  # len(name)
    shortest: numpy.ndarray  # len(" ".join(set(name.split())))
    words: dict[str, numpy.ndarray]  # word -> the names with it (arrays: never tracked by gc)

    BUCKETS = 64

    @classmethod
    def of(cls, names: list[str]) -> Letters:
        rows = numpy.repeat(numpy.arange(len(names)), [len(name) for name in names])
        cells = rows * cls.BUCKETS + _buckets("".join(names))
        counts = numpy.bincount(cells, minlength=len(names) * cls.BUCKETS)
        counts = counts.reshape(len(names), cls.BUCKETS).astype(numpy.uint16)
        words: dict[str, list[int]] = {}
        for i, name in enumerate(names):
            for word in set(name.split()):
                words.setdefault(word, []).append(i)
        return cls(
            counts,
            numpy.array([len(name) for name in names], dtype=numpy.int64),
            numpy.array([_shortest(name) for name in names], dtype=numpy.int64),
            {word: numpy.array(rows, dtype=numpy.int64) for word, rows in words.items()},
        )

    def could_score(self, query: str, cutoff: float) -> numpy.ndarray:
        if not query or not len(self.lengths):
            return numpy.flatnonzero(numpy.zeros(len(self.lengths), dtype=bool))
        mine = numpy.bincount(_buckets(query), minlength=self.BUCKETS).astype(numpy.uint16)
        common = numpy.minimum(self.counts, mine).sum(axis=1, dtype=numpy.int64)
        m, n = _shortest(query), self.shortest
        full = 200 * common / numpy.maximum(m + n, 1)  # an empty name has nothing in common
        partial = 200 * common / numpy.maximum(numpy.minimum(m, n) + common, 1)
        length = len(query)
        longer = numpy.maximum(self.lengths, length) / numpy.maximum(
            numpy.minimum(self.lengths, length), 1
        )
        scale = numpy.where(longer < 1.5, 0.0, numpy.where(longer <= 8, 0.9, 0.6))
        keep = numpy.maximum(full, scale * partial) >= cutoff - 1e-9
        for word in set(query.split()):
            if (rows := self.words.get(word)) is not None:
                keep[rows] = True
        return numpy.flatnonzero(keep)


def _shortest(name: str) -> int:
    return len(" ".join(set(name.split())))


def spellings(rows) -> dict[tuple[int, str], str]:
    """``{(pk, name): name}`` for each name of each ``(pk, "|name|name|")`` row."""
    return {(pk, name): name for pk, names in rows for name in names.strip("|").split("|") if name}


def _tier(title: str, names: str, needle: str, terms: list[str]) -> int:
    if title.lower() == needle:
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
    public = Entry.objects.filter(owner__isnull=True).values_list(*FIELDS)
    return Names(tuple((*row[:-1], tuple(row[-1].items())) for row in public))
