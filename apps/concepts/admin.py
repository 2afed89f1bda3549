from django.contrib import admin

from apps.concepts.models import Concept, Level
from apps.core.admin import MarkdownPageAdmin


@admin.register(Level)
class LevelAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "slug")
    ordering = ("order",)


@admin.register(Concept)
class ConceptAdmin(MarkdownPageAdmin):
    list_display = ("title", "level", "order", "links_ok", "updated_at")
    list_filter = ("level",)
    list_select_related = ("level",)
    search_fields = ("title", "slug", "summary", "body")
    prepopulated_fields = {"slug": ("title",)}
    filter_horizontal = ("related",)
    fieldsets = (
        (None, {"fields": ("title", "slug", "level", "order", "summary")}),
        ("Body", {"fields": ("body", "broken_links_warning")}),
        ("Links and sources", {"fields": ("related", "aliases", "references")}),
        ("History", {"fields": ("updated_at",)}),
    )
