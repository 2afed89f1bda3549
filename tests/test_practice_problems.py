"""Practice problems: loaded from files like every page, edited in the admin with a preview,
listed with filters, shown with their answer key, and found by search."""

import re
from pathlib import Path

import pytest

from apps.core import content
from apps.core.content import ContentFileError
from apps.core.models import PageLink
from apps.practice.content import ProblemKind
from apps.practice.models import Problem
from apps.search.models import Entry
from apps.search.query import search

pytestmark = pytest.mark.django_db

PROBLEM = """---
title: Toy ranking
summary: Rank ten items for a toy shop.
difficulty: easy
tags: [ranking, toys]
scale: "1,000 users × 10 requests a day ≈ 0.1 QPS."
concepts: [latency, a-concept-still-being-written]
metrics: [ndcg]
clarifying_questions:
  - "Who are the users?"
  - "What is a **good** ranking here?"
rubric:
  problem-clarification:
    - "States the goal: revenue per visit."
    - "Derives QPS: $10^4 / 86{,}400 \\\\approx 0.1$."
  evaluation:
    - "Runs an A/B test."
pitfalls:
  - "Ranking by price alone."
---
A toy shop shows **ten** items on its home page. See [[latency]].
"""


@pytest.fixture
def problems_root(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "problems"
    folder.mkdir()
    (folder / "toy-ranking.md").write_text(PROBLEM)
    monkeypatch.setattr(content, "KINDS", [k for k in content.KINDS if k.directory == "problems"])
    return tmp_path


def toy(root: Path) -> Problem:
    content.load(root)
    return Problem.objects.get(slug="toy-ranking")


# --- Loading and dumping -----------------------------------------------------------------------


def test_every_problem_file_loads():
    files = sorted(path.stem for path in (content.FIXTURES_DIR / "problems").glob("*.md"))
    assert files, "fixtures/problems/ has problems"
    assert sorted(Problem.objects.values_list("slug", flat=True)) == files
    for problem in Problem.objects.all():
        assert set(problem.rubric) <= {
            "problem-clarification", "data-collection", "exploratory-data-analysis",
            "model-and-metric-selection", "model-training", "evaluation",
        }, problem.slug  # fmt: skip
        assert problem.body_html and problem.details_html["clarifying_questions"], problem.slug


def test_a_problem_file_loads_with_its_answer_key_rendered(problems_root):
    problem = toy(problems_root)
    assert problem.difficulty == "easy" and problem.tags == ["ranking", "toys"]
    assert "<strong>ten</strong>" in problem.body_html
    assert 'href="/concepts/latency/"' in problem.body_html
    assert problem.details_html["clarifying_questions"][1] == (
        "What is a <strong>good</strong> ranking here?"
    )
    assert "<math" in problem.details_html["rubric"]["problem-clarification"][1]
    assert problem.rubric_size == 3
    # A declared page that does not exist yet is reported, not dropped.
    assert problem.concepts == ["latency", "a-concept-still-being-written"]
    assert problem.broken_links == ["a-concept-still-being-written"]


def test_loading_twice_changes_nothing_and_dump_writes_the_same_file(problems_root, tmp_path):
    toy(problems_root)
    again = content.load(problems_root)
    assert again.unchanged == ["problems/toy-ranking"] and not again.updated
    out = tmp_path / "out"
    content.dump(out)
    reread = ProblemKind().normalise(content.read_file(out / "problems" / "toy-ranking.md"))
    original = ProblemKind().normalise(content.read_file(problems_root / "problems/toy-ranking.md"))
    assert reread == original
    assert "example" not in reread, "an absent example stays absent"


def test_an_admin_edit_survives_a_reload(problems_root):
    problem = toy(problems_root)
    problem.pitfalls = ["Edited in the admin."]
    problem.save()
    report = content.load(problems_root)
    assert report.kept_admin_edits == ["problems/toy-ranking"]
    assert Problem.objects.get(slug="toy-ranking").pitfalls == ["Edited in the admin."]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("difficulty: easy", "difficulty: trivial"), "difficulty 'trivial'"),
        (("  evaluation:\n", "  deployment:\n"), "“deployment”, which is not a step"),
        (("title: Toy ranking\n", ""), "missing title"),
    ],
)
def test_a_malformed_problem_file_is_refused_with_its_reason(problems_root, change, message):
    path = problems_root / "problems" / "toy-ranking.md"
    path.write_text(PROBLEM.replace(*change))
    with pytest.raises(ContentFileError, match=message):
        content.load(problems_root)


