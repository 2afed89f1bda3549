from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.models import MarkdownPage, shown_on_pages


@shown_on_pages
class Level(models.Model):
    """A stage of understanding, read in order: foundations first, technologies last."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    order = models.PositiveSmallIntegerField(unique=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return self.name


class ConceptQuerySet(models.QuerySet):
    def in_reading_order(self):
        return self.select_related("level").order_by("level__order", "order", "title")

    def for_cards(self):
        """Only what a list of concepts shows."""
        return self.only("slug", "title", "summary", "level_id", "order")


class Concept(MarkdownPage):
    page_kind = "concept"
    url_name = "concepts:detail"

    title = models.CharField(max_length=200)
    level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="concepts")
    order = models.PositiveIntegerField(default=0, help_text="Reading order inside the level.")
    related = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="+")

    objects = ConceptQuerySet.as_manager()

    class Meta:
        ordering = ["level__order", "order", "title"]
        indexes = [models.Index(fields=["order", "title"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return self.url_for(self.slug)

    def _neighbour(self, before: bool) -> Concept | None:
        lo = self.level.order
        if before:
            where = (
                Q(level__order__lt=lo)
                | Q(level__order=lo, order__lt=self.order)
                | Q(level__order=lo, order=self.order, title__lt=self.title)
            )
            ordering = ["-level__order", "-order", "-title"]
        else:
            where = (
                Q(level__order__gt=lo)
                | Q(level__order=lo, order__gt=self.order)
                | Q(level__order=lo, order=self.order, title__gt=self.title)
            )
            ordering = ["level__order", "order", "title"]
        return Concept.objects.filter(where).only("slug", "title").order_by(*ordering).first()

    def previous(self) -> Concept | None:
        """The concept before this one in the reading order."""
        return self._neighbour(before=True)

    def next(self) -> Concept | None:
        """The concept after this one in the reading order."""
        return self._neighbour(before=False)
