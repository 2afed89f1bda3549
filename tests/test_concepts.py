"""Concept pages: the list, the detail page, and their query budgets."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.concepts.models import Concept, Level

pytestmark = pytest.mark.django_db


def make_concepts(count: int, level: Level) -> None:
    for n in range(count):
        Concept.objects.create(
            slug=f"extra-{n}",
            title=f"Extra concept {n}",
            level=level,
            order=1000 + n,
            summary="Filler for query-count tests.",
            body=f"Links to [[tcp]] and [[extra-{(n + 1) % count}]].",
        )


def test_every_concept_page_answers_with_its_title(client):
    concepts = list(Concept.objects.all())
    assert len(concepts) >= 25
    for concept in concepts:
        response = client.get(f"/concepts/{concept.slug}/")
        assert response.status_code == 200, concept.slug
        assert f'<h1 id="page-title">{concept.title}</h1>' in response.text


def test_list_shows_every_level_in_order_with_its_concepts(client):
    response = client.get("/concepts/")
    assert response.status_code == 200
    names = list(Level.objects.values_list("name", flat=True))
    assert names[:4] == ["Foundations", "Characteristics", "Building blocks", "Technologies"]
    positions = [response.text.index(f"{name}</h2>") for name in names]
    assert positions == sorted(positions)
    for concept in Concept.objects.all():
        assert f'href="/concepts/{concept.slug}/"' in response.text


def test_unknown_concept_is_404(client):
    assert client.get("/concepts/no-such-thing/").status_code == 404


def test_detail_shows_toc_related_backlinks_references_and_neighbours(client):
    tcp = Concept.objects.get(slug="tcp")
    response = client.get("/concepts/tcp/")
    text = response.text
    assert "On this page" in text and 'href="#how-it-works"' in text
    for related in tcp.related.all():
        assert f'href="/concepts/{related.slug}/"' in text
    backlink = tcp.backlinks().exclude(source_kind="step").first()
    assert backlink is not None
    assert "Referenced by" in text and f'href="{backlink.source_url}"' in text
    assert tcp.references[0]["title"] in text
    assert f'rel="prev" href="/concepts/{tcp.previous().slug}/"' in text
    assert f'rel="next" href="/concepts/{tcp.next().slug}/"' in text


def test_reading_order_runs_through_levels_then_order():
    ordered = list(Concept.objects.in_reading_order())
    first, last = ordered[0], ordered[-1]
    assert first.previous() is None and last.next() is None
    for before, after in itertools.pairwise(ordered):
        assert before.next() == after
        assert after.previous() == before


def test_rendered_html_is_stored_not_computed_per_request(client):
    concept = Concept.objects.get(slug="tcp")
    Concept.objects.filter(pk=concept.pk).update(body_html="<p>stored sentinel</p>")
    assert "stored sentinel" in client.get("/concepts/tcp/").text


def test_backlinks_follow_edits():
    level = Level.objects.get(slug="foundations")
    tcp = Concept.objects.get(slug="tcp")
    note = Concept.objects.create(
        slug="note", title="Note", level=level, summary="s", body="See [[tcp]]."
    )
    assert tcp.backlinks().filter(source_url="/concepts/note/").exists()
    note.body = "No links any more."
    note.save()
    assert not tcp.backlinks().filter(source_url="/concepts/note/").exists()


def test_concept_page_shows_the_template_steps_it_helps_with(client):
    from apps.designdocs.models import Step

    step = Step.objects.filter(concepts__slug="qps").first()
    assert step is not None, "the template relates qps to a step"
    text = client.get("/concepts/qps/").text
    assert "Helps with these design-doc steps" in text
    assert f'href="/docs/template/{step.slug}/"' in text
    step.concepts.remove(step.concepts.get(slug="qps"))
    step.body = "Guidance that no longer mentions it."
    step.save()
    assert f'href="/docs/template/{step.slug}/"' not in client.get("/concepts/qps/").text


def test_new_page_repairs_links_that_waited_for_it():
    level = Level.objects.get(slug="foundations")
    waiting = Concept.objects.create(
        slug="waiting", title="Waiting", level=level, summary="s", body="See [[quic]]."
    )
    assert waiting.broken_links == ["quic"]
    Concept.objects.create(slug="quic", title="QUIC", level=level, summary="s", body="Body.")
    waiting.refresh_from_db()
    assert waiting.broken_links == []
    assert 'href="/concepts/quic/"' in waiting.body_html


def test_deleting_a_page_marks_links_to_it_broken():
    level = Level.objects.get(slug="foundations")
    target = Concept.objects.create(slug="gone", title="Gone", level=level, summary="s", body="x")
    source = Concept.objects.create(
        slug="source", title="Source", level=level, summary="s", body="See [[gone]]."
    )
    assert source.broken_links == []
    target.delete()
    source.refresh_from_db()
    assert source.broken_links == ["gone"]


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def test_list_query_count_is_pinned_and_flat(client):
    assert _queries(client, "/concepts/") == 2
    make_concepts(30, Level.objects.get(slug="technologies"))  # one more query each would show
    assert _queries(client, "/concepts/") == 2


def test_detail_query_count_is_pinned_and_flat(client):
    assert _queries(client, "/concepts/tcp/") == 5
    make_concepts(30, Level.objects.get(slug="foundations"))
    assert _queries(client, "/concepts/tcp/") == 5
    assert _queries(client, "/concepts/extra-3/") == 5


def test_list_and_detail_refuse_post(client):
    assert client.post("/concepts/").status_code == 405
    assert client.post("/concepts/tcp/").status_code == 405


def test_anonymous_readers_get_a_cached_page_until_content_changes(client, alice):
    first = client.get("/concepts/tcp/")
    assert first["X-Page-Cache"] == "miss"
    with CaptureQueriesContext(connection) as context:
        second = client.get("/concepts/tcp/")
    assert second["X-Page-Cache"] == "hit" and len(context.captured_queries) == 0
    assert second.content == first.content
    assert "csrf" not in first.text.lower(), "cached pages carry no per-visitor token"

    tcp = Concept.objects.get(slug="tcp")
    tcp.summary = "A rewritten summary."
    tcp.save()
    third = client.get("/concepts/tcp/")
    assert third["X-Page-Cache"] == "miss" and "A rewritten summary." in third.text

    client.force_login(alice)
    signed_in = client.get("/concepts/tcp/")
    assert "X-Page-Cache" not in signed_in and "alice" in signed_in.text