def test_declared_concepts_and_metrics_list_the_problem_as_a_backlink(problems_root):
    problem = toy(problems_root)
    sources = PageLink.objects.filter(source_kind="problem", source_id=problem.pk)
    assert {(link.target_kind, link.target_slug) for link in sources} == {
        ("", "latency"), ("", "a-concept-still-being-written"), ("metric", "ndcg"),
    }  # fmt: skip


# --- Pages -------------------------------------------------------------------------------------


def test_list_filters_by_tag_and_difficulty(client, problems_root):
    toy(problems_root)
    everything = client.get("/practice/problems/")
    assert everything.status_code == 200
    assert "Toy ranking" in everything.text and "Ads click-through prediction" in everything.text
    toys = client.get("/practice/problems/?tag=toys")
    assert "Toy ranking" in toys.text and "Ads click-through prediction" not in toys.text
    hard_toys = client.get("/practice/problems/?tag=toys&difficulty=hard")
    assert "Toy ranking" not in hard_toys.text and "No problem has this tag" in hard_toys.text


def test_list_filter_by_htmx_answers_with_the_results_only(client, problems_root):
    toy(problems_root)
    response = client.get("/practice/problems/?tag=toys", headers={"HX-Request": "true"})
    assert response.text.lstrip().startswith('<section id="problem-results"')
    assert "<html" not in response.text and "Toy ranking" in response.text


def test_an_unknown_filter_value_is_explained_and_filters_nothing(client):
    response = client.get("/practice/problems/?tag=<b>nope</b>&difficulty=impossible")
    assert response.status_code == 200
    assert "Select a valid choice" in response.text and "Showing every tag" in response.text
    assert "<b>nope</b>" not in response.text
    assert response.text.count('class="problem-card"') == Problem.objects.count()
    assert (
        'aria-describedby="id_tag_error"' in response.text and 'id="id_tag_error"' in response.text
    )


def test_a_filter_put_right_by_htmx_takes_its_error_away(client):
    response = client.get(
        "/practice/problems/?tag=ads&difficulty=hard", headers={"HX-Request": "true"}
    )
    fields = re.findall(r'<div class="field" id="(\w+)" hx-swap-oob="true">', response.text)
    assert fields == ["id_tag_field", "id_difficulty_field"]
    assert "field-error" not in response.text and "aria-invalid" not in response.text
    assert '<option value="ads" selected>' in response.text, "the chosen value stays chosen"


def test_detail_shows_statement_scale_questions_rubric_pitfalls_and_links(client, problems_root):
    toy(problems_root)
    page = client.get("/practice/problems/toy-ranking/").text
    for expected in [
        "A toy shop shows <strong>ten</strong> items",
        "1,000 users × 10 requests a day",
        "What is a <strong>good</strong> ranking here?",
        "1. Problem clarification",
        "States the goal: revenue per visit.",
        "6. Offline and online evaluation",
        "Ranking by price alone.",
        'href="/concepts/latency/"',
        'href="/metrics/ndcg/"',
    ]:
        assert expected in page, expected
    assert "a-concept-still-being-written" not in page, "missing pages are not linked"


def test_detail_links_its_worked_example(client):
    page = client.get("/practice/problems/ads-click-prediction/").text
    assert 'href="/docs/examples/ads-click-through-prediction/"' in page


