"""A page renamed, retitled or deleted in the admin changes every page that shows it: their
[[links]], their glossary links, the backlinks of declared relations, and the search index."""

from __future__ import annotations

import pytest

from apps.concepts.models import Concept, Level
from apps.core.models import PageLink
from apps.designdocs.models import Step
from apps.metrics.models import Metric
from apps.practice.models import Problem
from apps.search.query import search

pytestmark = pytest.mark.django_db


@pytest.fixture
def level():
    return Level.objects.get(slug="technologies")


def concept(level, slug: str, title: str, body: str = "A page.", **fields) -> Concept:
    return Concept.objects.create(
        slug=slug, title=title, level=level, summary="s", body=body, **fields
    )


def html(page) -> str:
    page.refresh_from_db()
    return page.body_html


def test_a_glossary_link_follows_its_page_to_a_new_slug(level):
    target = concept(level, "zz-quokka", "Quokka sharding")
    reader = concept(level, "zz-reader", "Reader", "We split the herd by quokka sharding.")
    assert 'href="/concepts/zz-quokka/"' in html(reader)
    target.slug = "zz-quokka-sharding"
    target.save()
    assert 'href="/concepts/zz-quokka/"' not in html(reader)
    assert 'href="/concepts/zz-quokka-sharding/"' in html(reader)


def test_a_deleted_page_leaves_no_glossary_link_and_no_backlink_behind(level):
    target = concept(level, "zz-quokka", "Quokka sharding")
    reader = concept(level, "zz-reader", "Reader", "We split the herd by quokka sharding.")
    target.delete()
    assert "/concepts/zz-quokka/" not in html(reader)
    assert not PageLink.objects.filter(target_slug="zz-quokka").exists()


def test_a_new_name_links_the_pages_that_already_use_it(level):
    target = concept(level, "zz-quokka", "Quokka sharding")
    reader = concept(level, "zz-reader", "Reader", "Herds are split by wombat partitioning.")
    assert "glossary-link" not in html(reader)
    target.aliases = ["wombat partitioning"]
    target.save()
    assert 'href="/concepts/zz-quokka/"' in html(reader)


def test_a_retitled_page_is_linked_by_its_new_title_and_found_by_it(level, alice):
    target = concept(level, "zz-quokka", "Quokka sharding")
    reader = concept(level, "zz-reader", "Reader", "See [[zz-quokka]] first.")
    assert ">Quokka sharding</a>" in html(reader)
    target.title = "Numbat routing"
    target.save()
    assert ">Numbat routing</a>" in html(reader)
    assert "Reader" in [hit.entry.title for hit in search("numbat routing", alice).hits]


def test_an_unchanged_name_and_slug_render_no_other_page(level, django_assert_max_num_queries):
    target = concept(level, "zz-quokka", "Quokka sharding")
    concept(level, "zz-reader", "Reader", "See [[zz-quokka]] and quokka sharding.")
    target.body = "A longer page."
    with django_assert_max_num_queries(20) as queries:
        target.save()
    assert not any("zz-reader" in q["sql"] for q in queries.captured_queries)


def test_a_step_keeps_its_declared_concept_as_a_backlink_after_a_rename(level, client):
    target = concept(level, "zz-quokka", "Quokka sharding")
    step = Step.objects.order_by("order").first()
    step.concepts.add(target)
    step.save()  # as the admin saves the step after its relations
    assert step.title in client.get("/concepts/zz-quokka/").content.decode()
    target.slug = "zz-quokka-sharding"
    target.save()
    assert step.title in client.get("/concepts/zz-quokka-sharding/").content.decode()


def test_a_problems_questions_are_rendered_again_when_a_page_they_link_appears(level):
    problem = Problem.objects.first()
    problem.clarifying_questions = ["How does [[zz-quokka]] change the design?"]
    problem.save()
    assert "broken-link" in problem.details_html["clarifying_questions"][0]
    concept(level, "zz-quokka", "Quokka sharding")
    problem.refresh_from_db()
    assert 'href="/concepts/zz-quokka/"' in problem.details_html["clarifying_questions"][0]


def test_a_renamed_level_or_family_reaches_the_lists_anonymous_readers_get(client):
    assert client.get("/concepts/").status_code == 200  # now stored for anonymous readers
    level = Level.objects.get(slug="foundations")
    level.name = "Quokka basics"
    level.save()
    assert "Quokka basics" in client.get("/concepts/").content.decode()
    from apps.metrics.models import Family

    assert client.get("/metrics/").status_code == 200
    family = Family.objects.order_by("order").first()
    family.name = "Numbat metrics"
    family.save()
    assert "Numbat metrics" in client.get("/metrics/").content.decode()


def test_the_content_version_moves_again_when_the_edit_commits(
    django_capture_on_commit_callbacks,
):
    from apps.core import caching

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        Level.objects.filter(slug="foundations").get().save()
        Level.objects.filter(slug="foundations").get().save()
    before = caching.content_version()
    bumps = [callback for callback in callbacks if callback is caching._bump]
    assert len(bumps) == 1  # one more bump however many edits
    bumps[0]()
    assert caching.content_version() != before


def test_the_old_address_of_a_renamed_page_leads_to_it_query_string_kept(level, client):
    target = concept(level, "zz-quokka", "Quokka sharding")
    target.slug = "zz-quokka-sharding"
    target.save()
    response = client.get("/concepts/zz-quokka/", {"from": "doc"})
    assert response.status_code == 302
    assert response["Location"] == "/concepts/zz-quokka-sharding/?from=doc"
    target.slug = "zz-quokka-routing"  # renamed again: both old addresses lead to it
    target.save()
    for old in ["zz-quokka", "zz-quokka-sharding"]:
        assert client.get(f"/concepts/{old}/")["Location"] == "/concepts/zz-quokka-routing/"
    metric = Metric.objects.get(slug="precision")
    metric.slug = "precision-score"
    metric.save()
    shared = client.get("/metrics/precision/", {"y_true": "1,0", "y_pred": "1,1"})
    assert shared["Location"] == "/metrics/precision-score/?y_true=1%2C0&y_pred=1%2C1"


def test_an_old_address_taken_by_a_new_page_or_of_a_deleted_one_redirects_no_more(level, client):
    target = concept(level, "zz-quokka", "Quokka sharding")
    target.slug = "zz-quokka-sharding"
    target.save()
    concept(level, "zz-quokka", "Quokka, the other one")  # takes the old address
    assert client.get("/concepts/zz-quokka/").status_code == 200
    target.delete()
    assert client.get("/concepts/zz-quokka-sharding/").status_code == 404
    assert client.get("/concepts/never-was/").status_code == 404


def test_a_deleted_page_leaves_search_too(level, alice):
    target = concept(level, "zz-quokka", "Quokka sharding")
    concept(level, "zz-reader", "Reader", "We split the herd by quokka sharding.")
    target.delete()
    assert "Quokka sharding" not in [hit.entry.title for hit in search("quokka", alice).hits]
