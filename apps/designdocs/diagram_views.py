"""A doc's architecture diagrams: add, edit (autosave and a live preview), rename, delete.

The source field follows the wizard's autosave protocol (static/js/autosave.js): a version the
text is based on, the tab that typed it, 409 with both texts when another tab saved first, 413
when too large, 429 when throttled. Every view goes through ``doc_view``: owners only.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from apps.accounts import throttle
from apps.designdocs import dot
from apps.designdocs.access import doc_view
from apps.designdocs.diagrams import STARTERS, Rendering, draw
from apps.designdocs.forms import DiagramForm, NewDiagramForm
from apps.designdocs.models import (
    DIAGRAM_MAX_CHARS,
    DIAGRAMS_PER_DOC,
    DesignDoc,
    Diagram,
    DiagramSave,
)
from apps.designdocs.views import bad_request, owner_page
from apps.designdocs.wizard import BAD_VERSION, _posted_tab, _posted_version, unsent

# Each preview may start Graphviz (for up to two seconds); typing sends one per pause.
PREVIEWS_PER_USER = throttle.Limit("diagram-preview-user", 120, 60)


def _posted_source(request: HttpRequest, diagram: Diagram) -> str:
    # A NUL character cannot be stored (PostgreSQL refuses it) and is never typed on purpose.
    return request.POST.get(diagram.key, "").replace("\x00", "")


def _save(request: HttpRequest, diagram: Diagram) -> DiagramSave | None:
    """Save the posted source on its base version, as its tab; None for a bad version."""
    version = _posted_version(request, diagram)
    if version is None:
        return None
    tab, seq = _posted_tab(request)
    source = _posted_source(request, diagram)
    if "keep" in request.GET or request.POST.get("keep", "").startswith(f"{diagram.key}:"):
        # The text the other tab saved is about to be replaced: keep it in the history first.
        diagram.doc.record_revision(f"Before “Keep my text”: {diagram.title}"[:200])
    result = diagram.save_source(source, version, tab=tab, seq=seq)
    if result is not None and result.conflict:
        diagram.doc.keep_unsaved_diagram(diagram, source, tab=tab)  # nothing typed is lost
    return result


def _editor(request: HttpRequest, doc: DesignDoc, diagram: Diagram, **extra) -> dict[str, object]:
    """The editor page's context; after a refused save, the writer's text and base version."""
    result, drawing = extra.get("result"), Rendering(diagram.notation, diagram.svg, diagram.error)
    if result is not None and result.unsaved:
        extra["mine"] = _posted_source(request, diagram)
        extra["base_version"] = _posted_version(request, diagram)
        drawing = draw(extra["mine"])
    return {
        "doc": doc,
        "diagram": diagram,
        "drawing": drawing,
        "title_form": DiagramForm(instance=diagram),
        "max_chars": DIAGRAM_MAX_CHARS,
        "max_nodes": dot.MAX_NODES,
        "max_edges": dot.MAX_EDGES,
        "attributes": sorted(dot.ATTRIBUTES, key=str.lower),
        **extra,
    }


@doc_view(("POST",))
def diagram_add(request: HttpRequest, doc: DesignDoc) -> HttpResponse:
    form = NewDiagramForm(request.POST)
    if form.is_valid() and doc.diagrams.count() >= DIAGRAMS_PER_DOC:
        form.add_error(None, f"A doc holds at most {DIAGRAMS_PER_DOC} diagrams; delete one first.")
    if not form.is_valid():
        return owner_page(request, doc, status=400, diagram_form=form)
    starter = STARTERS[form.cleaned_data["starter"]]
    diagram = Diagram.start(doc, form.cleaned_data["title"], starter.source)
    return redirect(diagram)


@doc_view(("GET", "POST"))
def diagram_edit(request: HttpRequest, doc: DesignDoc, diagram_id: int) -> HttpResponse:
    """GET shows the editor; POST saves the source without JavaScript, and takes the beacon
    autosave.js sends as the page is left (``go=left``, the source only when unsaved)."""
    diagram = get_object_or_404(doc.diagrams, pk=diagram_id)
    if request.method == "GET":
        return render(request, "designdocs/diagram_edit.html", _editor(request, doc, diagram))
    if f"version_{diagram.key}" in request.POST:
        result = _save(request, diagram)
        if result is None:
            return bad_request(BAD_VERSION, f"version_{diagram.key}")
        if result.unsaved:
            context = _editor(request, doc, diagram, result=result)
            status = 409 if result.conflict else 413
            return render(request, "designdocs/diagram_edit.html", context, status=status)
    target = request.POST.get("go", "stay")
    if target == "left":
        return HttpResponse(status=204)  # the page's beacon as the writer left: nobody reads it
    if target == "document":
        return redirect(f"{doc.get_absolute_url()}#diagram-{diagram.pk}")
    messages.success(request, "Saved the diagram.")
    return redirect(diagram)


@doc_view(("POST",))
def diagram_autosave(request: HttpRequest, doc: DesignDoc, diagram_id: int) -> HttpResponse:
    """Save the source as the user types, with the answers' statuses (see the module)."""
    diagram = get_object_or_404(doc.diagrams, pk=diagram_id)
    context: dict[str, object] = {"doc": doc, "diagram": diagram}
    limit, who = throttle.AUTOSAVES_PER_USER, str(request.user.pk)
    if limit.hit(who) > limit.limit:
        context |= {"throttled": limit}
        response = render(request, "designdocs/_diagram_status.html", context, status=429)
        response["Retry-After"] = str(limit.retry_after(who))
        return response
    if refusal := unsent(request, diagram.key):
        return refusal
    result = _save(request, diagram)
    if result is None:
        return bad_request(BAD_VERSION, f"version_{diagram.key}")
    if not request.htmx:
        if result.refused:
            return bad_request(result.refused, diagram.key)
        return redirect(diagram)
    context |= {"result": result, "mine": _posted_source(request, diagram)}
    context["now"] = timezone.localtime()
    status = 409 if result.conflict else 413 if result.refused else 200
    return render(request, "designdocs/_diagram_status.html", context, status=status)


