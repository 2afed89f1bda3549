from django.contrib import admin

from apps.core.admin import MarkdownPageAdmin
from apps.core.forms import LinesField
from apps.practice.forms import RubricField
from apps.practice.models import Card, Deck, Problem

LIST_FIELDS = {"tags", "concepts", "metrics", "clarifying_questions", "pitfalls"}


@admin.register(Problem)
class ProblemAdmin(MarkdownPageAdmin):
    list_display = ("title", "difficulty", "links_ok", "updated_at")
    list_filter = ("difficulty",)
    search_fields = ("title", "slug", "summary", "body")
    prepopulated_fields = {"slug": ("title",)}
    fieldsets = (
        (None, {"fields": ("title", "slug", "difficulty", "summary", "tags", "scale")}),
        ("Statement", {"fields": ("body", "broken_links_warning")}),
        ("Answer key", {"fields": ("clarifying_questions", "rubric", "pitfalls")}),
        ("Links", {"fields": ("concepts", "metrics", "example")}),
        ("History", {"fields": ("updated_at",)}),
    )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in LIST_FIELDS:
            return LinesField(
                required=False, help_text=db_field.help_text or "One per line.",
                label=db_field.verbose_name.capitalize(),
            )  # fmt: skip
        if db_field.name == "rubric":
            return RubricField(
                required=False,
                help_text="YAML: each step slug, then its points as a list (“- point”).",
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(Deck)
class DeckAdmin(admin.ModelAdmin):
    """Decks and cards are built from the content: read them here, edit their sources."""

    list_display = ("name", "kind", "order")
    list_filter = ("kind",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Card)
class CardAdmin(admin.ModelAdmin):
    list_display = ("front", "deck", "kind", "retired")
    list_filter = ("kind", "retired", "deck")
    list_select_related = ("deck",)
    search_fields = ("key", "front", "back")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
