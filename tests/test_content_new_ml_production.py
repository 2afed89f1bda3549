"""New ML lifecycle pages on production concerns: each page meets the anatomy, and every worked
number it states is recomputed here and must appear in the page text.

Pages: feature-store, batch-vs-online-inference, model-serving, model-compression,
distribution-shift, fairness.
"""

import re

import pytest

from apps.concepts.models import Concept
from apps.core.content import FIXTURES_DIR, read_file

SECTIONS = [
    "What it is",
    "How it works",
    "Trade-offs",
    "Numbers to know",
    "In an ML system",
    "In a design review",
]

NEW_PAGES = ["feature-store"]

EXISTING_SLUGS = {
    path.stem for path in (FIXTURES_DIR / "concepts").glob("*.md") if path.stem not in NEW_PAGES
}


def data(slug: str) -> dict:
    return read_file(FIXTURES_DIR / "concepts" / f"{slug}.md")


def text(slug: str) -> str:
    """The page body with line breaks folded, so a phrase wrapped across lines still matches."""
    return re.sub(r"\s+", " ", data(slug)["body"])


def money(value: float, digits: int = 0) -> str:
    """A number written the way the pages write it: thousands separated by commas."""
    return f"{value:,.{digits}f}"


# --- Anatomy -------------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", NEW_PAGES)
def test_new_page_follows_the_anatomy(slug):
    page = data(slug)
    body = page["body"]
    assert page["level"] == "ml-lifecycle"
    assert len(page["summary"]) <= 160
    assert len(body.split()) >= 450, "at least 450 words of body"
    headings = re.findall(r"^## (.+?)\s*$", body, flags=re.MULTILINE)
    assert headings == SECTIONS
    links = set(re.findall(r"\[\[([a-z0-9-]+)(?:[|#\]])", body)) - {slug, "metric"}
    assert len(links & EXISTING_SLUGS) >= 2, "at least two links to existing concepts"
    assert re.search(r"\[\[metric:[a-z0-9-]+", body), "links a metric page where one is meant"
    assert page["references"]
    for ref in page["references"]:
        assert ref["url"].startswith("https://"), ref


@pytest.mark.django_db
@pytest.mark.parametrize("slug", NEW_PAGES)
def test_new_page_loads_without_broken_links_and_every_alias_anchor_exists(slug):
    concept = Concept.objects.get(slug=slug)
    assert concept.level.slug == "ml-lifecycle"
    assert concept.broken_links == []
    for alias in concept.aliases:
        if "#" in alias:
            assert f'id="{alias.split("#", 1)[1]}"' in concept.body_html, alias


@pytest.mark.parametrize("slug", NEW_PAGES)
def test_new_aliases_are_not_claimed_by_another_page(slug):
    mine = {alias.split("#", 1)[0].lower() for alias in data(slug).get("aliases") or []}
    for path in (FIXTURES_DIR / "concepts").glob("*.md"):
        if path.stem == slug:
            continue
        other = read_file(path)
        theirs = {alias.split("#", 1)[0].lower() for alias in other.get("aliases") or []}
        theirs.add(str(other["title"]).lower())
        assert not mine & theirs, f"{slug} and {path.stem} both claim {mine & theirs}"


# --- Feature store -------------------------------------------------------------------------------


def test_feature_store_numbers():
    body = text("feature-store")
    users, features, bytes_per_value = 10**8, 200, 4
    assert users * features * bytes_per_value == 80 * 10**9
    assert "$10^8$ users × 200 features × 4 bytes (float32) = 80 GB" in body

    writes_per_s = 10**8 / 3600
    assert round(writes_per_s, -2) == 27_800
    assert "$10^8 / 3{,}600 \\approx 27{,}800$ writes/s" in body

    period_h, lag_h = 24, 2
    assert (lag_h, lag_h + period_h, lag_h + period_h / 2) == (2, 26, 14)
    assert "between 2 and 26 hours, 14 hours on average" in body

    leaked_share = 2 / 24
    assert f"{leaked_share:.1%}" == "8.3%"
    assert "2 of every 24 hours, about 8.3% of rows" in body
    assert "about 8.3% of training rows see a value serving could not have had" in body


@pytest.mark.django_db
def test_feature_store_title_wins_the_glossary_term_over_the_skew_section():
    from apps.core.markdown import glossary_terms

    urls = {term.lower(): url for term, url in glossary_terms()}
    assert urls["feature store"] == Concept.objects.get(slug="feature-store").get_absolute_url()
