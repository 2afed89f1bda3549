"""The template (its steps, their prompts and related pages) read once per content version.

Every wizard page and every autosave needs the template; it changes only when an editor saves
a step or a prompt, which bumps the content version. Each process keeps the version it last
read in memory, so a signed-in page asks the database only for the writer's own data.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from apps.concepts.models import Concept
from apps.core import caching
from apps.designdocs.models import Prompt, Step
from apps.metrics.models import Metric


@dataclass(frozen=True)
class Outline:
    steps: list[Step]  # in order, each with .prompts.all() prefetched (in order)
    prompts: dict[str, Prompt]  # by key, each with .step set
    counted: int  # what "N of M answered" counts in lists (Prompt.objects.counted())
    metric_names: dict[str, str]  # by slug: what a metric picker's answer shows

    def step(self, slug: str) -> Step | None:
        return next((s for s in self.steps if s.slug == slug), None)

    def neighbours(self, step: Step) -> tuple[Step | None, Step | None]:
        index = next(i for i, s in enumerate(self.steps) if s.pk == step.pk)
        previous = self.steps[index - 1] if index > 0 else None
        following = self.steps[index + 1] if index + 1 < len(self.steps) else None
        return previous, following


@caching.per_content_version
def outline() -> Outline:
    """The template as of the current content version."""
    return _read()


def _read() -> Outline:
    prompts = Prompt.objects.order_by("order").prefetch_related(
        Prefetch("concepts", Concept.objects.only("slug", "title")),
        Prefetch("metrics", Metric.objects.only("slug", "name")),
    )
    steps = list(
        Step.objects.order_by("order").prefetch_related(
            Prefetch("prompts", prompts),
            Prefetch("concepts", Concept.objects.only("slug", "title")),
            Prefetch("metrics", Metric.objects.only("slug", "name")),
        )
    )
    by_key = {}
    for step in steps:
        for prompt in step.prompts.all():
            prompt.step = step
            by_key[prompt.key] = prompt
    counted = Prompt.objects.counted().count()
    names = dict(Metric.objects.values_list("slug", "name"))
    return Outline(steps, by_key, counted=counted, metric_names=names)
