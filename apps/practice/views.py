"""The practice home and the problem library."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from apps.core.caching import anonymous_page_cache
from apps.designdocs.models import DesignDoc, Step
from apps.practice.forms import ProblemFilterForm, StartForm
from apps.practice.models import DIFFICULTY_ORDER, Attempt, Problem, filter_problems


@require_safe
@anonymous_page_cache
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "practice/home.html", {"problem_count": Problem.objects.count()})


@require_safe
@anonymous_page_cache
def problem_list(request: HttpRequest) -> HttpResponse:
    """Every problem, easiest first, filtered by tag and difficulty (a plain GET form)."""
    problems = list(
        Problem.objects.only("slug", "title", "summary", "difficulty", "tags").order_by(
            DIFFICULTY_ORDER, "title"
        )
    )
    tags = sorted({tag for problem in problems for tag in problem.tags})
    form = ProblemFilterForm(request.GET or None, tags=tags)
    form.is_valid()  # a wrong value is shown at its field and filters nothing
    shown = filter_problems(problems, form.value("tag"), form.value("difficulty"))
    context = {"form": form, "problems": shown, "total": len(problems)}
    if request.htmx and not request.htmx.boosted:
        return render(request, "practice/problem_list.html#results-answer", context)
    return render(request, "practice/problem_list.html", context)


def problem_context(request: HttpRequest, problem: Problem, form: StartForm) -> dict:
    """What the problem page shows; also used to show the start form again with its error."""
    steps = Step.objects.order_by("order").only("slug", "title", "order", "optional", "minutes")
    attempts = []
    if request.user.is_authenticated:
        attempts = Attempt.objects.filter(user=request.user, problem=problem)
    return {
        "problem": problem,
        "rubric": problem.rubric_by_step(steps),
        "concepts": problem.concept_pages(),
        "metrics": problem.metric_pages(),
        "example": DesignDoc.objects.examples().filter(slug=problem.example).first()
        if problem.example
        else None,
        "form": form,
        "attempts": attempts,
    }


@require_safe
@anonymous_page_cache
def problem_detail(request: HttpRequest, slug: str) -> HttpResponse:
    problem = get_object_or_404(Problem, slug=slug)
    return render(
        request, "practice/problem_detail.html", problem_context(request, problem, StartForm())
    )
