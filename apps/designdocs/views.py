from __future__ import annotations

import tempfile
import time
import zipfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.accounts.backends import user_and
from apps.core.caching import stored_page
from apps.designdocs import addons, export
from apps.designdocs.access import Role, doc_view, reader_view
from apps.designdocs.forms import DocForm, NewDiagramForm, RenameForm
from apps.designdocs.models import ACCOUNT_FULL, DOCS_PER_ACCOUNT, DesignDoc, Step
from apps.designdocs.outline import outline

DOCS_PER_PAGE = 25
ZIP_IN_MEMORY = 4 * 1024 * 1024  # bytes of an export archive kept in memory, the rest on disk
SHARED_SHOWN = 100  # a reviewer of more docs than that finds the rest in their inbox


@require_safe
def doc_list(request: HttpRequest) -> HttpResponse:
    """Your docs; signed out, what design docs are, the template and the worked examples.

    The first page is stored rendered per state of what it shows (and per minute, for "edited
    5 minutes ago"); loading it again costs one query (the user with that state) and one cache
    read besides the session's. Later pages (``?page=2``, past 25 docs) are rendered each time.
    """
    user, state = user_and(request, DesignDoc.objects.list_state(), [])
    if not user.is_authenticated:
        return landing(request)
    number = request.GET.get("page", "")[:20]

    def page(extra: dict) -> HttpResponse:
        docs = (
            DesignDoc.objects.active()
            .filter(owner=user)
            .with_answered_count()
            .only("title", "updated_at")
            .order_by("-updated_at", "-pk")  # aggregating queries drop Meta.ordering
        )
        context = {
            "docs": Paginator(docs, DOCS_PER_PAGE).get_page(number),
            "prompt_count": outline().counted,
            "examples": DesignDoc.objects.examples().only("slug", "title", "problem"),
            "trash_count": DesignDoc.objects.in_trash().filter(owner=user).count(),
            "form": DocForm(),
            "shared": DesignDoc.objects.shared_with(user)
            .select_related("owner")
            .only("title", "updated_at", "owner__username")
            .order_by("-updated_at", "-pk")[:SHARED_SHOWN],
        }
        return render(request, "designdocs/doc_list.html", context | extra)

    minute = int(time.time() // 60)
    return stored_page(request, f"docs:{minute}:{state}", page)


def landing(request: HttpRequest) -> HttpResponse:
    steps = Step.objects.only("slug", "title", "order", "minutes", "summary", "optional")
    examples = DesignDoc.objects.examples().only("slug", "title", "problem")
    return render(request, "designdocs/landing.html", {"steps": steps, "examples": examples})


@require_safe
def example_list(request: HttpRequest) -> HttpResponse:
    examples = DesignDoc.objects.examples().only("slug", "title", "problem").order_by("title")
    return render(request, "designdocs/example_list.html", {"examples": examples})


@login_required
@require_http_methods(["GET", "POST"])
def doc_new(request: HttpRequest) -> HttpResponse:
    form = DocForm(request.POST or None)
    if request.method == "POST" and DesignDoc.objects.full_for(request.user):
        form.add_error(None, ACCOUNT_FULL)  # what was typed is shown again, kept
    if request.method == "POST" and form.is_valid():
        doc = form.save(commit=False)
        doc.owner = request.user
        doc.save()
        doc.record_revision("Created")
        first = Step.objects.order_by("order").first()
        if first is None:
            return redirect(doc)
        return redirect("designdocs:step", pk=doc.pk, slug=first.slug)
    return render(request, "designdocs/doc_new.html", {"form": form})


def _document_context(doc: DesignDoc) -> dict:
    answers = doc.answers_by_key()
    progress = doc.progress(outline().steps, answers)
    # Optional steps (free sections) never make a doc look unfinished.
    answered = sum(p.answered for p in progress if not p.step.optional)
    total = sum(p.total for p in progress if not p.step.optional)
    return {
        "doc": doc,
        "progress": progress,
        "answers": answers,
        "answered": answered,
        "total": total,
        "percent": round(100 * answered / total) if total else 100,
        "diagrams": list(doc.diagrams.all()),
        "diagram_form": NewDiagramForm(),
    }


@reader_view()
def doc_detail(request: HttpRequest, doc: DesignDoc, role: Role) -> HttpResponse:
    """The whole doc: for its owner with everything that changes it, for a named reviewer
    read-only (with whatever review tools other apps add, as for the owner)."""
    if role is Role.OWNER:
        return owner_page(request, doc)
    context = _document_context(doc) | {"role": role}
    context |= addons.page_context(request, doc, role, context["answers"])
    return render(request, "designdocs/doc_read.html", context)


def owner_page(request: HttpRequest, doc: DesignDoc, status: int = 200, **forms) -> HttpResponse:
    """The owner's doc page; ``forms`` replace its blank forms (a refused one, with errors)."""
    context = _document_context(doc) | {"rename_form": RenameForm(instance=doc), "editable": True}
    context |= addons.page_context(request, doc, Role.OWNER, context["answers"])
    context |= {"export_parts": addons.export_parts(), **forms}
    return render(request, "designdocs/doc_detail.html", context, status=status)


@require_safe
def template_step(request: HttpRequest, slug: str) -> HttpResponse:
    """A step of the design template, readable without an account."""
    step = get_object_or_404(Step.objects.prefetch_related("concepts", "metrics"), slug=slug)
    prompts = step.prompts.order_by("order")
    steps = Step.objects.only("slug", "title", "order")
    context = {"step": step, "prompts": prompts, "steps": steps}
    return render(request, "designdocs/template_step.html", context)


@require_safe
def example_detail(request: HttpRequest, slug: str) -> HttpResponse:
    doc = get_object_or_404(DesignDoc.objects.examples(), slug=slug)
    return render(request, "designdocs/example_detail.html", _document_context(doc))


@login_required
@require_POST
def example_copy(request: HttpRequest, slug: str) -> HttpResponse:
    example = get_object_or_404(DesignDoc.objects.examples(), slug=slug)
    if DesignDoc.objects.full_for(request.user):
        messages.error(request, ACCOUNT_FULL)
        return redirect(example)
    doc = example.copy_for(request.user, title=example.title)
    messages.success(request, f"“{example.title}” is now in your docs; edit it as you like.")
    return redirect(doc)


@login_required
@require_safe
def export_all(request: HttpRequest) -> HttpResponse:
    """Every document of the user's (not the trash) as Markdown files in one zip archive,
    each diagram drawn beside its document as an SVG file."""
    docs = DesignDoc.objects.active().filter(owner=request.user).prefetch_related("diagrams")
    # Past a few megabytes the archive goes to disk, not memory: a writer may keep 500 docs,
    # and each may hold a megabyte of text and twenty drawings. FileResponse closes it.
    archive_file = tempfile.SpooledTemporaryFile(max_size=ZIP_IN_MEMORY)  # noqa: SIM115
    with zipfile.ZipFile(archive_file, "w", zipfile.ZIP_DEFLATED) as archive:
        for doc in docs.order_by("pk").iterator(chunk_size=50):
            stem = f"{doc.pk:05d}-{slugify(doc.title) or 'design-doc'}"
            archive.writestr(f"{stem}.md", export.markdown(doc))
            for number, diagram in enumerate(doc.diagrams.all(), start=1):
                if diagram.svg:
                    archive.writestr(f"{stem}-diagram-{number}.svg", export.svg_file(diagram))
    archive_file.seek(0)
    return FileResponse(
        archive_file, as_attachment=True, filename="mlsd-design-docs.zip",
        content_type="application/zip",
    )  # fmt: skip


@doc_view(("GET",))
def doc_export(request: HttpRequest, doc: DesignDoc) -> HttpResponse:
    """The doc as Markdown; ``?include=comments`` adds the open review comments."""
    notes = addons.export_lines(request.GET.get("include", ""), doc)
    text = export.markdown(doc, notes)
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    filename = slugify(doc.title) or f"design-doc-{doc.pk}"
    response["Content-Disposition"] = f'attachment; filename="{filename}.md"'
    return response


@doc_view(("POST",))
def doc_rename(request: HttpRequest, doc: DesignDoc) -> HttpResponse:
    with transaction.atomic():
        # Two tabs renaming at once: the second reads what the first saved, and conflicts.
        locked = DesignDoc.objects.select_for_update().get(pk=doc.pk)
        form = RenameForm(request.POST, instance=locked)
        if form.is_valid():
            form.save()
            locked.record_revision("Renamed")
            messages.success(request, "Saved the title and problem statement.")
            return redirect(locked)
        if form.conflict:
            locked.keep_unsaved_title(form.cleaned_data["title"], form.cleaned_data["problem"])
    return owner_page(request, doc, status=409 if form.conflict else 400, rename_form=form)


@doc_view(("POST",))
def doc_duplicate(request: HttpRequest, doc: DesignDoc) -> HttpResponse:
    if DesignDoc.objects.full_for(request.user):
        messages.error(request, ACCOUNT_FULL)
        return redirect(doc)
    copy = doc.copy_for(request.user)
    messages.success(request, f"Made “{copy.title}”.")
    return redirect(copy)


@doc_view(("POST",))
def doc_delete(request: HttpRequest, doc: DesignDoc) -> HttpResponse:
    doc.move_to_trash()
    messages.success(request, f"Moved “{doc.title}” to the trash; restore it within 30 days.")
    return redirect("designdocs:list")


@doc_view(("POST",), trashed=True)
def doc_restore(request: HttpRequest, doc: DesignDoc) -> HttpResponse:
    doc.restore_from_trash()
    messages.success(request, f"Restored “{doc.title}”.")
    return redirect(doc)


@doc_view(("POST",), trashed=True)
def doc_delete_forever(request: HttpRequest, doc: DesignDoc) -> HttpResponse:
    """A doc in the trash, gone now rather than after 30 days (with its answers, history,
    diagrams and comments): room for another when the account keeps all it can."""
    title = doc.title
    doc.delete()
    messages.success(request, f"Deleted “{title}” forever.")
    return redirect("designdocs:trash")


@login_required
@require_safe
def trash(request: HttpRequest) -> HttpResponse:
    docs = DesignDoc.objects.in_trash().filter(owner=request.user).order_by("-deleted_at")
    context = {"docs": docs, "docs_per_account": DOCS_PER_ACCOUNT}
    return render(request, "designdocs/trash.html", context)


def bad_request(message: str, field: str) -> JsonResponse:
    return JsonResponse({"detail": [{"loc": [field], "msg": message}]}, status=400)