def test_anonymous_readers_are_asked_to_sign_in_before_starting(client):
    page = client.get("/practice/problems/ads-click-prediction/").text
    assert "/accounts/login/?next=/practice/problems/ads-click-prediction/" in page
    assert "csrfmiddlewaretoken" not in page, "the anonymous page can be cached"


def test_unknown_problem_is_404_and_pages_refuse_post(client):
    assert client.get("/practice/problems/no-such-problem/").status_code == 404
    for url in ["/practice/", "/practice/problems/", "/practice/problems/ads-click-prediction/"]:
        assert client.post(url).status_code == 405, url


# --- Search and admin --------------------------------------------------------------------------


def test_problems_are_in_the_search_index_and_follow_edits(problems_root):
    problem = toy(problems_root)
    entry = Entry.objects.get(kind="problem", object_id=problem.pk)
    assert entry.url == "/practice/problems/toy-ranking/"
    hits = search("toy ranking").hits
    assert hits[0].entry.kind == "problem" and hits[0].entry.title == "Toy ranking"
    problem.title = "Toy shop ranking"
    problem.save()
    assert Entry.objects.get(kind="problem", object_id=problem.pk).title == "Toy shop ranking"
    problem.delete()
    assert not Entry.objects.filter(kind="problem", object_id=problem.pk).exists()


def test_search_groups_problems_under_their_own_heading(client):
    page = client.get("/search/?q=click-through+prediction&all=1").text
    assert "Practice problems" in page and "/practice/problems/ads-click-prediction/" in page


def test_admin_edits_a_problem_with_the_live_preview(client, staff):
    client.force_login(staff)
    problem = Problem.objects.get(slug="ads-click-prediction")
    change = client.get(f"/admin/practice/problem/{problem.pk}/change/")
    assert change.status_code == 200
    assert 'hx-post="/preview/markdown/"' in change.text and 'id="markdown-preview"' in change.text
    assert "problem-clarification:\n" in change.text, "the rubric is edited as YAML"


def _admin_data(problem: Problem, **changes) -> dict:
    data = {
        "title": problem.title, "slug": problem.slug, "difficulty": problem.difficulty,
        "summary": problem.summary, "tags": "\n".join(problem.tags), "scale": problem.scale,
        "body": problem.body, "clarifying_questions": "\n".join(problem.clarifying_questions),
        "rubric": "problem-clarification:\n  - Names the goal.\n", "pitfalls": "",
        "concepts": "\n".join(problem.concepts), "metrics": "\n".join(problem.metrics),
        "example": problem.example,
    }  # fmt: skip
    return data | changes


def test_admin_saves_lists_and_the_rubric(client, staff):
    client.force_login(staff)
    problem = Problem.objects.get(slug="ads-click-prediction")
    response = client.post(
        f"/admin/practice/problem/{problem.pk}/change/",
        _admin_data(problem, tags="ads\nauctions", pitfalls="One\nTwo"),
    )
    assert response.status_code == 302, response.content[:2000]
    problem.refresh_from_db()
    assert problem.tags == ["ads", "auctions"] and problem.pitfalls == ["One", "Two"]
    assert problem.rubric == {"problem-clarification": ["Names the goal."]}
    assert problem.details_html["rubric"]["problem-clarification"] == ["Names the goal."]


@pytest.mark.parametrize(
    ("rubric", "message"),
    [
        ("deployment:\n  - Ships it.\n", "which is not a step"),
        ("evaluation: [unclosed\n", "not valid YAML"),
        ("evaluation: just text\n", "must be a list"),
    ],
)
def test_admin_explains_a_wrong_rubric_at_the_field(client, staff, rubric, message):
    client.force_login(staff)
    problem = Problem.objects.get(slug="ads-click-prediction")
    response = client.post(
        f"/admin/practice/problem/{problem.pk}/change/", _admin_data(problem, rubric=rubric)
    )
    assert response.status_code == 200 and message in response.text
    problem.refresh_from_db()
    assert "deployment" not in problem.rubric
