"""The design template (``fixtures/steps/``) and the worked examples (``fixtures/examples/``)."""

from __future__ import annotations

from typing import Any

from apps.concepts.models import Concept
from apps.core.content import ContentFileError, ContentKind
from apps.designdocs.models import Answer, DesignDoc, Prompt, Step
from apps.metrics.models import Metric

PROMPT_FIELDS = ("question", "help", "kind", "units", "choices", "families", "condition", "retired")


# Fields added after content was first loaded: left out of a prompt's data while they hold
# their default, so pages loaded before they existed do not look edited in the admin.
NEW_FIELD_DEFAULTS = {"condition": {}, "retired": False}


def _without_defaults(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if NEW_FIELD_DEFAULTS.get(k, object()) != v}


def _condition(prompt: dict[str, Any], where: str) -> dict[str, Any]:
    """``{prompt: key, in: [...]}`` or ``{prompt: key, not_in: [...]}``, or {} (always asked)."""
    condition = prompt.get("condition") or {}
    if not condition:
        return {}
    if (
        not isinstance(condition, dict)
        or "prompt" not in condition
        or not (("in" in condition) ^ ("not_in" in condition))
    ):
        raise ContentFileError(
            f"{where}: prompt {prompt['key']!r} has a condition that is not "
            "{prompt: key, in: [values]} or {prompt: key, not_in: [values]}"
        )
    which = "in" if "in" in condition else "not_in"
    return {"prompt": str(condition["prompt"]), which: [str(v) for v in condition[which]]}


def _prompt_data(prompt: dict[str, Any], order: int, where: str) -> dict[str, Any]:
    if "key" not in prompt or "question" not in prompt:
        raise ContentFileError(f"{where}: every prompt needs a key and a question")
    kind = prompt.get("kind", "markdown")
    if kind not in Prompt.Kind.values:
        raise ContentFileError(f"{where}: prompt {prompt['key']!r} has unknown kind {kind!r}")
    return {
        "key": prompt["key"],
        "order": order,
        "question": str(prompt["question"]).strip(),
        "help": str(prompt.get("help") or "").strip(),
        "kind": kind,
        "units": list(prompt.get("units") or []),
        "choices": [
            c if isinstance(c, dict) else {"value": str(c), "label": str(c)}
            for c in prompt.get("choices") or []
        ],
        "families": list(prompt.get("families") or []),
        **_without_defaults(
            {"condition": _condition(prompt, where), "retired": bool(prompt.get("retired"))}
        ),
        "concepts": sorted(prompt.get("concepts") or []),
        "metrics": sorted(prompt.get("metrics") or []),
    }


