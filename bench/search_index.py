"""The search index at scale, built in bulk from the app's own indexing functions.

``manage.py reindex`` indexes one page or doc at a time: five to seven queries and a commit
each, 7 to 30 ms per doc on this machine (with and without synchronous commits, quiet or busy),
so 15 to 50 minutes for 110,000 entries: over the benchmark's whole budget. This builds the
same rows in a few set-based statements: the fields come from ``apps.search.indexing``
(``page_fields``, ``doc_fields``, ``VECTOR``), rows go in with COPY and the vectors are computed by
one UPDATE per slice, two slices at a time (two cores).

Then it re-indexes a random sample with the app's ``index_page`` / ``index_doc`` and compares
every field, so a drift between this and the app shows as a mismatch in the report; the time
the sample took estimates how long ``manage.py reindex`` would take at this scale. The app reads
a doc's answers in no particular order (the query plan decides), so a body is compared as its
words and a vector as its lexemes, not their positions.
"""

from __future__ import annotations

import functools
import random
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from django.db import connections
from django.db.models import F, Func, TextField

from apps.concepts.management.commands.generate_concepts import insert_rows
from apps.concepts.models import Concept
from apps.designdocs.models import Answer, DesignDoc
from apps.search import indexing
from apps.search.models import Entry

#: The columns written, in order: the kind and object, then what ``indexing.*_fields`` return.
FIELDS = ["kind", "object_id", "title", "names", "anchors", "summary", "body", "url", "owner_id"]
COMPARED = [*FIELDS, "search_vector lexemes"]
DOC_CHUNK = 5000
VECTOR_SLICE = 10_000


def build(sample_size: int = 150, seed: int = 1) -> dict:
    """Rebuild the whole index; returns counts, timings and the sample check."""
    started = time.monotonic()
    plain = functools.lru_cache(maxsize=None)(indexing.plain_text)
    Entry.objects.all().delete()
    # Each batch is read in full before it is written: a COPY holds the connection.
    count = insert_rows(Entry, FIELDS, list(_page_rows(plain)))
    for rows in _doc_rows(plain):
        count += insert_rows(Entry, FIELDS, rows)
    rows_done = time.monotonic()
    _fill_vectors()
    built = time.monotonic()
    check = _check_sample(sample_size, random.Random(seed))
    return {
        "entries": count,
        "rows_seconds": rows_done - started,
        "vector_seconds": built - rows_done,
        "seconds": built - started,
        **check,
    }


def _page_rows(plain):
    for model, kind in indexing.PAGE_KINDS.items():
        for page in model.objects.all().iterator(chunk_size=2000):
            fields = indexing.page_fields(page, plain)
            yield (kind, page.pk, *(fields[f] for f in FIELDS[2:]))


def _doc_rows(plain):
    """Rows of the docs, one list per chunk of DOC_CHUNK docs."""
    docs = DesignDoc.objects.filter(deleted_at__isnull=True).order_by("pk")
    pks = list(docs.values_list("pk", flat=True))
    for start in range(0, len(pks), DOC_CHUNK):
        chunk = pks[start : start + DOC_CHUNK]
        bodies = defaultdict(list)
        answers = Answer.objects.filter(doc_id__gte=chunk[0], doc_id__lte=chunk[-1])
        for doc_id, html in answers.order_by("doc_id", "pk").values_list("doc_id", "value_html"):
            bodies[doc_id].append(plain(html))
        rows, shown = [], ("title", "problem", "is_example", "slug", "owner")
        for doc in docs.filter(pk__in=chunk).only(*shown):
            fields = indexing.doc_fields(doc, " ".join(bodies[doc.pk]))
            rows.append((_doc_kind(doc), doc.pk, *(fields[f] for f in FIELDS[2:])))
        yield rows


def _fill_vectors() -> None:
    bounds = Entry.objects.order_by("pk").values_list("pk", flat=True)
    first, last = bounds.first(), bounds.last()
    if first is None:
        return

    def fill(low: int) -> None:
        try:
            Entry.objects.filter(pk__gte=low, pk__lt=low + VECTOR_SLICE).update(
                search_vector=indexing.VECTOR
            )
        finally:
            connections.close_all()  # this thread's connection

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(fill, range(first, last + 1, VECTOR_SLICE)))


def _snapshot(kind: str, object_id: int) -> tuple | None:
    """The entry's fields; the body as sorted words, the vector without positions."""
    lexemes = Func(F("search_vector"), function="strip", output_field=TextField())
    entry = (
        Entry.objects.filter(kind=kind, object_id=object_id)
        .annotate(lexemes=lexemes)
        .values_list(*FIELDS, "lexemes")
        .first()
    )
    if entry is None:
        return None
    body = FIELDS.index("body")
    return (*entry[:body], sorted(entry[body].split()), *entry[body + 1 :])


def _check_sample(size: int, rng: random.Random) -> dict:
    """Index a sample again with the app's functions; compare, and time them."""
    doc_pks = list(DesignDoc.objects.filter(deleted_at__isnull=True).values_list("pk", flat=True))
    concept_pks = list(Concept.objects.values_list("pk", flat=True))
    docs = DesignDoc.objects.filter(pk__in=rng.sample(doc_pks, min(size, len(doc_pks))))
    pages = Concept.objects.filter(pk__in=rng.sample(concept_pks, min(size, len(concept_pks))))
    doc_seconds, doc_diffs = _reindex(docs, indexing.index_doc, _doc_kind)
    page_seconds, page_diffs = _reindex(pages, indexing.index_page, _page_kind)
    pages_total = sum(model.objects.count() for model in indexing.PAGE_KINDS)
    mismatches = doc_diffs + page_diffs
    return {
        "sample": len(docs) + len(pages),
        "mismatches": mismatches[:10],
        "mismatch_count": len(mismatches),
        "app_ms_per_doc": doc_seconds * 1000,
        "app_ms_per_page": page_seconds * 1000,
        "reindex_estimate_seconds": pages_total * page_seconds + len(doc_pks) * doc_seconds,
    }


def _page_kind(page) -> str:
    return indexing.PAGE_KINDS[type(page)]


def _doc_kind(doc: DesignDoc) -> str:
    return Entry.Kind.EXAMPLE if doc.is_example else Entry.Kind.DOC


def _reindex(objects, index, kind_of) -> tuple[float, list[str]]:
    """Mean seconds ``index`` took per object, and the objects whose entry it changed."""
    spent, count, differences = 0.0, 0, []
    for obj in objects:
        kind = kind_of(obj)
        before = _snapshot(kind, obj.pk)
        tick = time.perf_counter()
        index(obj)
        spent += time.perf_counter() - tick
        count += 1
        after = _snapshot(kind, obj.pk)
        if before != after:
            fields = [f for f, a, b in zip(COMPARED, before or (), after, strict=False) if a != b]
            differences.append(f"{kind} {obj.pk}: {', '.join(fields) or 'missing'}")
    return (spent / count if count else 0.0), differences
