"""Glossary links mean what the sentence means, and every one of them has been reviewed."""

import pytest

from apps.concepts.models import Concept
from apps.core import glossary
from apps.core.markdown import render
from apps.metrics.models import Metric

pytestmark = pytest.mark.django_db


def test_every_glossary_link_the_content_produces_is_in_the_reviewed_list():
    # A new or changed link fails here until `manage.py glossary_links --write` records it and
    # someone reads the diff: links are reviewed for sense before they ship.
    assert glossary.all_links() == glossary.reviewed_links()


@pytest.mark.parametrize(
    ("page", "text", "wrong_target"),
    [("/concepts/consistency/", "AP", "/metrics/average-precision/"),
     ("/concepts/ab-testing/", "power", "/metrics/power/"),
     ("/concepts/load-balancing/", "power", "/metrics/power/"),
     ("/concepts/kafka/", "retention", "/metrics/user-retention/"),
     ("/concepts/client-server/", "message", "/concepts/publish-subscribe/#topics-and-messages"),
     ("/concepts/https-tls/", "message", "/concepts/publish-subscribe/#topics-and-messages"),
     ("/concepts/consistency/", "partition", "/concepts/kafka/#topics-partitions-offsets"),
     ("/concepts/consistency/", "constraints", "/concepts/problem-clarification/")],
)  # fmt: skip
def test_the_wrong_senses_seen_on_public_pages_no_longer_link(page, text, wrong_target):
    links = glossary.all_links().get(page, {})
    assert all(not (t.lower() == text.lower() and url.startswith(wrong_target))
               for t, url in links.items()), links  # fmt: skip


def test_abbreviations_match_as_written_and_as_whole_words():
    assert "glossary-link" not in render("We drew a map of the city.").html
    assert 'href="/metrics/mean-average-precision/"' in render("We report mAP at 0.5.").html
    assert "glossary-link" not in render("a gap in the apiary").html
    assert 'href="/metrics/ndcg/"' in render("Report DCG at ten.").html
    assert "glossary-link" not in render("The dcg of it.").html


def test_rules_keep_an_explicit_term_off_and_an_only_term_on_its_pages():
    rules = glossary.parse(
        {"rules": {"power": "explicit", "partition": {"only": ["/concepts/kafka/"]}},
         "off": {"/concepts/tcp/": ["reliability"]}}
    )  # fmt: skip
    assert not rules.allows("Power", "/concepts/ab-testing/")
    assert rules.allows("partition", "/concepts/kafka/")
    assert not rules.allows("partition", "/concepts/consistency/")
    assert not rules.allows("reliability", "/concepts/tcp/")
    assert rules.allows("reliability", "/concepts/redundancy/")
    with pytest.raises(ValueError, match="glossary rule for 'x'"):
        glossary.parse({"rules": {"x": "sometimes"}})


def test_the_admin_preview_shows_exactly_the_links_the_page_has(client, staff):
    client.force_login(staff)
    for page in [Concept.objects.get(slug="kafka"), Concept.objects.get(slug="consistency"),
                 Metric.objects.get(slug="mse")]:  # fmt: skip
        change = client.get(
            f"/admin/{page._meta.app_label}/{page._meta.model_name}/{page.pk}/change/"
        )
        assert f'"self_url": "{page.get_absolute_url()}"' in change.text.replace("&quot;", '"')
        preview = client.post(
            "/preview/markdown/", {"body": page.body, "self_url": page.get_absolute_url()}
        )
        assert glossary.links_in(preview.text) == glossary.links_in(page.body_html), page
