"""The bench builds its search index in bulk; its rows must be those the app itself stores, or
the search numbers it reports are for an index no reader has."""

from __future__ import annotations

import pytest

from apps.designdocs.models import DesignDoc, Prompt
from apps.search import indexing
from apps.search.models import Entry
from bench import search_index


def stored(kind: str, object_id: int) -> tuple:
    entry = Entry.objects.filter(kind=kind, object_id=object_id)
    return entry.values_list(*search_index.FIELDS).get()


@pytest.mark.django_db
def test_bulk_rows_of_every_kind_of_page_are_the_entries_the_app_stored():
    rows = list(search_index._page_rows(indexing.plain_text))
    kinds = {row[0] for row in rows}
    assert kinds == set(indexing.PAGE_KINDS.values())  # practice problems included
    assert len(rows) == Entry.objects.filter(kind__in=kinds).count()
    for row in rows:
        assert row == stored(row[0], row[1])


@pytest.mark.django_db
def test_bulk_rows_of_docs_are_the_entries_the_app_stored(alice):
    doc = DesignDoc.objects.create(owner=alice, title="Feed ranking", problem="Rank by dwell time")
    doc.save_answer(Prompt.objects.get(key="business_goal"), "More **quokka** sessions", 0)
    indexing.index_doc(doc)
    rows = [row for rows in search_index._doc_rows(indexing.plain_text) for row in rows]
    ours = [row for row in rows if row[:2] == ("doc", doc.pk)]
    assert len(ours) == 1 and ours[0][-1] == alice.pk
    assert ours[0] == stored("doc", doc.pk)
    assert "quokka" in ours[0][search_index.FIELDS.index("body")]
