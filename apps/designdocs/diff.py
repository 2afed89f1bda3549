"""Differences between two revisions of a design doc, prompt by prompt."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from apps.designdocs.models import Prompt


@dataclass
class Change:
    label: str
    lines: list[tuple[str, str]]  # ("added" | "removed" | "same", text)


def _lines(old: str, new: str) -> list[tuple[str, str]]:
    out = []
    for line in difflib.ndiff(old.splitlines(), new.splitlines()):
        tag, text = line[:2], line[2:]
        if tag == "+ ":
            out.append(("added", text))
        elif tag == "- ":
            out.append(("removed", text))
        elif tag == "  ":
            out.append(("same", text))
    return out


def compare(older: dict, newer: dict) -> list[Change]:
    """What changed from ``older`` to ``newer`` (snapshots), in the template's order."""
    changes = []
    for field, label in (("title", "Title"), ("problem", "Problem statement")):
        if older.get(field, "") != newer.get(field, ""):
            changes.append(Change(label, _lines(older.get(field, ""), newer.get(field, ""))))
    old_answers, new_answers = older.get("answers", {}), newer.get("answers", {})
    keys = [k for k in set(old_answers) | set(new_answers)
            if old_answers.get(k, "") != new_answers.get(k, "")]  # fmt: skip
    questions = {p.key: p for p in Prompt.objects.filter(key__in=keys).select_related("step")}

    def position(key: str) -> tuple[int, int]:
        prompt = questions.get(key)
        return (prompt.step.order, prompt.order) if prompt else (999, 0)

    keys.sort(key=position)
    for key in keys:
        label = questions[key].question if key in questions else key
        changes.append(Change(label, _lines(old_answers.get(key, ""), new_answers.get(key, ""))))
    return changes
