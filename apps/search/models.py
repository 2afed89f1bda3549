"""One search index for every kind of page, so a query is one ranked query."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models


class Entry(models.Model):
    class Kind(models.TextChoices):
        CONCEPT = "concept", "Concepts"
        METRIC = "metric", "Metrics"
        STEP = "step", "Design template"
        EXAMPLE = "example", "Example design docs"
        PROBLEM = "problem", "Practice problems"
        DOC = "doc", "Your design docs"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    object_id = models.PositiveBigIntegerField()
    title = models.CharField(max_length=300)
    # "|title|alias|alias|" in lower case: exact-name matches and trigram typo matching.
    names = models.TextField()
    # Lower-case alias → "#anchor" for aliases that name a section of the page.
    anchors = models.JSONField(default=dict)
    summary = models.TextField(blank=True)
    body = models.TextField(blank=True, help_text="Plain text.")
    url = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE
    )
    # Filled and GIN-indexed on PostgreSQL only (see migrations); NULL on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        verbose_name_plural = "entries"
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="one_entry_per_object")
        ]
        indexes = [models.Index(fields=["owner"])]

    def __str__(self) -> str:
        return f"{self.kind}: {self.title}"
