"""The six-step wizard: a step page, its plain-POST save, and HTMX autosave of one answer."""

from __future__ import annotations

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from apps.accounts import throttle
from apps.core import markdown, monitoring
from apps.core.caching import stored_page
from apps.designdocs import picker
from apps.designdocs.access import doc_view
from apps.designdocs.models import ANSWER_MAX_CHARS, DesignDoc, Prompt, SaveResult, Step
from apps.designdocs.outline import outline
from apps.designdocs.views import bad_request

# What an answer's or a diagram's version can be (a PositiveIntegerField on every database): a
# save writes the version plus one, so a larger one overflowed the database (a 500).
VERSION_MAX = 2**31 - 2
BAD_VERSION = f"The version must be a whole number from 0 to {VERSION_MAX:,}."


def _posted_value(request: HttpRequest, prompt: Prompt) -> str:
    if prompt.kind == Prompt.Kind.METRICS:
        value = ",".join(request.POST.getlist(prompt.key))
    else:
        value = request.POST.get(prompt.key, "")
    # A NUL character cannot be stored (PostgreSQL refuses it) and is never typed on purpose.
    return value.replace("\x00", "")


def _posted_version(request: HttpRequest, prompt: Prompt) -> int | None:
    """The version the user's text is based on; "Keep my text" names the newer one it saw."""
    raw = request.POST.get(f"version_{prompt.key}", "0") or "0"
    if kept := _kept_version(request, prompt):
        raw = kept
    try:
        version = int(raw)
    except ValueError:
        return None
    return version if 0 <= version <= VERSION_MAX else None


def _kept_version(request: HttpRequest, prompt: Prompt) -> str:
    """The saved version a writer chose to replace with "Keep my text", or ""."""
    if "keep" in request.GET:
        return request.GET["keep"]
    kept_key, _, kept_version = request.POST.get("keep", "").partition(":")
    return kept_version if kept_key == prompt.key else ""


def unsent(request: HttpRequest, key: str, *, text_required: bool = True) -> HttpResponse | None:
    """A 400 when an autosave's body lacks the field ``key`` or its version: a JSON body, a
    file, an empty one. Nothing arrived to save, and saving "" would empty the answer; None
    when both came (a metric picker with no box ticked sends no ``key``: ``text_required``)."""
    missing = [f"version_{key}"] if f"version_{key}" not in request.POST else []
    if text_required and key not in request.POST:
        missing.insert(0, key)
    if not missing:
        return None
    message = f"Send the text as the form fields “{key}” and “version_{key}”; nothing was saved."
    return bad_request(message, missing[0])


def _posted_tab(request: HttpRequest) -> tuple[str, int]:
    """The browser tab that sent the text and its save counter (see DesignDoc.save_answer)."""
    tab = request.POST.get("tab", "").replace("\x00", "")[:40]  # PostgreSQL stores no NUL
    try:
        seq = max(0, min(int(request.POST.get("seq", "0")), 2**31 - 1))
    except ValueError:
        seq = 0
    return tab, seq


def _save(request: HttpRequest, doc: DesignDoc, prompt: Prompt) -> SaveResult | None:
    """Save the posted value; on a conflict keep the user's text in the history."""
    version = _posted_version(request, prompt)
    if version is None:
        return None
    value = _posted_value(request, prompt)
    tab, seq = _posted_tab(request)
    # One transaction: the save and the history it keeps stand or fall together.
    with transaction.atomic():
        if _kept_version(request, prompt):
            # The text another tab saved is about to be replaced: keep it in the history first.
            doc.record_revision(f"Before “Keep my text”: {prompt.question}"[:200])
        result = doc.save_answer(prompt, value, version, tab=tab, seq=seq)
        if result.conflict:
            doc.keep_unsaved_text(prompt, value, tab=tab)
    return result


def _step_context(
    doc: DesignDoc, step: Step, results: dict[str, SaveResult], request: HttpRequest | None = None
) -> dict:
    template = outline()
    steps = template.steps
    answers = doc.answers_by_key()
    prompts = list(step.prompts.all())
    fields = []
    # A prompt no longer asked (another tab changed the answer it depends on) still shows when
    # this form sent it and comes back (a conflict): the writer's words stay where they typed.
    shown = [p for p in prompts if p.is_asked(answers) or p.key in results]
    for prompt in shown:
        field = {
            "prompt": prompt,
            "answer": answers.get(prompt.key),
            "result": results.get(prompt.key),
        }
        if field["result"] and field["result"].unsaved and request is not None:
            field["mine"] = _posted_value(request, prompt)
            field["base_version"] = _posted_version(request, prompt)
        if prompt.kind == Prompt.Kind.METRICS:
            field["options"], field["note"] = picker.options(prompt, answers)
        if field["answer"]:
            field["meaning"] = prompt.meaning(field["answer"].value)
            field["images"] = _shows_no_images(prompt, field["answer"].value)
        fields.append(field)
    previous, following = template.neighbours(step)
    return {
        "doc": doc,
        "step": step,
        "fields": fields,
        "progress": doc.progress(steps, answers),
        "previous": previous,
        "next": following,
        "concepts": step.concepts.all(),
        "metrics": step.metrics.all(),
        "answer_max_chars": ANSWER_MAX_CHARS,
        "not_asked": [p for p in prompts if p not in shown and _written(answers, p)],
    }


