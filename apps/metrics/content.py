"""Metric pages as files in ``fixtures/metrics/``."""

from __future__ import annotations

from typing import Any

from apps.concepts.models import Concept
from apps.core.content import ContentFileError, ContentKind, references_from_file
from apps.metrics.models import Family, Metric

#: The families, in reading order: (slug, name, order, description).
FAMILIES = [
    ("classification", "Classification", 10, "Is it this class or not? Counts of right and wrong."),
    ("regression", "Regression", 20, "How far is the predicted number from the true one?"),
    ("detection", "Detection and segmentation", 30, "Where is it, and how well do shapes overlap?"),
    ("ranking", "Ranking and recommendation", 40, "Are the best items at the top of the list?"),
    ("language", "Language and speech", 45, "Is the text likely, and close to a reference?"),
    ("rl", "Reinforcement learning", 50, "How much reward does a policy collect over time?"),
    ("system", "System and hardware", 60, "How fast, how much, and at what energy cost?"),
    ("business", "Business and product", 70, "What users do: click, return, convert, stay."),
]  # fmt: skip


class MetricKind(ContentKind):
    directory = "metrics"
    model = Metric

    def prepare(self) -> None:
        for slug, name, order, description in FAMILIES:
            Family.objects.get_or_create(
                slug=slug, defaults={"name": name, "order": order, "description": description}
            )

    def pages(self):
        return Metric.objects.select_related("family").prefetch_related("related", "concepts")

    def to_data(self, page: Metric) -> dict[str, Any]:
        data = {
            "slug": page.slug,
            "name": page.name,
            "family": page.family.slug,
            "order": page.order,
            "summary": page.summary,
            "formula": page.formula,
            "range": page.value_range,
            "higher_is_better": page.higher_is_better,
            "calculator": page.calculator,
            "aliases": list(page.aliases),
            "related": sorted(metric.slug for metric in page.related.all()),
            "concepts": sorted(concept.slug for concept in page.concepts.all()),
            "example": page.example or {},
            "references": list(page.references),
            "body": page.body.strip() + "\n",
        }
        return data

    def normalise(self, data: dict[str, Any]) -> dict[str, Any]:
        missing = {"name", "family", "summary"} - data.keys()
        if missing:
            raise ContentFileError(f"metrics/{data['slug']}: missing {', '.join(sorted(missing))}")
        calculator = data.get("calculator") or ""
        if calculator and calculator not in dict(Metric.CALCULATORS):
            raise ContentFileError(f"metrics/{data['slug']}: unknown calculator {calculator!r}")
        return {
            "slug": data["slug"],
            "name": str(data["name"]).strip(),
            "family": data["family"],
            "order": int(data.get("order", 0)),
            "summary": str(data["summary"]).strip(),
            "formula": str(data.get("formula") or "").strip(),
            "range": str(data.get("range") or "").strip(),
            # null: a property of the data (prevalence), neither better high nor low.
            "higher_is_better": (
                None
                if data.get("higher_is_better", True) is None
                else bool(data.get("higher_is_better", True))
            ),
            "calculator": calculator,
            "aliases": [str(alias) for alias in data.get("aliases") or []],
            "related": sorted(data.get("related") or []),
            "concepts": sorted(data.get("concepts") or []),
            "example": data.get("example") or {},
            "references": references_from_file(data),
            "body": data["body"].strip() + "\n",
        }

    def save(self, page: Metric | None, data: dict[str, Any]) -> Metric:
        try:
            family = Family.objects.get(slug=data["family"])
        except Family.DoesNotExist:
            raise ContentFileError(
                f"metrics/{data['slug']}: unknown family {data['family']!r}"
            ) from None
        page = page or Metric(slug=data["slug"])
        page.family = family
        page.value_range = data["range"]
        for name in (
            "name", "order", "summary", "formula", "higher_is_better", "calculator", "aliases",
            "example", "references", "body",
        ):  # fmt: skip
            setattr(page, name, data[name])
        page.save()
        return page

    def link(self, page: Metric, data: dict[str, Any]) -> None:
        page.related.set(Metric.objects.filter(slug__in=data["related"]))
        page.concepts.set(Concept.objects.filter(slug__in=data["concepts"]))
