"""Ranked search over the index, the same on PostgreSQL and on SQLite.

Every query runs the same tiers on both databases, best first:

1. a page whose title, then alias, abbreviation or slug *is* the query (one opens directly);
2. a page with a name that starts with the query ("lat" → Latency), for instant suggestions;
3. pages with every word in a name (title or alias), above any page that merely mentions them;
4. pages with every word in the summary, then in the body.

Within a tier PostgreSQL orders by weighted full-text rank (``websearch`` syntax, stemmed),
SQLite by the length of the title (the shorter, the more specific). When no page has every
word, the best partial matches are ranked by how many of the words they contain. When no page
has any word, names spelled nearly like the query ("kafak", "zookeper", "loadbalancer") are
found with rapidfuzz over titles and aliases — in Python, so typo tolerance is identical on
both databases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy
from django.db import connection
from django.db.models import Case, IntegerField, Q, Value, When
from django.db.models.functions import Length
from django.utils.html import escape
from django.utils.safestring import SafeString
from rapidfuzz import fuzz, process, utils

from apps.search.models import Entry
from apps.search.names import PK, Spellings, public_names, spellings

MAX_QUERY = 200
BEST = "Best matches"  # the label of the pages a query names
CANDIDATES = 250  # PostgreSQL ranks at most this many summary and as many body matches


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
    first: int = 1  # the place of the first hit shown among all of them
    more: bool = False  # hits past these

    @property
    def last(self) -> int:
        return self.first + len(self.hits) - 1

    def grouped(self) -> list[tuple[str, list[Hit], bool]]:
        """(label, hits, whether each hit is to show its kind): the pages the query names
        first, whatever their kind, then the rest by kind, each kind where its best hit
        ranks. Grouped by kind alone, a page named "ECE" or "RAG" was listed after every page
        of an earlier kind that only contains the letters."""
        labels = dict(Entry.Kind.choices)
        groups: dict[str, list[Hit]] = {}
        for hit in self.hits:
            named = getattr(hit.entry, "tier", 0) >= IN_NAMES
            groups.setdefault(BEST if named else labels[hit.entry.kind], []).append(hit)
        return [(label, hits, label == BEST) for label, hits in groups.items()]


def visible_to(user):
    entries = Entry.objects.defer("search_vector")
    if user is not None and user.is_authenticated:
        return entries.filter(Q(owner__isnull=True) | Q(owner=user))
    return entries.filter(owner__isnull=True)


# Phones and word processors type these for ' and " (the names are typed plainly).
_TYPOGRAPHIC_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


def normalise(query: str) -> str:
    query = query.replace("\x00", " ").translate(_TYPOGRAPHIC_QUOTES)
    return " ".join(query.split())[:MAX_QUERY]


def search(query: str, user=None, limit: int = 50, skip: int = 0) -> Results:
    """Entries matching ``query`` that ``user`` may see, best first: ``limit`` of them after
    the best ``skip``. Later pages rank again and show a later slice (each costs a little
    more than the one before it, so callers bound ``skip``)."""
    query = normalise(query)
    results = Results(query=query, first=skip + 1)
    if not query:
        return results
    query = _at_k(query)
    needle = query.lower()
    terms = _terms(query) or [needle]
    wanted = skip + limit + 1  # one more than shown tells whether there are more
    found = list(_all_words(user, query, terms, wanted)[:wanted])
    if not found and len(terms) > 1:
        found = list(_some_words(user, needle, terms, wanted)[:wanted])
    if not found:
        found = _typos(user, needle, wanted)
    results.more = len(found) > skip + limit
    shown = found[skip : skip + limit]
    results.hits = [Hit(entry, snippet(entry, terms)) for entry in shown]
    exact = [e for e in found if getattr(e, "tier", 0) >= EXACT]
    if len(exact) == 1:
        results.exact = exact[0]
        results.exact_url = exact[0].url + exact[0].anchors.get(needle, "")
    return results


TITLE, EXACT, PREFIX, IN_NAMES, IN_SUMMARY, IN_BODY = 6, 5, 4, 3, 2, 1

_AT_NUMBER = re.compile(r"(?P<metric>.+?)\s*@\s*[0-9]+")


def _at_k(query: str) -> str:
    """A ranking metric at the k a reader reports ("ndcg@10", "Recall@5") as the page is
    named, for any k ("ndcg@k"). Split on "@", the number alone would rank every page that
    mentions a 10 beside the metric's own."""
    at = _AT_NUMBER.fullmatch(query)
    if at is None or not public_names().is_name(f"{at['metric'].lower()}@k"):
        return query
    return f"{at['metric']}@k"


