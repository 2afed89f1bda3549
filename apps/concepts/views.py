from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from apps.concepts.models import Concept, Level
from apps.core.caching import content_page


@require_safe
@content_page
def concept_list(request: HttpRequest) -> HttpResponse:
    levels = Level.objects.prefetch_related(
        Prefetch("concepts", queryset=Concept.objects.for_cards().order_by("order", "title"))
    )
    return render(request, "concepts/concept_list.html", {"levels": levels})


@require_safe
@content_page
def concept_detail(request: HttpRequest, slug: str) -> HttpResponse:
    concept = get_object_or_404(Concept.objects.select_related("level"), slug=slug)
    context = {
        "concept": concept,
        "related": concept.related.for_cards().order_by("title"),
        "previous": concept.previous(),
        "next": concept.next(),
        **concept.backlink_groups(),
    }
    return render(request, "concepts/concept_detail.html", context)
