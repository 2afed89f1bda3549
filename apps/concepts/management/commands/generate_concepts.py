"""Scale data for benchmarks: thousands of concept pages written with the real pages' words.

The text comes from a word-pair (Markov) chain built from the loaded concept pages, so the
vocabulary, word frequencies and phrases ("tail latency", "consumer group") are the real ones and
full-text search behaves as it would on a large handbook. Bodies follow the house layout (the six
level-2 sections), with lists, a table, inline maths and ``[[links]]`` to real and generated pages.

It is fast on purpose: rows go in with ``bulk_create``, or COPY for the big tables on
PostgreSQL (no ``save()``, no signals), and only a few hundred distinct bodies are rendered
through the real Markdown pipeline; the other pages reuse their stored HTML. Backlinks and
related concepts are stored as the app would store them. Run ``manage.py reindex`` afterwards
so that search covers the new pages; the pages are new content, so a page cache in front of
them must be cleared too.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import defaultdict
from collections.abc import Iterable

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.urls import reverse
from django.utils.text import slugify

from apps.concepts.models import Concept, Level
from apps.core.markdown import frozen_glossary, render
from apps.core.models import PageLink
from apps.metrics.models import Metric

SECTIONS = [
    "What it is",
    "How it works",
    "Trade-offs",
    "Numbers to know",
    "In an ML system",
    "In a design review",
]
MATHS = ["$p_{99}$", "$O(\\log n)$", "$\\lambda = 1/\\mu$", "$N = \\lambda W$", "$2^{k}$"]
UNITS = ["ms", "µs", "GB", "TB", "QPS", "%", "s", "MB/s"]

_FENCE_RE = re.compile(r"```.*?```|\$\$.*?\$\$", re.DOTALL)
_LINK_RE = re.compile(r"\[\[(?:[a-z]+:)?([a-z0-9-]+)(?:#[^|\]]*)?(?:\\?\|([^\]]+))?\]\]")
_NOISE_RE = re.compile(r"\$[^$\n]+\$|`[^`]*`|https?://\S+|\{#[^}]*\}|[*_#>|]")
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")
# Words that make poor title words ("Goal is", "Hears no").
STOP_WORDS = {
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "do", "does", "for",
    "from", "has", "have", "how", "if", "in", "into", "is", "it", "its", "no", "not", "of", "on",
    "one", "or", "so", "than", "that", "the", "their", "then", "there", "these", "they", "this",
    "to", "was", "we", "what", "when", "where", "which", "while", "who", "why", "will", "with",
    "without", "you", "your",
}  # fmt: skip


class Prose:
    """Sentences in the style of the given texts: a word-pair chain over their sentences."""

    END = ""

    def __init__(self, texts: list[str], rng: random.Random):
        self.rng = rng
        self.starts: list[str] = []
        self.follows: dict[str, list[str]] = defaultdict(list)
        self.words: list[str] = []
        for text in texts:
            for sentence in _SENTENCE_RE.split(self.plain(text)):
                words = sentence.split()
                if len(words) < 4 or not words[0][:1].isupper():
                    continue
                self.starts.append(words[0])
                for current, following in zip(words, [*words[1:], self.END], strict=True):
                    self.follows[current].append(following)
                self.words += [w for w in words if self._title_word(w)]
        if not self.starts:
            raise CommandError("No text to learn from: run `manage.py load_content` first.")

    @staticmethod
    def plain(markdown_text: str) -> str:
        """Markdown without code, maths, markup or URLs; links keep their text."""
        text = _FENCE_RE.sub(" ", markdown_text)
        text = _LINK_RE.sub(lambda m: m.group(2) or m.group(1).replace("-", " "), text)
        text = _NOISE_RE.sub(" ", text)
        lines = [line.strip(" -0123456789.") for line in text.splitlines()]
        return " ".join(line for line in lines if line)

    def sentence(self, min_words: int = 6, max_words: int = 28) -> str:
        while True:
            words = [self.rng.choice(self.starts)]
            while len(words) < max_words:
                following = self.rng.choice(self.follows[words[-1]])
                if following == self.END:
                    break
                words.append(following)
            if len(words) >= min_words:
                text = " ".join(words)
                return text if text[-1] in ".!?" else text.rstrip(",;:") + "."

    def paragraph(self, sentences: int) -> str:
        return " ".join(self.sentence() for _ in range(sentences))

    @staticmethod
    def _title_word(word: str) -> bool:
        return word.isalpha() and len(word) > 2 and word.lower() not in STOP_WORDS

    def phrase(self, words: int) -> str:
        """A few words that follow each other in the texts, for titles and aliases."""
        while True:
            chosen = [self.rng.choice(self.words)]
            while len(chosen) < words:
                candidates = [w for w in self.follows.get(chosen[-1], []) if self._title_word(w)]
                if not candidates:
                    break
                chosen.append(self.rng.choice(candidates))
            if len(chosen) == words:
                phrase = " ".join(chosen).lower()
                return phrase[:1].upper() + phrase[1:]


def insert_rows(model: type[models.Model], fields: list[str], rows: Iterable[tuple]) -> int:
    """Insert rows of ``fields`` values without ``save()`` or signals; returns how many.

    PostgreSQL gets COPY: for the million answers of a full ``generate_docs`` it is about ten
    times faster than ``bulk_create``, which stays the way on other databases.
    """
    columns = [model._meta.get_field(name) for name in fields]
    if connection.vendor != "postgresql":
        objects = [model(**dict(zip(fields, row, strict=True))) for row in rows]
        return len(model.objects.bulk_create(objects, batch_size=1000))
    is_json = [isinstance(column, models.JSONField) for column in columns]
    names = ", ".join(connection.ops.quote_name(column.column) for column in columns)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({names}) FROM STDIN"
    count = 0
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            # None is SQL NULL, as the ORM stores it, not the JSON null json.dumps would make.
            values = zip(row, is_json, strict=True)
            copy.write_row([json.dumps(v) if j and v is not None else v for v, j in values])
            count += 1
    return count


def loaded_concepts():
    """The concepts loaded from ``fixtures/`` (all of them if none was), not generated ones."""
    loaded = Concept.objects.exclude(loaded_hash="")
    return loaded if loaded.exists() else Concept.objects.all()


def with_links(text: str, links: list[str], rng: random.Random) -> str:
    """Replace a word of ``text`` with each of ``links`` (``[[slug]]`` or ``[[slug|word]]``)."""
    words = text.split(" ")
    for link in links:
        position = rng.randrange(len(words))
        word = words[position].strip(".,;:")
        tail = words[position][len(word) :] if words[position].startswith(word) else ""
        labelled = word.isalpha() and rng.random() < 0.5
        words[position] = (f"{link[:-2]}|{word}]]" if labelled else link) + tail
    return " ".join(words)


class Command(BaseCommand):
    help = (
        "Add generated concept pages written with the loaded pages' words (for benchmarks at "
        "scale). Bulk inserts without signals; run `manage.py reindex` afterwards."
    )

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=10_000, help="Pages to add.")
        parser.add_argument(
            "--bodies", type=int, default=300, help="Distinct bodies rendered and shared."
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch", type=int, default=1000, help="Rows per INSERT.")
        parser.add_argument(
            "--quick", action="store_true", help="A trial run: 500 pages, 40 bodies."
        )

    def handle(self, *args, count, bodies, seed, batch, quick, **options):
        if quick:
            count, bodies = min(count, 500), min(bodies, 40)
        if count < 1 or bodies < 1:
            raise CommandError("--count and --bodies must be positive.")
        started = time.monotonic()
        rng = random.Random(seed)
        levels = list(Level.objects.all())
        real = list(loaded_concepts().values_list("slug", "body"))
        if not levels or not real:
            raise CommandError("No levels or concepts yet: run `manage.py load_content` first.")
        prose = Prose([body for _, body in real], rng)
        metrics = list(Metric.objects.values_list("slug", flat=True))

        with transaction.atomic():
            concepts = self._create(prose, rng, levels, count, batch)
            targets = [f"[[{slug}]]" for slug, _ in real]
            targets += [f"[[metric:{slug}]]" for slug in metrics]
            generated = [f"[[{c.slug}]]" for c in concepts]
            texts = [self._body(prose, rng, targets, generated) for _ in range(bodies)]
            # Rendered now that every page exists, with the glossary every save would see.
            with frozen_glossary():
                rendered = [render(text, self_url="") for text in texts]
            self._store_bodies(concepts, texts, rendered)
            self._store_links(concepts, texts, rendered)
            self._store_related(concepts, rng)

        self.stdout.write(
            f"created {count} concepts ({bodies} distinct bodies rendered) "
            f"in {time.monotonic() - started:.1f} s; run `manage.py reindex` for search."
        )

    def _create(self, prose: Prose, rng: random.Random, levels, count: int, batch: int):
        taken = set(Concept.objects.values_list("slug", flat=True))
        first_order = 1000
        concepts = []
        for n in range(count):
            title = prose.phrase(rng.choice([2, 2, 3]))
            slug = slugify(title)[:60] or "concept"
            if slug in taken:
                slug = f"{slug}-{n}"
            taken.add(slug)
            aliases = [prose.phrase(2)] if rng.random() < 0.1 else []
            concepts.append(
                Concept(
                    slug=slug,
                    title=title,
                    level=rng.choice(levels),
                    order=first_order + n,
                    summary=prose.sentence(max_words=22)[:300],
                    body="",
                    aliases=aliases,
                )
            )
        return Concept.objects.bulk_create(concepts, batch_size=batch)

    def _body(self, prose: Prose, rng: random.Random, real: list[str], generated: list[str]):
        """About 400 words in the house layout, with 5 to 9 internal links."""

        def links(n: int) -> list[str]:
            return [rng.choice(real if rng.random() < 0.4 else generated) for _ in range(n)]

        parts = []
        for section in SECTIONS:
            parts.append(f"## {section}")
            parts.append(with_links(prose.paragraph(rng.randint(2, 4)), links(1), rng))
            if section == "How it works":
                items = [with_links(prose.sentence(), links(rng.randint(0, 1)), rng)]
                items += [prose.sentence() for _ in range(rng.randint(2, 4))]
                parts.append("\n".join(f"- {item}" for item in items))
            elif section == "Trade-offs":
                parts.append(f"{prose.sentence()} At {rng.choice(MATHS)}, {prose.sentence()}")
            elif section == "Numbers to know":
                rows = [
                    f"| {prose.phrase(2)} | {rng.randint(1, 999)} {rng.choice(UNITS)} |"
                    for _ in range(rng.randint(3, 5))
                ]
                parts.append("\n".join(["| Quantity | Typical value |", "|---|---|", *rows]))
        return "\n\n".join(parts) + "\n"

    def _store_bodies(self, concepts, texts, rendered) -> None:
        by_body = defaultdict(list)
        for n, concept in enumerate(concepts):
            by_body[n % len(texts)].append(concept.pk)
        for index, pks in by_body.items():
            Concept.objects.filter(pk__in=pks).update(
                body=texts[index],
                body_html=rendered[index].html,
                toc_html=rendered[index].toc_html,
                broken_links=rendered[index].broken_links,
            )

    def _store_links(self, concepts, texts, rendered) -> None:
        """The backlink rows that ``MarkdownPage.record_links`` would write for each page."""
        fields = ["source_kind", "source_id", "source_title", "source_url"]
        fields += ["target_kind", "target_slug"]
        rows = (
            (Concept.page_kind, concept.pk, concept.title,
             reverse("concepts:detail", args=[concept.slug]), link.kind, link.slug)
            for n, concept in enumerate(concepts)
            for link in rendered[n % len(texts)].links
            if not (link.kind == "" and link.slug == concept.slug)
        )  # fmt: skip
        insert_rows(PageLink, fields, rows)

    def _store_related(self, concepts, rng: random.Random) -> None:
        """Two related concepts each, as an editor would pick them in the admin."""
        pairs = {
            (concept.pk, other.pk)
            for concept in concepts
            for other in rng.sample(concepts, k=min(2, len(concepts)))
            if other.pk != concept.pk
        }
        insert_rows(Concept.related.through, ["from_concept_id", "to_concept_id"], sorted(pairs))
