"""Practice problems as files in ``fixtures/problems/``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from apps.core.content import ContentFileError, ContentKind
from apps.designdocs.models import Step
from apps.practice import cards
from apps.practice.models import Problem, check_rubric

REQUIRED = {"title", "summary", "difficulty", "scale", "clarifying_questions", "rubric"}


def _strings(data: dict[str, Any], key: str) -> list[str]:
    return [str(item).strip() for item in data.get(key) or []]


class ProblemKind(ContentKind):
    directory = "problems"
    model = Problem

    def prepare(self) -> None:
        # The cards are built from every kind of page: rebuild them once the load commits
        # (pages edited since are compared, so an unchanged load renders nothing).
        cards.rebuild_after_commit()

    def to_data(self, page: Problem) -> dict[str, Any]:
        data = {
            "slug": page.slug,
            "title": page.title,
            "summary": page.summary,
            "difficulty": page.difficulty,
            "tags": list(page.tags),
            "scale": page.scale,
            "concepts": list(page.concepts),
            "metrics": list(page.metrics),
            "example": page.example,
            "clarifying_questions": list(page.clarifying_questions),
            "rubric": {step: list(points) for step, points in page.rubric.items()},
            "pitfalls": list(page.pitfalls),
            "body": page.body.strip() + "\n",
        }
        if not data["example"]:
            del data["example"]
        return data

    def normalise(self, data: dict[str, Any]) -> dict[str, Any]:
        where = f"problems/{data['slug']}"
        missing = REQUIRED - data.keys()
        if missing:
            raise ContentFileError(f"{where}: missing {', '.join(sorted(missing))}")
        if data["difficulty"] not in Problem.Difficulty.values:
            raise ContentFileError(
                f"{where}: difficulty {data['difficulty']!r} is not one of "
                f"{', '.join(Problem.Difficulty.values)}"
            )
        try:
            rubric = check_rubric(data["rubric"], Step.objects.values_list("slug", flat=True))
        except ValidationError as exc:
            raise ContentFileError(f"{where}: {exc.messages[0]}") from None
        normalised = {
            "slug": data["slug"],
            "title": str(data["title"]).strip(),
            "summary": str(data["summary"]).strip(),
            "difficulty": data["difficulty"],
            "tags": _strings(data, "tags"),
            "scale": str(data["scale"]).strip(),
            "concepts": _strings(data, "concepts"),
            "metrics": _strings(data, "metrics"),
            "example": str(data.get("example") or "").strip(),
            "clarifying_questions": _strings(data, "clarifying_questions"),
            "rubric": rubric,
            "pitfalls": _strings(data, "pitfalls"),
            "body": data["body"].strip() + "\n",
        }
        if not normalised["example"]:
            del normalised["example"]
        return normalised

    def save(self, page: Problem | None, data: dict[str, Any]) -> Problem:
        page = page or Problem(slug=data["slug"])
        for name in (
            "title", "summary", "difficulty", "tags", "scale", "concepts", "metrics",
            "clarifying_questions", "rubric", "pitfalls", "body",
        ):  # fmt: skip
            setattr(page, name, data[name])
        page.example = data.get("example", "")
        page.save()
        return page
