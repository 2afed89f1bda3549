"""Step 4's metric picker: which metrics to offer and which the chooser recommends."""

from __future__ import annotations

from dataclasses import dataclass

from apps.designdocs.models import Answer, Prompt
from apps.designdocs.outline import outline
from apps.metrics import chooser
from apps.metrics.models import Metric

#: Answers that change what the picker offers; saving one asks the page to refresh pickers.
CHOOSER_KEYS = {"model_type", "class_imbalance", "costlier_error", "ranked_output"}

TASK_FAMILIES = {
    "binary": ["classification"],
    "multiclass": ["classification"],
    "regression": ["regression"],
    "ranking": ["ranking"],
    "detection": ["detection"],
    "segmentation": ["detection"],
    "rl": ["rl"],
    "language": ["language"],
}


@dataclass
class Option:
    metric: Metric
    checked: bool
    reason: str


def _answer(answers: dict[str, Answer], key: str) -> str:
    answer = answers.get(key)
    return answer.value if answer and not answer.error else ""


def options(prompt: Prompt, answers: dict[str, Answer]) -> tuple[list[Option], str]:
    """The metrics a picker offers (narrowed by the model type) and a note on why."""
    task = _answer(answers, "model_type")
    families = list(prompt.families)
    note = ""
    if task and set(families) & {family for wanted in TASK_FAMILIES.values() for family in wanted}:
        wanted = TASK_FAMILIES.get(task, [])
        if _answer(answers, "ranked_output") == "yes":
            wanted = [*wanted, "ranking"]
        families = [f for f in families if f in wanted] or families
        note = "Showing metrics for the model type chosen above."
    reasons: dict[str, str] = {}
    if task in TASK_FAMILIES:
        # An unanswered imbalance claims no balance: the advice holds whatever it turns out to be.
        imbalance = _answer(answers, "class_imbalance") or chooser.UNANSWERED
        advice = chooser.recommend(
            task,
            imbalance=imbalance,
            costlier=_answer(answers, "costlier_error") or "equal",
            ranked=_answer(answers, "ranked_output") == "yes",
        )
        for item in (*advice.offline, *advice.online, *advice.system):
            reasons.setdefault(item.slug, item.reason)
        if note and imbalance == chooser.UNANSWERED and "imbalance" in chooser.QUESTIONS[task]:
            note += f" {_ask_imbalance()}"
    chosen = set(answers[prompt.key].values) if prompt.key in answers else set()
    metrics = Metric.objects.filter(family__slug__in=families).select_related("family")
    offered = [Option(m, m.slug in chosen, reasons.get(m.slug, "")) for m in metrics]
    # Recommended first, then the family's reading order.
    offered.sort(key=lambda o: (not o.reason, o.metric.family.order, o.metric.order))
    return offered, note


def _ask_imbalance() -> str:
    prompt = outline().prompts.get("class_imbalance")
    question = f"“{prompt.question}”" if prompt else "how imbalanced the classes are"
    return f"Answer {question} to see whether accuracy or PR-AUC should lead."
