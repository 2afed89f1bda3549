"""Keep the search index in step with the content: one Entry per page, concept to doc."""

from __future__ import annotations

import html
import operator
import re
from functools import reduce

from django.contrib.postgres.search import SearchVector
from django.db import connection
from django.db.models import Value
from django.db.models.signals import post_delete, post_save
from django.utils.html import strip_tags

from apps.concepts.models import Concept
from apps.core import caching
from apps.core.markdown.maths import mathml_text
from apps.core.models import page_rerendered
from apps.designdocs.models import DesignDoc, Step
from apps.designdocs.tasks import doc_refreshed
from apps.metrics.models import Metric
from apps.practice.models import Problem
from apps.search.models import Entry

#: The written pages indexed, and their kind in the index.
PAGE_KINDS = {Concept: "concept", Metric: "metric", Step: "step", Problem: "problem"}

#: How an entry's text is weighed and stemmed: (field, weight, text search configuration).
WEIGHTS = (
    ("title", "A", "english"),
    ("names", "A", "simple"),
    ("summary", "B", "english"),
    ("body", "C", "english"),
)


def vector(values: dict | None = None) -> SearchVector:
    """The entry's search vector, from its stored columns or, given ``values``, from those."""
    parts = (
        SearchVector(Value(values[name]) if values else name, weight=weight, config=config)
        for name, weight, config in WEIGHTS
    )
    return reduce(operator.add, parts)


VECTOR = vector()


# What one entry indexes, at most. PostgreSQL refuses a tsvector over 1 MB (about 120,000
# distinct words); a design doc may hold a megabyte of text, so its start is indexed and the
# save never fails for its size.
INDEX_MAX_CHARS = 100_000


def bounded(text: str, limit: int = INDEX_MAX_CHARS) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ", limit - 100)
    return cut[:space] if space > 0 else cut


_MATH = re.compile(r"<math\b.*?</math>", re.DOTALL)
_ESTIMATOR = re.compile(r"\{estimator:[a-z0-9-]{1,40}\}")  # a live estimator's place on a page


def _formula(match: re.Match) -> str:
    return html.escape(mathml_text(match.group()))  # "a < b" must not read as a tag below


def plain_text(rendered_html: str) -> str:
    """Readable words only: each formula (MathML) as a line of text with its numbers, such
    as "TP / (TP + FP)", where its bare characters would read "TPTP+FP"."""
    text = html.unescape(strip_tags(_MATH.sub(_formula, rendered_html)))
    return " ".join(_ESTIMATOR.sub(" ", text).split())


_PARENTHESES = re.compile(r"^(?P<outer>[^()]+?)\s*\((?P<inner>[^()]+)\)$")


def abbreviations(title: str) -> list[str]:
    """The short names inside a title: "Intersection over Union (IoU)" → ["IoU"];
    "NDCG (normalised …)" → ["NDCG"]; "Latency percentiles (p50, p95, p99)" → the three."""
    match = _PARENTHESES.match(title.strip())
    if not match:
        return []
    parts = [match["outer"], *match["inner"].split(",")]
    return [p.strip() for p in parts if _looks_like_an_abbreviation(p.strip())]


def _looks_like_an_abbreviation(text: str) -> bool:
    return (
        0 < len(text) <= 12
        and " " not in text
        and any(c.isupper() or c.isdigit() or c in "/²" for c in text)
    )


def _names(title: str, aliases: list[str], slug: str = "") -> tuple[str, dict[str, str]]:
    names, anchors = [title.lower()], {}
    extra = abbreviations(title) + ([slug, slug.replace("-", " ")] if slug else [])
    for alias in [*aliases, *extra]:
        term, _, anchor = alias.partition("#")
        term = term.strip().lower()
        if term:
            names.append(term)
            if anchor:
                anchors[term] = f"#{anchor}"
    return "|" + "|".join(dict.fromkeys(names)) + "|", anchors


def _store(kind: str, object_id: int, **fields) -> None:
    """One UPDATE when the entry exists (every refresh but a doc's first), with the vector
    computed from the new values in the same statement."""
    entry = Entry.objects.filter(kind=kind, object_id=object_id)
    values = dict(fields)
    if connection.vendor == "postgresql":
        values["search_vector"] = vector(fields)
    if not entry.update(**values):
        # Should another refresh of the same object insert it first, this insert does nothing
        # and the update below writes this one's text over it.
        new = Entry(kind=kind, object_id=object_id, **fields)
        Entry.objects.bulk_create([new], ignore_conflicts=True)
        entry.update(**values)
    if fields["owner_id"] is None:
        caching.bump_content_version()  # suggestions (apps.search.names) read the names again


