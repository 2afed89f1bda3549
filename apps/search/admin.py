from django.contrib import admin

from apps.search.models import Entry


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "url", "owner")
    list_filter = ("kind",)
    search_fields = ("title", "names")
    readonly_fields = [field.name for field in Entry._meta.fields]

    def has_add_permission(self, request):
        return False
