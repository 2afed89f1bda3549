"""A design doc as one Markdown file."""

from __future__ import annotations

from django.utils import timezone

from apps.designdocs.models import DesignDoc, Prompt, Step
from apps.metrics.models import Metric


def markdown(doc: DesignDoc) -> str:
    """Every step and every answer, in the template's order; unanswered prompts marked."""
    answers = doc.answers_by_key()
    metric_names = dict(Metric.objects.values_list("slug", "name"))
    lines = [f"# {doc.title}", ""]
    if doc.problem:
        lines += [doc.problem.strip(), ""]
    lines += [f"_Exported from MLSD Handbook on {timezone.localdate():%d %B %Y}._", ""]
    for step in Step.objects.prefetch_related("prompts").order_by("order"):
        lines += [f"## {step.order}. {step.title}", ""]
        for prompt in sorted(step.prompts.all(), key=lambda p: p.order):
            lines += [f"### {prompt.question}", ""]
            answer = answers.get(prompt.key)
            value = answer.value.strip() if answer else ""
            if not value:
                lines += ["_Not answered yet._", ""]
            elif prompt.kind == Prompt.Kind.CHOICE:
                lines += [prompt.choice_label(value), ""]
            elif prompt.kind == Prompt.Kind.METRICS:
                lines += [f"- {metric_names.get(slug, slug)}" for slug in answer.values] + [""]
            else:
                lines += [value, ""]
    return "\n".join(lines).rstrip() + "\n"