def _stored_step(request: HttpRequest, doc: DesignDoc, slug: str) -> HttpResponse:
    """A step as last rendered for this state of the doc (read with the doc): a page load
    costs the doc and one cache read, plus the request's own parts (an interview's clock)."""

    def page(extra: dict) -> HttpResponse:
        step = outline().step(slug)
        if step is None:
            raise Http404("No such step.")
        return render(request, "designdocs/step.html", _step_context(doc, step, {}) | extra)

    return stored_page(request, f"step:{doc.pk}:{slug}:{doc.state()}", page)


def _shows_no_images(prompt: Prompt, value: str) -> bool:
    """An answer that writes an image, which answers never show: the field says so."""
    return prompt.kind == Prompt.Kind.MARKDOWN and markdown.has_images(value)


def _saved(result: SaveResult) -> bool:
    return not (result.conflict or result.refused)


def _written(answers: dict, prompt: Prompt) -> bool:
    return prompt.key in answers and bool(answers[prompt.key].value.strip())


@doc_view(("GET", "POST"), with_state=True)
def step_page(request: HttpRequest, doc: DesignDoc, slug: str) -> HttpResponse:
    """GET shows a step; POST saves all its answers (no JavaScript needed) and moves on."""
    if request.method == "GET":
        return _stored_step(request, doc, slug)
    step = outline().step(slug)
    if step is None:
        raise Http404("No such step.")
    # Not on the submitted form: a prompt added since it was loaded.
    posted = [p for p in step.prompts.all() if f"version_{p.key}" in request.POST]
    for prompt in posted:  # all checked before any is saved: none or every one
        if refusal := unsent(request, prompt.key, text_required=prompt.kind != Prompt.Kind.METRICS):
            return refusal  # a version without its text would save "" over the answer
        if _posted_version(request, prompt) is None:
            return bad_request(BAD_VERSION, f"version_{prompt.key}")
    results = {prompt.key: _save(request, doc, prompt) for prompt in posted}
    if any(r.unsaved for r in results.values()):
        context = _step_context(doc, step, results, request)
        status = 409 if any(r.conflict for r in results.values()) else 413
        return render(request, "designdocs/step.html", context, status=status)
    doc.record_revision(f"Left step {step.order}: {step.title}")
    target = request.POST.get("go", "stay")
    if target == "left":
        return HttpResponse(status=204)  # the page's beacon as the writer left: nobody reads it
    previous, following = outline().neighbours(step)
    neighbour = {"next": following, "previous": previous}.get(target)
    if neighbour is not None:
        return redirect("designdocs:step", pk=doc.pk, slug=neighbour.slug)
    if target == "document":
        return redirect(doc)
    return redirect("designdocs:step", pk=doc.pk, slug=step.slug)


@doc_view(("POST",))
def autosave(request: HttpRequest, doc: DesignDoc, key: str) -> HttpResponse:
    """Save one answer as the user types; 409 with both texts when another tab saved first.

    Statuses the page's script acts on: 200 saved, 409 conflict (both texts shown), 413 too
    large (not saved, text kept in the field), 429 throttled and 5xx (retried by itself).
    """
    prompt = outline().prompts.get(key)
    if prompt is None:
        raise Http404("No such prompt.")
    limit, who = throttle.AUTOSAVES_PER_USER, str(request.user.pk)
    if limit.hit(who) > limit.limit:
        context = {"prompt": prompt, "limit": limit}
        response = render(request, "designdocs/_save_throttled.html", context, status=429)
        monitoring.AUTOSAVES.labels("throttled").inc()
        response["Retry-After"] = str(limit.retry_after(who))  # the page retries by itself then
        return response
    if refusal := unsent(request, key, text_required=prompt.kind != Prompt.Kind.METRICS):
        return refusal
    # Its snapshot and search entry follow in the refresh_doc task the save enqueued.
    result = _save(request, doc, prompt)
    if result is None:
        return bad_request(BAD_VERSION, f"version_{key}")
    monitoring.AUTOSAVES.labels(
        "conflict" if result.conflict else "refused" if result.refused else "saved"
    ).inc()
    if not request.htmx:
        if result.refused:
            return bad_request(result.refused, key)
        return redirect("designdocs:step", pk=doc.pk, slug=prompt.step.slug)
    context = {
        "doc": doc,
        "prompt": prompt,
        "result": result,
        "mine": _posted_value(request, prompt),
        "now": timezone.localtime(),
        "meaning": prompt.meaning(result.answer.value) if result.answer else "",
        "images": _shows_no_images(prompt, _posted_value(request, prompt)),
        # The sidebar's count for this step changes as answers save.
        "step_progress": doc.step_progress(prompt.step) if _saved(result) else None,
    }
    status = 409 if result.conflict else 413 if result.refused else 200
    response = render(request, "designdocs/_save_status.html", context, status=status)
    if key in picker.CHOOSER_KEYS and status == 200:
        response["HX-Trigger"] = "doc-choices-changed"
    return response


@doc_view()
def picker_fragment(request: HttpRequest, doc: DesignDoc, key: str) -> HttpResponse:
    """The metric picker again, after the model type or the chooser answers changed."""
    prompt = get_object_or_404(Prompt, key=key, kind=Prompt.Kind.METRICS)
    answers = doc.answers_by_key()
    options, note = picker.options(prompt, answers)
    field = {"prompt": prompt, "answer": answers.get(key), "options": options, "note": note}
    return render(request, "designdocs/_prompt.html#metric-options", {"doc": doc, "field": field})
