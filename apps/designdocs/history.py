"""A doc's history: the list of snapshots, diffs, restoring (previewed, confirmed, undoable)
and the timeline of one answer."""

from __future__ import annotations

from django.contrib import messages
from django.db.models.fields.json import KT
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from apps.designdocs import diff
from apps.designdocs.access import doc_view
from apps.designdocs.models import DesignDoc, Prompt

REVISIONS_SHOWN = 200


@doc_view()
def history(request: HttpRequest, doc: DesignDoc) -> HttpResponse:
    # The list shows when and why; snapshots (up to a megabyte each) load only for the two
    # revisions being compared.
    revisions = list(doc.revisions.defer("snapshot")[:REVISIONS_SHOWN])
    by_id = {str(r.pk): r for r in revisions}
    older, newer = by_id.get(request.GET.get("a", "")), by_id.get(request.GET.get("b", ""))
    if (request.GET.get("a") or request.GET.get("b")) and not (older and newer):
        raise Http404("No such revision of this document.")
    changes = None
    if older and newer:
        pair = doc.revisions.filter(pk__in=[older.pk, newer.pk])
        snapshots = dict(pair.values_list("pk", "snapshot"))
        changes = diff.compare(snapshots[older.pk], snapshots[newer.pk])
    undo = by_id.get(request.GET.get("undo", ""))
    context = {"doc": doc, "revisions": revisions, "older": older, "newer": newer,
               "changes": changes, "diff_max_chars": f"{diff.MAX_CHARS:,}", "undo": undo,
               "prompts": _answered_prompts(doc)}  # fmt: skip
    return render(request, "designdocs/history.html", context)


@doc_view(("GET", "POST"))
def restore(request: HttpRequest, doc: DesignDoc, revision_id: int) -> HttpResponse:
    """GET previews what restoring would change; POST (confirmed) restores.

    Restoring is itself a revision, and the text it replaced is kept just before it, so the
    history page offers to undo it at once.
    """
    revision = get_object_or_404(doc.revisions, pk=revision_id)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        doc.restore(revision)
        before = doc.before_restore
        messages.success(request, f"Restored the text of {revision.moment}.")
        url = redirect("designdocs:history", pk=doc.pk).url
        return redirect(f"{url}?undo={before.pk}" if before else url)
    changes = diff.compare(doc.snapshot(), revision.snapshot)
    context = {"doc": doc, "revision": revision, "changes": changes,
               "diff_max_chars": f"{diff.MAX_CHARS:,}"}  # fmt: skip
    return render(request, "designdocs/restore_confirm.html", context)


@doc_view()
def answer_timeline(request: HttpRequest, doc: DesignDoc, key: str) -> HttpResponse:
    """Every version of one prompt's answer the history holds, oldest first, side by side."""
    prompt = get_object_or_404(Prompt, key=key)
    # Only this answer's text is read from each snapshot (a JSON key lookup in the database),
    # newest first, until the versions shown are known: a doc's history is never pruned.
    rows = (
        doc.revisions.order_by("-created_at", "-pk")
        .annotate(text=KT(f"snapshot__answers__{key}"))
        .values_list("pk", "created_at", "reason", "text")
    )
    runs: list[dict] = []  # newest first; each the oldest revision of a run of the same text
    for pk, created_at, reason, text in rows.iterator(chunk_size=50):
        text = text or ""
        if runs and runs[-1]["text"] == text:
            runs[-1] |= {"pk": pk, "created_at": created_at, "reason": reason}
            continue
        if len(runs) == REVISIONS_SHOWN + 1:
            break  # the oldest run shown, and the text before it, are complete
        runs.append({"pk": pk, "created_at": created_at, "reason": reason, "text": text})
    versions = runs[::-1]
    for previous, version in zip([{"text": ""}, *versions], versions, strict=False):
        version["lines"], version["cut"] = diff.lines(previous["text"], version["text"])
    current = doc.answers.filter(prompt=prompt).values_list("value", flat=True).first() or ""
    context = {"doc": doc, "prompt": prompt, "versions": versions[-REVISIONS_SHOWN:],
               "current": current, "prompts": _answered_prompts(doc)}  # fmt: skip
    return render(request, "designdocs/answer_timeline.html", context)


def _answered_prompts(doc: DesignDoc) -> list[Prompt]:
    """The prompts this doc has written something for, in the template's order."""
    return list(
        Prompt.objects.filter(answers__doc=doc).exclude(answers__value="").select_related("step")
        .order_by("step__order", "order").distinct()
    )  # fmt: skip
