"""The admin for written pages: Markdown with a live preview and broken links in plain sight."""

import json

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apps.core.forms import LinesField, ReferencesField


class MarkdownPageAdmin(admin.ModelAdmin):
    """Base admin for every :class:`~apps.core.models.MarkdownPage` model."""

    change_form_template = "admin/markdown_page_change_form.html"
    readonly_fields = ("broken_links_warning", "updated_at")
    search_fields = ("slug", "summary", "body")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        body = form.base_fields.get("body")
        if body is not None and obj is not None and obj.pk:
            # The preview renders as the page does: its own URL decides self-links and the
            # glossary rules that apply, so the preview shows exactly the published links.
            body.widget.attrs["hx-vals"] = json.dumps({"self_url": obj.get_absolute_url()})
        return form

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "aliases":
            return LinesField(required=False, help_text=db_field.help_text)
        if db_field.name == "references":
            return ReferencesField(required=False, help_text=db_field.help_text)
        if db_field.name == "body":
            kwargs["widget"] = forms.Textarea(
                attrs={
                    "rows": 30,
                    "class": "markdown-editor",
                    "hx-post": reverse("core:markdown_preview"),
                    "hx-trigger": "input changed delay:400ms, load",
                    "hx-target": "#markdown-preview",
                    "hx-sync": "this:replace",
                }
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="Broken links")
    def broken_links_warning(self, page):
        if not page.broken_links:
            return "None"
        return format_html(
            '<strong class="errornote">{}</strong>',
            format_html_join(", ", "{}", ((link,) for link in page.broken_links)),
        )

    @admin.display(description="Broken links", boolean=True)
    def links_ok(self, page):
        return not page.broken_links

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.broken_links:
            messages.warning(
                request,
                f"“{obj}” links to pages that do not exist: {', '.join(obj.broken_links)}.",
            )