def index_page(page) -> None:
    """Index a concept, metric, template step or practice problem."""
    _store(PAGE_KINDS[type(page)], page.pk, **page_fields(page))


def page_fields(page, plain=None) -> dict:
    """What a page's entry holds (``plain``: the HTML-to-text function, the bench's cached one)."""
    title = getattr(page, "title", None) or page.name
    names, anchors = _names(title, list(page.aliases), page.slug)
    return {
        "title": title, "names": names, "anchors": anchors, "summary": page.summary,
        "body": (plain or plain_text)(page.body_html), "url": page.get_absolute_url(),
        "owner_id": None,
    }  # fmt: skip


def index_doc(doc: DesignDoc) -> None:
    """Index a design doc for its owner (examples for everyone); drop it while in the trash."""
    kind = "example" if doc.is_example else "doc"
    if doc.deleted_at is not None:
        Entry.objects.filter(kind=kind, object_id=doc.pk).delete()
        if doc.is_example:
            caching.bump_content_version()  # its name leaves the suggestions at once
        return
    # An answer refresh_doc has not rendered yet is indexed as typed.
    answers = " ".join(
        plain_text(a.value_html) if a.value_html else a.value
        for a in doc.answers.only("value", "value_html")
    )
    _store(kind, doc.pk, **doc_fields(doc, answers))


def doc_fields(doc: DesignDoc, answers: str) -> dict:
    """What a doc's entry holds, given its answers as plain text."""
    return {
        "title": doc.title, "names": _names(doc.title, [])[0], "anchors": {},
        "summary": bounded(doc.problem, 10_000), "body": bounded(answers),
        "url": doc.get_absolute_url(), "owner_id": None if doc.is_example else doc.owner_id,
    }  # fmt: skip


def reindex_all() -> int:
    Entry.objects.all().delete()
    count = 0
    for model in PAGE_KINDS:
        for page in model.objects.all():
            index_page(page)
            count += 1
    for doc in DesignDoc.objects.filter(deleted_at__isnull=True):
        index_doc(doc)
        count += 1
    return count


def _page_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        index_page(instance)


def _page_deleted(sender, instance, **kwargs) -> None:
    kind = PAGE_KINDS[sender]
    Entry.objects.filter(kind=kind, object_id=instance.pk).delete()


def _doc_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        # A doc that stops being an example must not stay findable by everyone as one.
        other = "doc" if instance.is_example else "example"
        dropped, _ = Entry.objects.filter(kind=other, object_id=instance.pk).delete()
        if dropped and other == "example":
            caching.bump_content_version()
        index_doc(instance)


def _doc_deleted(sender, instance, **kwargs) -> None:
    Entry.objects.filter(kind__in=["doc", "example"], object_id=instance.pk).delete()
    if instance.is_example:
        caching.bump_content_version()


def _page_rerendered(sender, page, **kwargs) -> None:
    index_page(page)  # its links' titles are its text too


#: What a doc's entry shows of the doc itself (its answers aside).
DOC_STATE = ("title", "problem", "is_example", "deleted_at", "owner_id")


def _doc_refreshed(sender, doc, **kwargs) -> None:
    """Index the doc as it is now, not as the task read it: a rename or a trash committed
    while the task ran would be undone in search (a trashed doc found again until purged).
    Read, write, and check that nothing changed meanwhile; if it did, that change's own save
    indexed it, perhaps before this write: write again. No lock: an autosave on the doc
    must never wait for the worker."""
    for _ in range(3):
        current = DesignDoc.objects.filter(pk=doc.pk).first()
        if current is None:
            return  # deleted: its post_delete dropped the entry
        index_doc(current)
        state = {name: getattr(current, name) for name in DOC_STATE}
        if DesignDoc.objects.filter(pk=doc.pk, **state).exists():
            return


def connect_signals() -> None:
    for model in PAGE_KINDS:
        post_save.connect(_page_saved, sender=model, dispatch_uid=f"search-{model.__name__}")
        post_delete.connect(
            _page_deleted, sender=model, dispatch_uid=f"search-del-{model.__name__}"
        )
        page_rerendered.connect(
            _page_rerendered, sender=model, dispatch_uid=f"search-rerender-{model.__name__}"
        )
    post_save.connect(_doc_saved, sender=DesignDoc, dispatch_uid="search-doc")
    post_delete.connect(_doc_deleted, sender=DesignDoc, dispatch_uid="search-del-doc")
    # Answers reach the index through the refresh_doc task, off the autosave request.
    doc_refreshed.connect(_doc_refreshed, sender=DesignDoc, dispatch_uid="search-doc-refreshed")