def suggest(query: str, user=None, limit: int = 8) -> Results:
    """What the search box offers while a reader types: pages named by what is typed, from
    the in-memory names (apps.search.names); the full search when no name fits, or for a
    signed-in reader, whose own docs are in the index only."""
    query = normalise(query)
    if (user is not None and user.is_authenticated) or not query:
        return search(query, user, limit)
    needle = query.lower()
    named = public_names().named(needle, _terms(query) or [needle], limit)
    if not named:
        return search(query, user, limit)
    return Results(query=query, hits=[Hit(entry, SafeString("")) for entry in named])


def _tiers(needle: str, terms: list[str]) -> Case:
    in_names, in_summary = Q(), Q()
    for term in terms:
        in_names &= Q(names__contains=term)  # names and terms are lower case: no UPPER()
        in_summary &= Q(summary__icontains=term)
    return Case(
        When(title__iexact=needle, then=Value(TITLE)),
        When(names__contains=f"|{needle}|", then=Value(EXACT)),
        When(Q(names__contains=f"|{needle}") | Q(names__contains=f" {needle}"), then=Value(PREFIX)),
        When(in_names, then=Value(IN_NAMES)),
        When(in_summary, then=Value(IN_SUMMARY)),
        default=Value(IN_BODY),
        output_field=IntegerField(),
    )


def _word(term: str) -> Q:
    return Q(names__contains=term) | Q(summary__icontains=term) | Q(body__icontains=term)


def _all_words(user, query: str, terms: list[str], limit: int):
    needle = query.lower()
    if connection.vendor == "postgresql":
        return _ranked(user, query, needle, terms, limit, named=_named_public(needle, terms))
    entries = visible_to(user).annotate(tier=_tiers(needle, terms))
    matches = Q(names__contains=f"|{needle}|")
    every = Q()
    for term in terms:
        every &= _word(term)
    # Within a tier the shorter title is the more specific page ("recal": Recall, then
    # Calibration, whose alias "recalibration" also starts with the letters).
    return entries.filter(matches | every).order_by("-tier", Length("title"), "title")


def _some_words(user, needle: str, terms: list[str], limit: int):
    """No page has every word: rank the pages by how many of the words they have."""
    if connection.vendor == "postgresql":
        # Candidates from the GIN index (pages with any of the words as a stemmed word), the
        # words counted in those alone: as a filter, the count read every entry's text.
        return _ranked(user, " OR ".join(terms), needle, terms, limit, count_words=True)
    count = sum(
        (Case(When(_word(term), then=Value(1)), default=Value(0), output_field=IntegerField())
         for term in terms),
        Value(0),
    )  # fmt: skip
    any_word = Q()
    for term in terms:
        any_word |= _word(term)
    entries = visible_to(user).annotate(tier=_tiers(needle, terms))
    found = entries.filter(any_word).annotate(words=count)
    return found.order_by("-words", "-tier", Length("title"), "title")


def _named_public(needle: str, terms: list[str]) -> list[int]:
    """The public entries with every word of the query in a name (the name tiers), from the
    names in memory: among thousands of full-text matches the capped candidates would miss
    them ("latency tail": Tail latency). A signed-in reader's own are found in the SQL."""
    return [row[PK] for row in public_names().ranked(needle, terms, CANDIDATES)]


