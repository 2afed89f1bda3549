"""Differences between two revisions of a design doc, prompt by prompt.

Paragraphs (lines) are matched first; inside a changed paragraph the changed words are marked,
so a writer sees the two words they edited instead of a whole paragraph removed and added.
The work is bounded: each text is compared up to ``MAX_CHARS`` and a paragraph pair word by
word only up to ``MAX_TOKENS`` (and ``WORD_BUDGET`` in all); a diff that had to cut says so.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from apps.designdocs.models import Diagram, Prompt

MAX_CHARS = 20_000  # per text compared; SequenceMatcher is quadratic in the worst case
MAX_LINES = 1_000  # paragraphs per text
MAX_TOKENS = 300  # per paragraph pair compared word by word (words, spaces, punctuation)
WORD_BUDGET = 3_000  # tokens compared word by word in one text, all its paragraphs together
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass
class Line:
    kind: str  # "added" | "removed" | "same" | "changed"
    text: str = ""
    # For "changed": the words, each ("same" | "added" | "removed", text).
    words: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Change:
    label: str
    lines: list[Line]
    cut: bool = False  # the texts were longer than MAX_CHARS; only their starts are compared


def _words(old: str, new: str) -> list[tuple[str, str]]:
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("removed", "".join(a[i1:i2])))
        if j2 > j1:
            out.append(("added", "".join(b[j1:j2])))
    return out


def _pair(old: str, new: str, budget: list[int]) -> list[Line]:
    """One old paragraph replaced by one new one: mark words when they are alike enough."""
    size = len(_TOKEN.findall(old)) + len(_TOKEN.findall(new))
    if size <= MAX_TOKENS and size <= budget[0]:
        budget[0] -= size
        words = _words(old, new)
        kept = sum(len(text) for kind, text in words if kind == "same" and text.strip())
        if kept * 2 >= min(len(old), len(new)):
            return [Line("changed", words=words)]
    return [Line("removed", old), Line("added", new)]


def lines(old: str, new: str) -> tuple[list[Line], bool]:
    """The paragraph-level diff of two texts, and whether they had to be cut to compare."""
    cut = len(old) > MAX_CHARS or len(new) > MAX_CHARS
    a, b = old[:MAX_CHARS].splitlines(), new[:MAX_CHARS].splitlines()
    cut = cut or len(a) > MAX_LINES or len(b) > MAX_LINES
    a, b = a[:MAX_LINES], b[:MAX_LINES]
    out: list[Line] = []
    budget = [WORD_BUDGET]
    # autojunk: lines repeated very often (blank lines) do not anchor matches, which keeps the
    # matcher near-linear on pathological texts.
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
        if tag == "equal":
            out.extend(Line("same", text) for text in a[i1:i2])
        elif tag == "replace" and i2 - i1 == j2 - j1:
            for before, after in zip(a[i1:i2], b[j1:j2], strict=True):
                out.extend(_pair(before, after, budget))
        else:
            out.extend(Line("removed", text) for text in a[i1:i2])
            out.extend(Line("added", text) for text in b[j1:j2])
    return out, cut


def compare(older: dict, newer: dict) -> list[Change]:
    """What changed from ``older`` to ``newer`` (snapshots), in the template's order."""
    changes = []
    for name, label in (("title", "Title"), ("problem", "Problem statement")):
        if older.get(name, "") != newer.get(name, ""):
            changes.append(Change(label, *lines(older.get(name, ""), newer.get(name, ""))))
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
        changes.append(Change(label, *lines(old_answers.get(key, ""), new_answers.get(key, ""))))
    old_diagrams, new_diagrams = older.get("diagrams", {}), newer.get("diagrams", {})
    old_titles, new_titles = older.get("diagram_titles", {}), newer.get("diagram_titles", {})

    def renamed(key: str) -> bool:  # snapshots older than the titles have none
        return old_titles.get(key, new_titles.get(key)) != new_titles.get(key, old_titles.get(key))

    # A diagram added or deleted is a change even while its text is empty; so is a new title.
    ids = sorted(
        (k for k in set(old_diagrams) | set(new_diagrams)
         if old_diagrams.get(k) != new_diagrams.get(k) or renamed(k)), key=int
    )  # fmt: skip
    titles = {
        str(pk): title
        for pk, title in Diagram.objects.filter(pk__in=ids).values_list("pk", "title")
    }
    titles |= old_titles | new_titles
    for key in ids:
        label = f"Diagram: {titles.get(key, 'deleted diagram')}"
        if renamed(key):
            label = f"Diagram: {old_titles[key]} → {new_titles[key]}"
        if key not in new_diagrams:
            label += " (deleted)"
        elif key not in old_diagrams:
            label += " (added)"
        changes.append(Change(label, *lines(old_diagrams.get(key, ""), new_diagrams.get(key, ""))))
    return changes
