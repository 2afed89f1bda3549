"""A design doc as one Markdown file."""

from __future__ import annotations

import re

from django.utils import timezone

from apps.designdocs.dot import DiagramError, compile_source
from apps.designdocs.models import DesignDoc, Diagram, Prompt, Step
from apps.metrics.models import Metric


def _text(answers: dict, prompt: Prompt) -> str:
    answer = answers.get(prompt.key)
    return answer.value.strip() if answer else ""


def markdown(doc: DesignDoc, notes: dict[str, list[str]] | None = None) -> str:
    """Every step and every answer, in the template's order; unanswered prompts marked.

    Prompts not asked of this doc (a condition on the model family) appear only when they
    hold an answer; optional sections only when written. ``notes`` (Markdown lines per prompt
    key, "" for the doc as a whole: open review comments) follow their answer, and the whole
    doc's at the end.
    """
    notes = notes or {}
    answers = doc.answers_by_key()
    metric_names = dict(Metric.objects.values_list("slug", "name"))
    lines = [f"# {doc.title}", ""]
    if doc.problem:
        lines += [doc.problem.strip(), ""]
    lines += [f"_Exported from MLSD Handbook on {timezone.localdate():%d %B %Y}._", ""]
    steps = list(Step.objects.prefetch_related("prompts").order_by("order"))
    for item in doc.progress(steps, answers):
        written = [p for p in item.prompts if _text(answers, p)] + item.not_asked
        if item.step.optional and not written:
            continue  # free sections nobody wrote
        lines += [f"## {item.step.order}. {item.step.title}", ""]
        shown = written if item.step.optional else [*item.prompts, *item.not_asked]
        for prompt in sorted(shown, key=lambda p: p.order):
            lines += [f"### {prompt.question}", ""]
            answer = answers.get(prompt.key)
            value = _text(answers, prompt)
            if not value:
                lines += ["_Not answered yet._", ""]
            elif prompt.kind == Prompt.Kind.CHOICE:
                lines += [prompt.choice_label(value), ""]
            elif prompt.kind == Prompt.Kind.METRICS:
                lines += [f"- {metric_names.get(slug, slug)}" for slug in answer.values] + [""]
            else:
                lines += [value, ""]
            lines += notes.get(prompt.key, [])
    lines += _diagrams(doc)
    lines += notes.get("", [])
    return "\n".join(lines).rstrip() + "\n"


def _diagrams(doc: DesignDoc) -> list[str]:
    """Each diagram's source in a fenced block after the steps."""
    diagrams = list(doc.diagrams.all())
    if not diagrams:
        return []
    lines = ["## Architecture diagrams", ""]
    for diagram in diagrams:
        lines += [f"### {diagram.title}", ""]
        if not diagram.source.strip():
            lines += ["_Not drawn yet._", ""]
            continue
        if diagram.error:
            lines += [f"_Not drawn: {diagram.error}_", ""]
        language, body = _block(diagram)
        fence = "`" * max([3, *(len(run) + 1 for run in re.findall(r"`+", body))])
        lines += [f"{fence}{language}", body, fence, ""]
    return lines


def _block(diagram: Diagram) -> tuple[str, str]:
    """A ``dot`` block that Graphviz can draw again: DOT as written, or the shorthand kept as
    comments above the DOT it stands for; plain text when the source does not compile."""
    source = diagram.source.strip("\n")
    try:
        _, compiled = compile_source(source)
    except DiagramError:
        return "text", source
    if diagram.notation == Diagram.Notation.DOT:
        return "dot", source
    comments = [f"// {line}".rstrip() for line in source.splitlines()]
    return "dot", "\n".join(["// Written as arrow shorthand:", *comments, compiled.rstrip()])


def svg_file(diagram: Diagram) -> str:
    """A diagram's drawing as a standalone SVG file."""
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{diagram.svg}\n'