@doc_view(("POST",))
def diagram_preview(request: HttpRequest, doc: DesignDoc, diagram_id: int) -> HttpResponse:
    """The drawing of the posted text, unsaved, with Graphviz's message at the field."""
    diagram = get_object_or_404(doc.diagrams, pk=diagram_id)
    source = _posted_source(request, diagram)
    context: dict[str, object] = {"doc": doc, "diagram": diagram}
    limit, who = PREVIEWS_PER_USER, str(request.user.pk)
    if limit.hit(who) > limit.limit:
        context |= {"paused": limit.retry_after(who), "preview_limit": limit.limit}
        template = "designdocs/diagram_edit.html#preview"
        return render(request, template, context, status=429)
    context["drawing"] = draw(source)  # not drawn past DIAGRAM_MAX_CHARS
    return render(request, "designdocs/diagram_edit.html#preview-response", context)


@doc_view(("POST",))
def diagram_rename(request: HttpRequest, doc: DesignDoc, diagram_id: int) -> HttpResponse:
    diagram = get_object_or_404(doc.diagrams, pk=diagram_id)
    form = DiagramForm(request.POST, instance=diagram)
    if not form.is_valid():
        context = _editor(request, doc, diagram, title_form=form, rename_open=True)
        return render(request, "designdocs/diagram_edit.html", context, status=400)
    with transaction.atomic():
        form.save()
        DesignDoc.objects.filter(pk=doc.pk).update(updated_at=timezone.now())
    messages.success(request, "Saved the title.")
    return redirect(diagram)


@doc_view(("POST",))
def diagram_delete(request: HttpRequest, doc: DesignDoc, diagram_id: int) -> HttpResponse:
    diagram = get_object_or_404(doc.diagrams, pk=diagram_id)
    with transaction.atomic():
        # Its last text first (diagram saves keep no snapshot of their own), then the deletion:
        # the history shows the diagram go, and restoring the revision before brings it back.
        doc.record_revision(f"Before deleting the diagram “{diagram.title}”"[:200])
        diagram.delete()
        doc.record_revision(f"Deleted the diagram “{diagram.title}”"[:200])
    messages.success(
        request, f"Deleted the diagram “{diagram.title}”. Its history can bring it back."
    )
    return redirect(f"{doc.get_absolute_url()}#diagrams")