# PostgreSQL ranks in one statement, written out here rather than built by the ORM: its text is
# the same for every query of a kind (words, patterns and pages named are parameters), so it
# costs nothing to build and the server keeps it prepared (settings: prepare_threshold). Built
# by the ORM, the same statement took 3-4 ms of Python a search. It means what the ORM
# expressions above mean on SQLite: the tiers of _tiers(), _word() for the words counted.
#
# The candidates, in one UNION ALL that reads each one's row once, ordered and cut in SQL
# (ranking over "pk IN (candidates)" read every candidate twice and cost 2-3 times as much):
# - the pages named by every word (from memory, and the reader's own docs);
# - pages whose summary matches (a GIN index on the summary's own vector), CANDIDATES at most:
#   they outrank any page that only mentions the words, and are few ("model drift": 13 of
#   2,650 matches at the bench's scale), but the cap on the mentions would drop most of them
#   (at 500 and without this, the top 10 shared 106 of 130 pages with ranking every match,
#   over 13 queries; with it, 126 at 250);
# - at most CANDIDATES other full-text matches, as the GIN index yields them.
# Of the body, only the snippet's stretch around the first match is sent: the 50 whole bodies
# (200 KB) made one search in 30 take 60-90 ms under load, where the rest took 20.
_RANKED_SELECT = f"""
SELECT id, kind, object_id, title, names, anchors, summary, body, url, owner_id,
    CASE WHEN upper(title) = upper(%(needle)s) THEN {TITLE}
         WHEN names LIKE %(is_name)s THEN {EXACT}
         WHEN names LIKE %(starts_name)s OR names LIKE %(starts_word)s THEN {PREFIX}
         WHEN names LIKE ALL (%(words)s::text[]) THEN {IN_NAMES}
         WHEN upper(summary) LIKE ALL (
             ARRAY(SELECT upper(word) FROM unnest(%(words)s::text[]) AS word)
         ) THEN {IN_SUMMARY}
         ELSE {IN_BODY} END AS tier,
    ts_rank(search_vector, websearch_to_tsquery('english', %(query)s)) AS rank,
    length(title) AS title_length,
    -- Among pages named by the query ("recal": Recall, Precision at fixed recall), the shorter
    -- title is the more specific page: a name that is or starts with the query (PREFIX and up).
    CASE WHEN names LIKE %(starts_name)s OR names LIKE %(starts_word)s THEN length(title)
         ELSE 0 END AS named_length,
    {{words}} AS words
FROM search_entry
WHERE {{visible}}"""
_WORDS_HERE = """(
    SELECT count(*) FROM unnest(%(words)s::text[]) AS word
    WHERE names LIKE word OR upper(summary) LIKE upper(word) OR upper(body) LIKE upper(word)
)"""
_SUMMARIES = """(SELECT id FROM search_entry
    WHERE {whose} AND to_tsvector('english'::regconfig, summary)
        @@ websearch_to_tsquery('english', %(query)s)
    LIMIT %(candidates)s)"""
_RANKED = """WITH summary AS MATERIALIZED ({summaries}),
ranked AS (
({select} AND ({named}))
UNION ALL
({select} AND id IN (SELECT id FROM summary) AND NOT ({named}))
UNION ALL
({select} AND search_vector @@ websearch_to_tsquery('english', %(query)s) AND NOT ({named})
 AND id NOT IN (SELECT id FROM summary)
 LIMIT %(candidates)s)
ORDER BY {order}
LIMIT %(limit)s
)
SELECT id, kind, object_id, title, names, anchors, summary, url, owner_id, tier, rank,
    title_length, named_length, words,
    substr(body, body_from, %(excerpt)s) AS body_excerpt, body_from - 1 AS body_offset
FROM ranked, LATERAL (
    -- No stretch of the body where the snippet comes from the summary (snippet() reads the
    -- body itself in the rare case it disagrees).
    SELECT CASE WHEN summary ~* %(any_term)s THEN NULL ELSE greatest(
        coalesce(nullif(regexp_instr(body, %(any_term)s, 1, 1, 0, 'i'), 0), 1) - %(lead)s, 1
    ) END AS body_from
) AS here
ORDER BY {order}"""


def _ranked_sql(signed_in: bool, count_words: bool) -> str:
    visible = "(owner_id IS NULL OR owner_id = %(owner)s)" if signed_in else "owner_id IS NULL"
    named = "id = ANY(%(named)s::bigint[])"
    if signed_in:  # the reader's own docs with every word in a name
        named += (
            " OR (owner_id IS NOT NULL AND owner_id = %(owner)s"
            " AND names LIKE ALL (%(words)s::text[]))"
        )
    select = _RANKED_SELECT.format(words=_WORDS_HERE if count_words else "0", visible=visible)
    order = (
        "words DESC, tier DESC, rank DESC" if count_words else "tier DESC, named_length, rank DESC"
    )
    order += ", title_length, title"
    # Public summaries from their partial GIN index, the reader's own docs' by owner.
    summaries = _SUMMARIES.format(whose="owner_id IS NULL")
    if signed_in:
        summaries += "\nUNION ALL " + _SUMMARIES.format(whose="owner_id = %(owner)s")
    return _RANKED.format(select=select, named=named, summaries=summaries, order=order)


_RANKED_SQL = {(s, w): _ranked_sql(s, w) for s in (False, True) for w in (False, True)}


def _ranked(
    user, query: str, needle: str, terms: list[str], limit: int, named=(), count_words=False
):
    """PostgreSQL: the best ``limit`` of the pages ``named`` and the capped full-text matches
    of ``query`` (``websearch`` syntax), ranked in one statement."""
    signed_in = user is not None and user.is_authenticated
    like = connection.ops.prep_for_like_query
    params = {
        "needle": needle,
        "is_name": f"%{like(f'|{needle}|')}%",
        "starts_name": f"%{like(f'|{needle}')}%",
        "starts_word": f"%{like(f' {needle}')}%",
        "words": [f"%{like(term)}%" for term in terms],
        "query": query,
        "named": list(named),
        "owner": user.pk if signed_in else None,
        "candidates": CANDIDATES,
        "limit": limit,
        "any_term": "|".join(re.escape(term) for term in terms if term),
        "lead": SNIPPET_LEAD,
        "excerpt": SNIPPET_LEAD + SNIPPET_WIDTH,
    }
    return list(Entry.objects.raw(_RANKED_SQL[signed_in, count_words], params))


