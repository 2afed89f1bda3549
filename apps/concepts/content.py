"""Concept pages as files in ``fixtures/concepts/``."""

from __future__ import annotations

from typing import Any

from apps.concepts.models import Concept, Level
from apps.core.content import ContentFileError, ContentKind


class ConceptKind(ContentKind):
    directory = "concepts"
    model = Concept

    def pages(self):
        return Concept.objects.select_related("level").prefetch_related("related")

    def to_data(self, page: Concept) -> dict[str, Any]:
        return {
            "slug": page.slug,
            "title": page.title,
            "level": page.level.slug,
            "order": page.order,
            "summary": page.summary,
            "aliases": list(page.aliases),
            "related": sorted(concept.slug for concept in page.related.all()),
            "references": list(page.references),
            "body": page.body.strip() + "\n",
        }

    def normalise(self, data: dict[str, Any]) -> dict[str, Any]:
        missing = {"title", "level", "summary"} - data.keys()
        if missing:
            raise ContentFileError(f"concepts/{data['slug']}: missing {', '.join(sorted(missing))}")
        return {
            "slug": data["slug"],
            "title": str(data["title"]).strip(),
            "level": data["level"],
            "order": int(data.get("order", 0)),
            "summary": str(data["summary"]).strip(),
            "aliases": [str(alias) for alias in data.get("aliases") or []],
            "related": sorted(data.get("related") or []),
            "references": [
                {"title": str(ref["title"]), "url": str(ref.get("url", ""))}
                for ref in data.get("references") or []
            ],
            "body": data["body"].strip() + "\n",
        }

    def save(self, page: Concept | None, data: dict[str, Any]) -> Concept:
        try:
            level = Level.objects.get(slug=data["level"])
        except Level.DoesNotExist:
            raise ContentFileError(
                f"concepts/{data['slug']}: unknown level {data['level']!r}"
            ) from None
        page = page or Concept(slug=data["slug"])
        for name in ("title", "order", "summary", "aliases", "references", "body"):
            setattr(page, name, data[name])
        page.level = level
        page.save()
        return page

    def link(self, page: Concept, data: dict[str, Any]) -> None:
        page.related.set(Concept.objects.filter(slug__in=data["related"]))
