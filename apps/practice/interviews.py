"""Mock interviews: start one, time it from its step pages, pause, finish, review it."""

from __future__ import annotations

import re
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.validators import slug_re
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from apps.designdocs.models import ACCOUNT_FULL, DesignDoc, Prompt, Step
from apps.designdocs.views import bad_request
from apps.practice import svg
from apps.practice.forms import StartForm
from apps.practice.models import Attempt, Problem, TooManySpans
from apps.practice.views import problem_context

TAB_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")  # whole: fullmatch, so no newline after it


def _posted_step(request: HttpRequest) -> Step | None:
    """The template step the page posted its slug of, or None (also for what no slug can be,
    such as a NUL, which PostgreSQL refuses to compare)."""
    slug = request.POST.get("step", "")
    return Step.objects.filter(slug=slug).first() if slug_re.match(slug) else None


def own_attempt(request: HttpRequest, pk: int) -> Attempt:
    """The signed-in user's attempt ``pk``, or 404 (also for anybody else's)."""
    attempts = Attempt.objects.select_related("problem", "doc")
    return get_object_or_404(attempts, pk=pk, user=request.user)


@require_POST
@login_required
def start(request: HttpRequest, slug: str) -> HttpResponse:
    """A new design doc for the problem, timed; the writer lands on its first step."""
    problem = get_object_or_404(Problem, slug=slug)
    form = StartForm(request.POST)
    if DesignDoc.objects.full_for(request.user) and not Attempt.just_started(request.user, problem):
        form.add_error(None, ACCOUNT_FULL)
    if not form.is_valid():
        context = problem_context(request, problem, form)
        return render(request, "practice/problem_detail.html", context, status=400)
    attempt = Attempt.start(request.user, problem, form.cleaned_data["minutes"])
    first = Step.objects.filter(optional=False).order_by("order").first()
    if first is None:
        return redirect(attempt.doc)
    return redirect("designdocs:step", pk=attempt.doc_id, slug=first.slug)


@require_POST
@login_required
def event(request: HttpRequest, pk: int) -> JsonResponse:
    """A step page reports that it opened, is still open (every 15 s), or left.

    Answers with the clock as the server counts it, which the page shows from then on.
    """
    attempt = own_attempt(request, pk)
    kind = request.POST.get("event", "")
    if kind not in Attempt.Event.values:
        return bad_request(f"The event must be one of {', '.join(Attempt.Event.values)}.", "event")
    tab = request.POST.get("tab", "")
    if not TAB_RE.fullmatch(tab):
        return bad_request("The tab is 1 to 40 letters, digits, - or _.", "tab")
    step = _posted_step(request)
    if step is None:
        return bad_request("No step has this slug.", "step")
    now = timezone.now()
    try:
        attempt.record(kind, step, tab, now)
    except TooManySpans:
        return JsonResponse(
            {"detail": [{"loc": ["tab"], "msg": "This attempt has recorded too many visits."}]},
            status=429,
        )
    clock = attempt.clock(step, now)
    return JsonResponse(
        {
            "step_left": round(clock.step_left),
            "step_budget": round(clock.budget),
            "left": round(clock.left),
            "paused": clock.paused,
            "finished": clock.finished,
        }
    )


def _back_to_step(attempt: Attempt, request: HttpRequest) -> HttpResponse:
    """Back to the step page the button was pressed on, or to the attempt."""
    step = _posted_step(request)
    if step is None:
        return redirect(attempt)
    return redirect("designdocs:step", pk=attempt.doc_id, slug=step.slug)


@require_POST
@login_required
def pause(request: HttpRequest, pk: int) -> HttpResponse:
    attempt = own_attempt(request, pk)
    attempt.pause(timezone.now())
    return _back_to_step(attempt, request)


@require_POST
@login_required
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    attempt = own_attempt(request, pk)
    attempt.resume(timezone.now())
    return _back_to_step(attempt, request)


@require_POST
@login_required
def finish(request: HttpRequest, pk: int) -> HttpResponse:
    attempt = own_attempt(request, pk)
    attempt.finish(timezone.now())
    return redirect(attempt)


def _review_context(attempt: Attempt) -> dict:
    """Each step's rubric beside the writer's answers, the score, and time against budget: the
    template's steps, and an optional one where the rubric has points (they count in the score,
    so they must be there to tick)."""
    steps = Step.objects.filter(Q(optional=False) | Q(slug__in=list(attempt.rubric)))
    steps = list(steps.order_by("order").prefetch_related("prompts"))
    answers = attempt.doc.answers_by_key()
    times = {t.step.pk: t for t in attempt.step_times(steps)}
    rows = []
    for step in steps:
        prompts = [p for p in step.prompts.all() if not p.retired or p.key in answers]
        points = attempt.rubric_html.get(step.slug) or attempt.rubric.get(step.slug, [])
        rows.append({
            "step": step,
            "time": times.get(step.pk),
            "answers": [(p, answers.get(p.key)) for p in sorted(prompts, key=_prompt_order)],
            "points": [(i, html, attempt.is_ticked(step.slug, i)) for i, html in enumerate(points)],
        })  # fmt: skip
    covered, total = attempt.score()
    chart = svg.budget_bars(
        [(t.step.title, t.spent, t.budget) for t in times.values()],
        title="Time per step against its budget",
    )
    return {"attempt": attempt, "rows": rows, "covered": covered, "total": total, "chart": chart,
            "now": timezone.now()}  # fmt: skip


def _prompt_order(prompt: Prompt) -> int:
    return prompt.order


@require_safe
@login_required
def attempt_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The self-review once finished; until then, where the interview stands."""
    attempt = own_attempt(request, pk)
    return render(request, "practice/attempt_detail.html", _review_context(attempt))


@require_POST
@login_required
def save_ticks(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the rubric points the writer ticked (all of them at once: unticked ones are off)."""
    attempt = own_attempt(request, pk)
    try:
        attempt.set_ticks(request.POST.getlist("tick"))
    except ValueError as exc:
        return bad_request(str(exc), "tick")
    if request.htmx:
        return render(request, "practice/attempt_detail.html#score", _review_context(attempt))
    messages.success(request, "Your self-review is saved.")
    return redirect(attempt)


@require_safe
@login_required
def attempt_list(request: HttpRequest) -> HttpResponse:
    """The user's attempts, problem by problem, oldest first, with the scores over time."""
    attempts = (
        Attempt.objects.filter(user=request.user)
        .select_related("problem")
        .order_by("problem__title", "problem_id", "started_at")
    )
    groups = []
    for problem, items in groupby(attempts, key=lambda a: a.problem):
        items = list(items)
        finished = [a for a in items if a.finished]
        chart = None
        if len(finished) > 1:
            chart = svg.columns(
                [(f"{a.started_at:%d %b}", a.percent) for a in finished],
                title=f"Scores for {problem.title}", y_label="Score (%)", y_max=100, unit=" %",
                label_every=1, height=160,
            )  # fmt: skip
        groups.append({"problem": problem, "attempts": items, "chart": chart})
    return render(request, "practice/attempt_list.html", {"groups": groups})