TYPO_SCORE = 75  # rapidfuzz's 0 to 100 similarity; "kafak" ~ "kafka" scores 80


def _typos(user, needle: str, limit: int) -> list[Entry]:
    """Entries with a title or alias spelled nearly like the query: the public ones' names
    from memory (per content version), a signed-in reader's own from the database."""
    choices = public_names().typo_choices
    if user is not None and user.is_authenticated:
        own = Entry.objects.filter(owner=user).values_list("pk", "names")
        choices = choices | Spellings.of(spellings(own))
    query = utils.default_process(needle)
    if not query or not choices.processed:
        return []
    # Only the names that can reach the cutoff are scored, in their order: the same scores,
    # ties broken the same way, as scoring them all (names.Letters says why).
    rows = choices.could_score(query, TYPO_SCORE)
    # cdist lets go of the GIL while it scores, so two readers' typos in one process are
    # scored at once; below the cutoff a score is 0.
    scores = process.cdist([query], [choices.processed[i] for i in rows], scorer=fuzz.WRatio,
                           score_cutoff=TYPO_SCORE)[0]  # fmt: skip
    above = numpy.flatnonzero(scores)
    above = above[numpy.argsort(-scores[above], kind="stable")[: limit * 4]]
    scored: dict[int, float] = {}
    for i in above:
        for pk, name in choices.keys[rows[i]]:
            # Prefer a near-whole-name match ("kafak" → "kafka") to a word in a long name.
            score = float(scores[i]) + fuzz.ratio(needle, name) / 100
            scored[pk] = max(scored.get(pk, 0), score)
    best = sorted(scored, key=lambda pk: -scored[pk])[:limit]
    by_pk = visible_to(user).in_bulk(best)
    return [by_pk[pk] for pk in best if pk in by_pk]


def _terms(query: str) -> list[str]:
    words = re.findall(r"[\w\-/+.]+", query.lower())
    stop = {"and", "or", "not", "the", "of", "a", "an", "to", "in", "for", "is"}
    return [_singular(w) for w in words if len(w) > 1 and w not in stop]


def _singular(word: str) -> str:
    """A plural's stem: words are matched inside the text, so "shard" finds "shards" and
    "sharding" where "shards" finds neither (PostgreSQL's stemming does as much for the
    full text, not for the names)."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss") and word[-2].isalpha():
        return word[:-1]
    return word


def _first_match(text: str, terms: list[str], pattern: re.Pattern) -> int:
    """Where the first of ``terms`` (lower case) starts in ``text``, or -1. str.find on a
    lowered copy is several times faster than a case-blind regex over a long body, but its
    positions are the text's only where lowering kept every length ("İ" becomes two)."""
    lowered = text.lower()
    if len(lowered) != len(text):
        return match.start() if (match := pattern.search(text)) else -1
    return min((i for term in terms if (i := lowered.find(term)) >= 0), default=-1)


SNIPPET_WIDTH = 180  # characters of the body shown around a match
SNIPPET_LEAD = SNIPPET_WIDTH // 3  # of them before it


def snippet(entry: Entry, terms: list[str]) -> SafeString:
    """A short, escaped excerpt around the first match, with matches in <mark>: from the
    summary when it has one, else from the body (on PostgreSQL, the stretch of it the ranking
    statement sent: ``body_excerpt``, from ``body_offset`` on)."""
    text = entry.summary
    terms = [t for t in terms if t]
    if not terms:
        return SafeString(escape(text))
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    if not pattern.search(text):
        body, offset = getattr(entry, "body_excerpt", None), getattr(entry, "body_offset", 0)
        if body is None:  # none sent: the whole body (read now, if it was deferred)
            body, offset = entry.body, 0
        if (first := _first_match(body, terms, pattern)) >= 0:
            start = max(first - SNIPPET_LEAD, 0)
            lead = "…" if offset + start else ""
            text = lead + body[start : start + SNIPPET_WIDTH].strip() + "…"
    # Split the raw text on matches, then escape each piece: matching escaped text would
    # split entities ("amp" inside "&amp;").
    pieces, position = [], 0
    for match in pattern.finditer(text):
        pieces.append(escape(text[position : match.start()]))
        pieces.append(f"<mark>{escape(match.group(0))}</mark>")
        position = match.end()
    pieces.append(escape(text[position:]))
    return SafeString("".join(pieces))
