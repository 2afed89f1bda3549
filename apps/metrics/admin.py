from django.contrib import admin

from apps.core.admin import MarkdownPageAdmin
from apps.metrics.models import Family, Metric


@admin.register(Family)
class FamilyAdmin(admin.ModelAdmin):
    list_display = ("name", "order", "slug")
    ordering = ("order",)


@admin.register(Metric)
class MetricAdmin(MarkdownPageAdmin):
    list_display = ("name", "family", "calculator", "links_ok", "updated_at")
    list_filter = ("family", "calculator")
    list_select_related = ("family",)
    search_fields = ("name", "slug", "summary", "body")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("related", "concepts")
    fieldsets = (
        (None, {"fields": ("name", "slug", "family", "order", "summary")}),
        ("Definition", {"fields": ("formula", "value_range", "higher_is_better", "calculator")}),
        ("Body", {"fields": ("body", "broken_links_warning", "example")}),
        ("Links and sources", {"fields": ("related", "concepts", "aliases", "references")}),
        ("History", {"fields": ("updated_at",)}),
    )
