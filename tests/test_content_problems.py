"""The practice problem library: every file in fixtures/problems/ has the shape the loader expects.

A problem is an interview prompt with the answer key a writer ticks off: clarifying questions, a
rubric for each step of the design-doc template, and pitfalls. The checks here are about form and
cross-references; whether the rubric is right is for a human reviewer.
"""

import re

import pytest

from apps.core.content import FIXTURES_DIR, read_file

PROBLEMS_DIR = FIXTURES_DIR / "problems"
PROBLEM_PATHS = sorted(PROBLEMS_DIR.glob("*.md"))
#: The template's required steps; optional ones (such as "beyond the template") get no rubric.
STEP_SLUGS = sorted(
    path.stem
    for path in (FIXTURES_DIR / "steps").glob("*.md")
    if not read_file(path).get("optional", False)
)

REQUIRED_KEYS = {
    "title",
    "summary",
    "difficulty",
    "tags",
    "scale",
    "concepts",
    "metrics",
    "clarifying_questions",
    "rubric",
    "pitfalls",
}
OPTIONAL_KEYS = {"example"}
DIFFICULTIES = {"easy", "medium", "hard"}

# ---------------------------------------------------------------------------------------------
# PLANNED PAGES: a temporary allowance, not a whitelist.
#
# These concept and metric pages were being written at the same time as the problems, so a
# problem may cite them before their files exist. Delete a slug from these lists the day its page
# lands: test_planned_lists_hold_only_missing_pages fails until you do. Once a list is empty the
# citation checks are strict, and a problem citing a planned page that never landed fails.
# ---------------------------------------------------------------------------------------------
PLANNED_CONCEPTS: set[str] = set()  # every planned concept page has landed
PLANNED_METRICS: set[str] = set()  # every planned metric page has landed

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def existing(directory: str) -> set[str]:
    return {path.stem for path in (FIXTURES_DIR / directory).glob("*.md")}


def problem_id(path):
    return path.stem


@pytest.fixture(params=PROBLEM_PATHS, ids=problem_id)
def problem(request):
    return read_file(request.param)


def test_the_library_has_at_least_24_problems():
    assert len(PROBLEM_PATHS) >= 24, [path.stem for path in PROBLEM_PATHS]


def test_problem_slugs_are_lower_case_words_joined_by_hyphens():
    bad = [path.name for path in PROBLEM_PATHS if not SLUG.match(path.stem)]
    assert bad == []


def test_the_template_has_six_required_steps_for_the_rubric_to_cover():
    assert len(STEP_SLUGS) == 6, STEP_SLUGS


def test_header_has_every_required_key_and_nothing_unknown(problem):
    keys = set(problem) - {"slug", "body"}
    assert REQUIRED_KEYS - keys == set(), "missing keys"
    assert keys - REQUIRED_KEYS - OPTIONAL_KEYS == set(), "unknown keys"
    for key in ("title", "summary", "scale"):
        assert isinstance(problem[key], str) and problem[key].strip(), key


def test_summary_is_one_short_sentence(problem):
    summary = problem["summary"]
    assert len(summary) <= 160, len(summary)
    assert summary.endswith("."), summary


def test_difficulty_is_easy_medium_or_hard(problem):
    assert problem["difficulty"] in DIFFICULTIES


def test_tags_are_lower_case_slugs(problem):
    tags = problem["tags"]
    assert isinstance(tags, list) and tags, "at least one tag"
    assert [tag for tag in tags if not (isinstance(tag, str) and SLUG.match(tag))] == []
    assert len(tags) == len(set(tags)), "no repeated tag"


def test_four_to_eight_clarifying_questions(problem):
    questions = problem["clarifying_questions"]
    assert 4 <= len(questions) <= 8, len(questions)
    assert [q for q in questions if not (isinstance(q, str) and q.rstrip().endswith("?"))] == []


def test_rubric_has_three_to_six_points_for_each_template_step(problem):
    rubric = problem["rubric"]
    assert isinstance(rubric, dict)
    assert sorted(rubric) == STEP_SLUGS
    for step, points in rubric.items():
        assert isinstance(points, list), step
        assert 3 <= len(points) <= 6, f"{step}: {len(points)} points"
        assert all(isinstance(point, str) and point.strip() for point in points), step


def test_three_to_six_pitfalls(problem):
    pitfalls = problem["pitfalls"]
    assert 3 <= len(pitfalls) <= 6, len(pitfalls)
    assert all(isinstance(pitfall, str) and pitfall.strip() for pitfall in pitfalls)


def test_statement_is_two_to_four_paragraphs(problem):
    paragraphs = [p for p in re.split(r"\n\s*\n", problem["body"].strip()) if p.strip()]
    assert 2 <= len(paragraphs) <= 4, len(paragraphs)


def test_every_concept_exists_or_is_planned(problem):
    known = existing("concepts") | PLANNED_CONCEPTS
    assert problem["concepts"], "at least one concept"
    assert sorted(set(problem["concepts"]) - known) == []


def test_every_metric_exists_or_is_planned(problem):
    known = existing("metrics") | PLANNED_METRICS
    assert problem["metrics"], "at least one metric"
    assert sorted(set(problem["metrics"]) - known) == []


def test_example_names_a_worked_example_that_exists(problem):
    if "example" in problem:
        assert problem["example"] in existing("examples")


def test_planned_lists_hold_only_missing_pages():
    landed_concepts = sorted(PLANNED_CONCEPTS & existing("concepts"))
    landed_metrics = sorted(PLANNED_METRICS & existing("metrics"))
    assert landed_concepts == [], "these pages have landed: delete them from PLANNED_CONCEPTS"
    assert landed_metrics == [], "these pages have landed: delete them from PLANNED_METRICS"
