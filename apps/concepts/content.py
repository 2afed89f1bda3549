"""Concept pages as files in ``fixtures/concepts/``."""

from __future__ import annotations

from typing import Any

from apps.concepts.models import Concept, Level
from apps.core.content import ContentFileError, ContentKind, references_from_file

#: The levels, in reading order: (slug, name, order, description).
LEVELS = [
    (
        "foundations",
        "Foundations",
        10,
        "How machines talk: clients and servers, the protocols between them, peer-to-peer.",
    ),
    (
        "characteristics",
        "Characteristics",
        20,
        "What you measure and promise: latency, availability, throughput, consistency, storage.",
    ),
    (
        "building-blocks",
        "Building blocks",
        30,
        "The parts every large system is built from: load balancers, rate limiters, queues.",
    ),
    (
        "technologies",
        "Technologies",
        40,
        "The named tools you will meet in a design review: ZooKeeper, Redis, Kafka, gRPC, Vizier.",
    ),
    (
        "ml-lifecycle",
        "ML lifecycle",
        50,
        "From problem statement to monitoring: the terms of each step of an ML system design.",
    ),
]


class ConceptKind(ContentKind):
    directory = "concepts"
    model = Concept

    def prepare(self) -> None:
        """Create missing levels; a level renamed in the admin keeps its new name."""
        for slug, name, order, description in LEVELS:
            Level.objects.get_or_create(
                slug=slug, defaults={"name": name, "order": order, "description": description}
            )

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
            "references": references_from_file(data),
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
