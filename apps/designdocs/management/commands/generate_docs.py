"""Scale data for benchmarks: many users, each with many design docs answered part of the way.

Docs are answered in the template's order, as people fill in the wizard, and most stop early:
the share of prompts answered follows a skewed distribution around ``--answered``. Markdown
answers are the worked examples' answers and text written with the handbook's words (see
``generate_concepts``); numbers, choices and metric picks are valid values for their prompt.
Each distinct answer is rendered once by the real pipeline (``Answer.render_value``) and its
HTML reused.

Rows go in with ``bulk_create``, and answers and revisions with COPY on PostgreSQL (no
``save()``, no signals), in batches of docs; run ``manage.py reindex`` afterwards so that search
covers the new docs.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from apps.concepts.management.commands.generate_concepts import (
    Prose,
    insert_rows,
    loaded_concepts,
    with_links,
)
from apps.core.markdown import frozen_glossary
from apps.designdocs.models import Answer, DesignDoc, Prompt, Revision
from apps.metrics.models import Metric

USERNAME_PREFIX = "user"
PROBLEMS = [
    "Video recommendations for a streaming service",
    "Click-through prediction for ads",
    "Fraud detection for card payments",
    "Search ranking for an online shop",
    "Spam filtering for a messaging app",
    "Demand forecasting for grocery delivery",
    "Estimated time of arrival for ride hailing",
    "People you may know",
    "Content moderation for uploaded images",
    "Churn prediction for a subscription app",
    "Query autocomplete",
    "Duplicate listing detection for a marketplace",
    "Pedestrian detection for a delivery robot",
    "Credit risk scoring",
    "Notification send-time optimisation",
    "Music playlist continuation",
]
NUMBERS = [5, 12, 50, 120, 200, 800, 1200, 5000, 20000, 87000]
# Every column COPY writes: a model default is Python's, not the table's (missing ones are NULL).
ANSWER_FIELDS = ["doc_id", "prompt_id", "value", "value_html", "error", "version", "updated_at",
                 "saved_by", "saved_seq"]  # fmt: skip


class Command(BaseCommand):
    help = (
        "Add generated users and design docs with answers (for benchmarks at scale). "
        "Bulk inserts without signals; run `manage.py reindex` afterwards."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=1000)
        parser.add_argument("--docs", type=int, default=100_000, help="Docs, shared evenly.")
        parser.add_argument(
            "--answered", type=float, default=0.2, help="Mean share of prompts answered."
        )
        parser.add_argument(
            "--texts", type=int, default=300, help="Distinct Markdown answers rendered."
        )
        parser.add_argument(
            "--trashed", type=float, default=0.02, help="Share of docs in the trash."
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch", type=int, default=2000, help="Docs per transaction.")
        parser.add_argument(
            "--quick", action="store_true", help="A trial run: 50 users, 2,000 docs, 40 texts."
        )

    def handle(self, *args, users, docs, answered, texts, trashed, seed, batch, quick, **options):
        if quick:
            users, docs, texts = min(users, 50), min(docs, 2000), min(texts, 40)
        if users < 1 or docs < 0 or texts < 1 or not 0 < answered <= 1:
            raise CommandError("--users and --texts must be positive, --answered in (0, 1].")
        started = time.monotonic()
        rng = random.Random(seed)
        prompts = list(Prompt.objects.select_related("step").order_by("step__order", "order"))
        if not prompts:
            raise CommandError("No design template yet: run `manage.py load_content` first.")

        pools = AnswerPools(prompts, texts, rng)
        owners = self._create_users(users)
        made = answers = 0
        for start in range(0, docs, batch):
            size = min(batch, docs - start)
            with transaction.atomic():
                answers += self._create_docs(
                    [owners[(start + n) % len(owners)] for n in range(size)],
                    prompts, pools, answered, trashed, rng,
                )  # fmt: skip
            made += size
            if made % (batch * 10) == 0:
                self.stdout.write(f"  {made} docs, {answers} answers")
        self.stdout.write(
            f"created {len(owners)} users, {docs} docs, {answers} answers "
            f"({pools.rendered} distinct answers rendered) in {time.monotonic() - started:.1f} s; "
            "run `manage.py reindex` for search."
        )

    def _create_users(self, count: int) -> list:
        user_model = get_user_model()
        offset = user_model.objects.filter(username__startswith=f"{USERNAME_PREFIX}-").count()
        # One hash for all: hashing a password takes a deliberate fraction of a second.
        password = make_password("generated-user-password")
        new = [
            user_model(
                username=f"{USERNAME_PREFIX}-{offset + n:05d}",
                email=f"{USERNAME_PREFIX}-{offset + n:05d}@example.com",
                password=password,
            )
            for n in range(count)
        ]
        return user_model.objects.bulk_create(new, batch_size=1000)

    def _create_docs(self, owners, prompts, pools, answered, trashed, rng) -> int:
        now = timezone.now()
        docs = []
        for owner in owners:
            problem = rng.choice(PROBLEMS)
            deleted = now - timedelta(days=rng.uniform(0, 45)) if rng.random() < trashed else None
            docs.append(
                DesignDoc(
                    owner=owner,
                    title=f"{problem}: {pools.prose.phrase(2).lower()}",
                    problem=rng.choice(pools.problems),
                    deleted_at=deleted,
                )
            )
        docs = DesignDoc.objects.bulk_create(docs)
        # Beta(a, b) has mean a / (a + b): most docs stop early, a few are complete.
        a = 1.2
        b = a * (1 - answered) / answered
        answers = [
            (doc.pk, prompt.pk, *pools.pick(prompt), rng.randint(1, 20), now, "", 0)
            for doc in docs
            for prompt in prompts[: round(rng.betavariate(a, b) * len(prompts))]
        ]
        insert_rows(Answer, ANSWER_FIELDS, answers)
        empty = {"answers": {}}
        revisions = (
            (doc.pk, now, "Created", {"title": doc.title, "problem": doc.problem, **empty}, "")
            for doc in docs
        )
        insert_rows(Revision, ["doc_id", "created_at", "reason", "snapshot", "tab"], revisions)
        return len(answers)


class AnswerPools:
    """A few valid answers per prompt, each rendered once by the real pipeline."""

    def __init__(self, prompts: list[Prompt], texts: int, rng: random.Random):
        self.rng = rng
        real = loaded_concepts()
        bodies = real.values_list("body", flat=True)
        examples = DesignDoc.objects.examples().values_list("problem", flat=True)
        self.prose = Prose([*bodies, *examples], rng)
        self.links = [f"[[{slug}]]" for slug in real.values_list("slug", flat=True)]
        self.metrics = _metric_slugs_by_family()
        self.problems = [self.prose.paragraph(rng.randint(2, 4)) for _ in range(texts)]
        self.rendered = 0
        with frozen_glossary():
            markdown_prompt = next(p for p in prompts if p.kind == Prompt.Kind.MARKDOWN)
            # Markdown renders the same whatever the prompt, so the prompts share these.
            self.markdown = [self._render(markdown_prompt, self._markdown()) for _ in range(texts)]
            self.pools = {prompt.pk: self._pool(prompt) for prompt in prompts}

    def pick(self, prompt: Prompt) -> tuple[str, str, str]:
        """(value, value_html, error) for an answer to ``prompt``."""
        return self.rng.choice(self.pools[prompt.pk])

    def _render(self, prompt: Prompt, value: str) -> tuple[str, str, str]:
        self.rendered += 1
        return value, Answer(prompt=prompt, value=value).render_value(), prompt.problem_with(value)

    def _pool(self, prompt: Prompt) -> list[tuple[str, str, str]]:
        if prompt.kind == Prompt.Kind.MARKDOWN:
            examples = Answer.objects.filter(prompt=prompt, doc__is_example=True)
            # Each prompt gets its worked examples' answers and a slice of the shared texts.
            size = max(1, len(self.markdown) // 8)
            start = self.rng.randrange(len(self.markdown))
            return [self._render(prompt, a.value) for a in examples] + [
                self.markdown[(start + n) % len(self.markdown)] for n in range(size)
            ]
        return [self._render(prompt, value) for value in self._values(prompt)]

    def _values(self, prompt: Prompt) -> list[str]:
        rng = self.rng
        if prompt.kind == Prompt.Kind.NUMBER:
            units = prompt.units or [""]
            return [f"{rng.choice(NUMBERS)} {rng.choice(units)}".strip() for _ in range(8)]
        if prompt.kind == Prompt.Kind.CHOICE:
            return [choice["value"] for choice in prompt.choices] or ["yes"]
        if prompt.kind == Prompt.Kind.METRICS:
            slugs = [s for family in prompt.families for s in self.metrics.get(family, [])]
            if not slugs:
                return [""]
            return [
                ",".join(rng.sample(slugs, k=min(len(slugs), rng.randint(1, 4)))) for _ in range(8)
            ]
        return [self.prose.sentence(max_words=18) for _ in range(8)]

    def _markdown(self) -> str:
        """An answer of 40 to 150 words: paragraphs, sometimes a list, a link or two."""
        rng = self.rng
        parts = [with_links(self.prose.paragraph(rng.randint(2, 4)), self._links(), rng)]
        if rng.random() < 0.4:
            parts.append("\n".join(f"- {self.prose.sentence()}" for _ in range(rng.randint(2, 4))))
        if rng.random() < 0.5:
            parts.append(f"**{self.prose.phrase(2)}:** {self.prose.sentence()}")
        return "\n\n".join(parts)

    def _links(self) -> list[str]:
        return [self.rng.choice(self.links) for _ in range(self.rng.randint(0, 2))]


def _metric_slugs_by_family() -> dict[str, list[str]]:
    slugs: dict[str, list[str]] = {}
    for family, slug in Metric.objects.values_list("family__slug", "slug").order_by("slug"):
        slugs.setdefault(family, []).append(slug)
    return slugs