class StepKind(ContentKind):
    directory = "steps"
    model = Step

    def pages(self):
        return Step.objects.prefetch_related(
            "concepts", "metrics", "prompts__concepts", "prompts__metrics"
        )

    def to_data(self, page: Step) -> dict[str, Any]:
        return {
            "slug": page.slug,
            "title": page.title,
            "order": page.order,
            "minutes": page.minutes,
            **({"optional": True} if page.optional else {}),
            "summary": page.summary,
            "concepts": sorted(c.slug for c in page.concepts.all()),
            "metrics": sorted(m.slug for m in page.metrics.all()),
            "prompts": [
                {
                    "key": p.key,
                    "order": p.order,
                    **_without_defaults({name: getattr(p, name) for name in PROMPT_FIELDS}),
                    "concepts": sorted(c.slug for c in p.concepts.all()),
                    "metrics": sorted(m.slug for m in p.metrics.all()),
                }
                for p in sorted(page.prompts.all(), key=lambda p: p.order)
            ],
            "body": page.body.strip() + "\n",
        }

    def normalise(self, data: dict[str, Any]) -> dict[str, Any]:
        where = f"steps/{data['slug']}"
        if "title" not in data or "order" not in data:
            raise ContentFileError(f"{where}: needs a title and an order")
        return {
            "slug": data["slug"],
            "title": str(data["title"]).strip(),
            "order": int(data["order"]),
            "minutes": int(data.get("minutes", 5)),
            **({"optional": True} if data.get("optional") else {}),
            "summary": str(data.get("summary") or "").strip(),
            "concepts": sorted(data.get("concepts") or []),
            "metrics": sorted(data.get("metrics") or []),
            "prompts": [
                _prompt_data(prompt, (n + 1) * 10, where)
                for n, prompt in enumerate(data.get("prompts") or [])
            ],
            "body": data["body"].strip() + "\n",
        }

    def save(self, page: Step | None, data: dict[str, Any]) -> Step:
        page = page or Step(slug=data["slug"])
        for name in ("title", "order", "minutes", "summary", "body"):
            setattr(page, name, data[name])
        page.optional = data.get("optional", False)
        page.save()
        for prompt_data in data["prompts"]:
            values = {
                k: prompt_data.get(k, NEW_FIELD_DEFAULTS.get(k)) for k in ("order", *PROMPT_FIELDS)
            }
            Prompt.objects.update_or_create(
                key=prompt_data["key"], defaults={"step": page, **values}
            )
        return page

    def link(self, page: Step, data: dict[str, Any]) -> None:
        # Setting the relations records the step's backlinks (see the m2m_changed receiver).
        page.concepts.set(Concept.objects.filter(slug__in=data["concepts"]))
        page.metrics.set(Metric.objects.filter(slug__in=data["metrics"]))
        for prompt_data in data["prompts"]:
            prompt = Prompt.objects.get(key=prompt_data["key"])
            prompt.concepts.set(Concept.objects.filter(slug__in=prompt_data["concepts"]))
            prompt.metrics.set(Metric.objects.filter(slug__in=prompt_data["metrics"]))


class ExampleKind(ContentKind):
    """Fully worked design docs that any reader can open and copy into their own."""

    directory = "examples"
    model = DesignDoc

    def pages(self):
        return DesignDoc.objects.examples()

    def to_data(self, page: DesignDoc) -> dict[str, Any]:
        answers = {}
        for answer in page.answers.select_related("prompt"):
            if answer.prompt.kind == Prompt.Kind.METRICS:
                answers[answer.prompt.key] = answer.values
            else:
                answers[answer.prompt.key] = answer.value
        return {
            "slug": page.slug,
            "title": page.title,
            "problem": page.problem,
            "answers": dict(sorted(answers.items())),
            "body": "\n",
        }

    def normalise(self, data: dict[str, Any]) -> dict[str, Any]:
        answers = {}
        for key, value in (data.get("answers") or {}).items():
            if isinstance(value, list):
                answers[key] = [str(v) for v in value]
            else:
                answers[key] = str(value).strip()
        return {
            "slug": data["slug"],
            "title": str(data.get("title", data["slug"])).strip(),
            "problem": str(data.get("problem") or "").strip(),
            "answers": dict(sorted(answers.items())),
            "body": "\n",
        }

    def save(self, page: DesignDoc | None, data: dict[str, Any]) -> DesignDoc:
        page = page or DesignDoc(slug=data["slug"], is_example=True)
        page.title, page.problem = data["title"], data["problem"]
        page.save()
        prompts = Prompt.objects.in_bulk(list(data["answers"]), field_name="key")
        unknown = set(data["answers"]) - set(prompts)
        if unknown:
            raise ContentFileError(
                f"examples/{data['slug']}: no prompt called {', '.join(sorted(unknown))}"
            )
        page.answers.exclude(prompt__key__in=list(data["answers"])).delete()
        for key, value in data["answers"].items():
            prompt = prompts[key]
            text = ",".join(value) if isinstance(value, list) else value
            answer = Answer.objects.filter(doc=page, prompt=prompt).first() or Answer(
                doc=page, prompt=prompt
            )
            answer.value, answer.error, answer.version = text, prompt.problem_with(text), 1
            answer.save()
        page.mark_changed()
        return page
