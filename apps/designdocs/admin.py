"""The design template (steps, prompts) and the worked examples, edited in the admin.

Steps are Markdown pages like concepts (live preview, broken links flagged); their prompts are
edited inline in reading order. A prompt that has answers cannot be deleted — retire it, so
the documents that answered it keep their text.
"""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from apps.core.admin import MarkdownPageAdmin
from apps.core.markdown import find_links, resolve_links
from apps.designdocs.models import Answer, DesignDoc, Prompt, Step


def _preview_widget(rows: int) -> forms.Textarea:
    """A textarea whose Markdown the admin previews live, as the page will show it."""
    return forms.Textarea(
        attrs={
            "rows": rows,
            "class": "markdown-editor",
            "hx-post": reverse("core:markdown_preview"),
            "hx-trigger": "input changed delay:400ms, focus",
            "hx-target": "#markdown-preview",
            "hx-sync": "this:replace",
        }
    )


def broken_links(text: str) -> list[str]:
    """The ``[[links]]`` in ``text`` that lead nowhere."""
    links = find_links(text)
    resolved = resolve_links(links)
    return sorted(str(link) for link in links if link not in resolved)


class PromptInline(admin.StackedInline):
    model = Prompt
    extra = 0
    ordering = ("order",)
    fields = (("key", "order", "kind", "retired"), "question", "help", ("units", "choices"),
              ("families", "condition"), ("concepts", "metrics"))  # fmt: skip
    filter_horizontal = ()
    autocomplete_fields = ()
    show_change_link = True

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "help":
            kwargs["widget"] = _preview_widget(3)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        # Inline rows cannot tell which prompt they are; deletion goes through PromptAdmin.
        return False


@admin.register(Step)
class StepAdmin(MarkdownPageAdmin):
    list_display = ("order", "title", "minutes", "optional", "links_ok", "updated_at")
    list_display_links = ("title",)
    ordering = ("order",)
    prepopulated_fields = {"slug": ("title",)}
    filter_horizontal = ("concepts", "metrics")
    inlines = [PromptInline]
    fieldsets = (
        (None, {"fields": ("title", "slug", "order", "minutes", "optional", "summary")}),
        ("Guidance", {"fields": ("body", "broken_links_warning")}),
        ("Related reading", {"fields": ("concepts", "metrics", "aliases")}),
        ("History", {"fields": ("updated_at",)}),
    )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        for prompt in form.instance.prompts.all():
            _warn_about_links(request, prompt)


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    change_form_template = "admin/markdown_page_change_form.html"
    list_display = ("question", "key", "step", "order", "kind", "retired", "answer_count")
    list_filter = ("step", "kind", "retired")
    list_select_related = ("step",)
    search_fields = ("key", "question", "help")
    ordering = ("step__order", "order")
    filter_horizontal = ("concepts", "metrics")
    readonly_fields = ("help_links",)
    fieldsets = (
        (None, {"fields": ("step", "order", "key", "question", "kind", "retired")}),
        ("Help", {"fields": ("help", "help_links")}),
        ("Kind details", {"fields": ("units", "choices", "families")}),
        ("When it is asked", {"fields": ("condition",)}),
        ("Related reading", {"fields": ("concepts", "metrics")}),
    )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "help":
            kwargs["widget"] = _preview_widget(4)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="Answers")
    def answer_count(self, prompt):
        return prompt.answers.count()

    @admin.display(description="Broken links")
    def help_links(self, prompt):
        broken = broken_links(prompt.help)
        return (
            format_html('<strong class="errornote">{}</strong>', ", ".join(broken))
            if broken
            else "None"
        )

    def has_delete_permission(self, request, obj=None):
        # Answers point at prompts: one with answers is retired, never deleted.
        if obj is not None and obj.answers.exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms, protected = super().get_deleted_objects(objs, request)
        answered = [p for p in objs if p.answers.exists()]
        if answered:
            protected = [*protected, *(f"{p} — has answers: retire it instead" for p in answered)]
        return deleted, counts, perms, protected

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _warn_about_links(request, obj)
        if obj.retired and obj.answers.exists():
            messages.info(request, f"“{obj}” is retired: its answers stay in their documents.")


def _warn_about_links(request, prompt: Prompt) -> None:
    if broken := broken_links(prompt.help):
        messages.warning(
            request,
            f"The help of “{prompt}” links to pages that do not exist: {', '.join(broken)}.",
        )


class AnswerInline(admin.StackedInline):
    model = Answer
    extra = 0
    fields = ("prompt", "value", "error")
    readonly_fields = ("error",)
    autocomplete_fields = ("prompt",)
    ordering = ("prompt__step__order", "prompt__order")

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "value":
            kwargs["widget"] = _preview_widget(4)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(DesignDoc)
class ExampleAdmin(admin.ModelAdmin):
    """Only the worked examples: users' own documents are private and never shown here."""

    change_form_template = "admin/markdown_page_change_form.html"
    list_display = ("title", "slug", "updated_at")
    fields = ("title", "slug", "problem")
    inlines = [AnswerInline]

    def get_queryset(self, request):
        return DesignDoc.objects.examples()

    def changelist_view(self, request, extra_context=None):
        extra_context = {"title": "Worked examples (users' documents are not listed)"}
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        obj.is_example = True
        obj.owner = None
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        # Answers are rendered on save (Answer.save), and a value is checked against its
        # prompt, exactly as when a writer types it.
        for answer in formset.save(commit=False):
            answer.error = answer.prompt.problem_with(answer.value)
            answer.version = (answer.version or 0) + 1
            answer.save()
        for answer in formset.deleted_objects:
            answer.delete()
        formset.save_m2m()
        form.instance.mark_changed()  # the search index follows, through refresh_doc
