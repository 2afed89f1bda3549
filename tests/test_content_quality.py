"""The knowledge base itself: every required page exists and meets the page anatomy."""

import re

import pytest

from apps.concepts.models import Concept
from apps.core.content import FIXTURES_DIR, read_file
from apps.metrics.models import Metric

SYSTEMS_SLUGS = [
    "client-server",
    "tcp",
    "http",
    "https-tls",
    "peer-to-peer",
    "latency",
    "availability",
    "throughput",
    "qps",
    "redundancy",
    "consistency",
    "data-storage",
    "disk-memory-indexes",
    "polling-vs-streaming",
    "load-balancing",
    "rate-limiting",
    "leader-election",
    "logging-and-monitoring",
    "publish-subscribe",
    "dos-protection",
    "zookeeper",
    "redis",
    "kafka",
    "grpc",
    "vizier",
]

ML_SLUGS = [
    "data-collection-and-labeling", "exploratory-data-analysis", "dimensionality-reduction",
    "class-imbalance", "loss-functions", "regularization", "cross-validation", "optimizers",
    "backpropagation", "vanishing-gradients", "activation-functions", "overfitting",
    "normalization", "ab-testing", "model-monitoring", "training-serving-skew", "model-freshness",
]  # fmt: skip

#: Pages that cover several terms: each term has its own section, registered as an alias.
SECTION_TERMS = {
    "loss-functions": ["cross-entropy", "mse-loss", "mae-loss", "huber-loss", "hinge-loss"],
    "regularization": ["l1", "l2", "entropy-regularization", "dropout"],
    "optimizers": ["sgd", "momentum", "adagrad", "rmsprop", "adam"],
    "activation-functions": ["linear", "elu", "relu", "tanh", "sigmoid"],
    "dimensionality-reduction": ["pca", "covariance", "correlation", "feature-importance"],
}

SECTIONS = [
    "What it is",
    "How it works",
    "Trade-offs",
    "Numbers to know",
    "In an ML system",
    "In a design review",
]


@pytest.mark.parametrize("slug", SYSTEMS_SLUGS + ML_SLUGS)
def test_concept_page_follows_the_anatomy(slug):
    data = read_file(FIXTURES_DIR / "concepts" / f"{slug}.md")
    body = data["body"]
    assert len(body.split()) >= 300, "at least 300 words of writing"
    headings = re.findall(r"^## (.+?)\s*(?:\{#[^}]+\})?$", body, flags=re.MULTILINE)
    assert [h for h in headings if h in SECTIONS] == SECTIONS
    assert len(data["summary"]) <= 200
    internal = {m for m in re.findall(r"\[\[([a-z0-9-]+)", body)} - {slug}
    assert len(internal) >= 2, "at least two links to other concepts"
    assert data.get("references"), "primary sources"
    for ref in data["references"]:
        assert ref["url"].startswith("https://"), ref


@pytest.mark.django_db
def test_loaded_pages_have_no_broken_links_and_every_alias_anchor_exists():
    for concept in [*Concept.objects.all(), *Metric.objects.all()]:
        assert concept.broken_links == [], f"{concept.slug}: {concept.broken_links}"
        for alias in concept.aliases:
            if "#" in alias:
                anchor = alias.split("#", 1)[1]
                assert f'id="{anchor}"' in concept.body_html, f"{concept.slug}: {alias}"


def test_availability_page_states_downtime_that_matches_the_formula():
    body = read_file(FIXTURES_DIR / "concepts" / "availability.md")["body"]
    for nines, text in [(0.999, "8.77"), (0.9999, "52.6"), (0.99999, "5.26")]:
        hours = (1 - nines) * 365.25 * 24
        value = hours if nines == 0.999 else hours * 60
        assert f"{value:.3g}" == text
        assert text in body, f"downtime for {nines} stated as {text}"


@pytest.mark.django_db
def test_ml_lifecycle_pages_are_a_fifth_level():
    levels = set(Concept.objects.filter(slug__in=ML_SLUGS).values_list("level__slug", flat=True))
    assert levels == {"ml-lifecycle"}
    assert Concept.objects.filter(slug__in=ML_SLUGS).count() == len(ML_SLUGS)


@pytest.mark.django_db
@pytest.mark.parametrize(("slug", "anchors"), sorted(SECTION_TERMS.items()))
def test_each_covered_term_has_its_own_section_and_alias(slug, anchors):
    concept = Concept.objects.get(slug=slug)
    alias_anchors = {alias.split("#", 1)[1] for alias in concept.aliases if "#" in alias}
    for anchor in anchors:
        assert f'id="{anchor}"' in concept.body_html, f"{slug} has no section #{anchor}"
        assert anchor in alias_anchors, f"{slug}: no alias points at #{anchor}"
