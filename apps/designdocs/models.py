"""The ML system design template (steps and prompts) and the documents users write with it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, Length
from django.db.models.signals import m2m_changed, post_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import escape, format_html_join, linebreaks
from django.utils.text import Truncator

from apps.concepts.models import Concept
from apps.core import caching
from apps.core.markdown import Link, TooLarge, render_inline, render_user_text
from apps.core.models import MarkdownPage, glossary_changed, page_renamed
from apps.core.sql import RowRead, columns, fetch_one
from apps.designdocs import numbers
from apps.designdocs.diagrams import DIAGRAM_MAX_CHARS
from apps.metrics.models import Metric

TRASH_DAYS = 30
# Docs one account keeps, its trash included: every list, count and export of someone's docs
# stays bounded work. Far past what a person writes (a doc a day for over a year).
DOCS_PER_ACCOUNT = 500
ACCOUNT_FULL = (
    f"You keep {DOCS_PER_ACCOUNT} design docs (those in the trash count too), the most one "
    "account can. Delete forever from the trash the ones you no longer need, then try again."
)
REVISION_INTERVAL = timedelta(minutes=2)
# Far beyond any real design doc (a long answer is 2,000 words, ~12,000 characters), and small
# enough that rendering, indexing and diffing the largest allowed text is bounded work.
ANSWER_MAX_CHARS = 100_000
DOC_MAX_CHARS = 1_000_000


class Step(MarkdownPage):
    """One step of the interview template; ``body`` is its guidance."""

    link_prefix = "step"
    page_kind = "step"
    url_name = "designdocs:template_step"

    title = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField(unique=True)
    minutes = models.PositiveSmallIntegerField(default=5, help_text="Suggested minutes.")
    optional = models.BooleanField(
        default=False, help_text="Free sections: not counted in a doc's completeness."
    )
    concepts = models.ManyToManyField(Concept, blank=True, related_name="template_steps")
    metrics = models.ManyToManyField(Metric, blank=True, related_name="template_steps")

    class Meta:
        ordering = ["order"]

    def __str__(self) -> str:
        return f"{self.order}. {self.title}"

    def get_absolute_url(self) -> str:
        return self.url_for(self.slug)

    def link_targets(self):
        """Its [[links]] and the concepts and metrics it declares, for their backlinks."""
        declared = {Link("", c.slug) for c in self.concepts.all()}
        declared |= {Link("metric", m.slug) for m in self.metrics.all()}
        return super().link_targets() | declared


class PromptQuerySet(models.QuerySet):
    def counted(self):
        """The prompts a new doc is asked in the required steps: what "N of M answered" counts
        in lists (a doc's own page counts exactly, after its conditions)."""
        return self.filter(retired=False, step__optional=False).exclude(condition__has_key="in")


class Prompt(models.Model):
    """A question of a step. Answers point at it, so rewording keeps what users wrote."""

    class Kind(models.TextChoices):
        TEXT = "text", "Short text"
        MARKDOWN = "markdown", "Markdown"
        NUMBER = "number", "Number with unit"
        CHOICE = "choice", "Choice"
        METRICS = "metrics", "Metric picker"

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="prompts")
    order = models.PositiveSmallIntegerField(default=0)
    key = models.SlugField(max_length=60, unique=True, help_text="Stable name; never reuse.")
    question = models.CharField(max_length=300)
    help = models.TextField(blank=True, help_text="Markdown, one or two sentences.")
    help_html = models.TextField(editable=False, default="")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MARKDOWN)
    units = models.JSONField(default=list, blank=True, help_text="Number: allowed units.")
    choices = models.JSONField(default=list, blank=True, help_text="Choice: value and label.")
    families = models.JSONField(default=list, blank=True, help_text="Metric picker: families.")
    concepts = models.ManyToManyField(Concept, blank=True, related_name="prompts")
    metrics = models.ManyToManyField(Metric, blank=True, related_name="prompts")
    condition = models.JSONField(
        default=dict, blank=True,
        help_text='Ask only when an earlier answer is one of some values, e.g. '
        '{"prompt": "model_family", "values": ["gbdt"]}. Empty: always asked.',
    )  # fmt: skip
    retired = models.BooleanField(
        default=False,
        help_text="No longer asked; answers already written stay in their documents.",
    )

    objects = PromptQuerySet.as_manager()

    class Meta:
        ordering = ["step__order", "order"]

    def __str__(self) -> str:
        return self.question

    #: What decides whether an answer is valid and how it shows: a change re-checks them all.
    ANSWER_RULES = ("kind", "choices", "units")

    def save(self, *args, **kwargs):
        self.help_html = render_inline(self.help) if self.help else ""
        before = None
        if self.pk:
            before = Prompt.objects.filter(pk=self.pk).values(*self.ANSWER_RULES).first()
        super().save(*args, **kwargs)
        caching.bump_content_version()  # the wizard's outline is read again
        if before and before != {name: getattr(self, name) for name in self.ANSWER_RULES}:
            from apps.designdocs.tasks import recheck_answers  # it imports this module

            kind_changed = before["kind"] != self.kind
            transaction.on_commit(lambda: recheck_answers.enqueue(self.pk, kind_changed))

    def is_asked(self, answers: dict[str, Answer]) -> bool:
        """Whether the wizard asks this prompt, given the doc's answers so far.

        A condition names an earlier prompt and the values that show (``in``) or hide
        (``not_in``) this one; while that prompt is unanswered, ``not_in`` prompts show and
        ``in`` prompts wait. A hidden prompt keeps any answer it already has.
        """
        if self.retired:
            return False
        condition = self.condition or {}
        if not condition:
            return True
        answer = answers.get(condition.get("prompt", ""))
        value = answer.value if answer and not answer.error else ""
        if "in" in condition:
            return value in condition["in"]
        return value not in condition.get("not_in", [])

    def meaning(self, value: str) -> str:
        """What a number answer's shorthand stands for ("35,000 QPS" for "35k QPS"), or ""."""
        return numbers.meaning(value, self.units) if self.kind == self.Kind.NUMBER else ""

    @property
    def rate_unit(self) -> str:
        """The rate per period its units allow ("GB/day"), for the field's hint; or ""."""
        return numbers.rate_unit(self.units) if self.kind == self.Kind.NUMBER else ""

    def choice_label(self, value: str) -> str:
        return next((c["label"] for c in self.choices if c["value"] == value), value)

    def problem_with(self, value: str) -> str:
        """The problem with ``value`` for this prompt, or "" when it is fine (or empty)."""
        value = value.strip()
        if not value:
            return ""
        if self.kind == self.Kind.NUMBER:
            return check_number(value, self.units)
        if self.kind == self.Kind.CHOICE and value not in {c["value"] for c in self.choices}:
            return "Choose one of the options."
        return ""


def check_number(value: str, units: list[str]) -> str:
    """Validate "12,000 QPS" or "35k QPS" against the allowed units; "" when valid."""
    return numbers.check(value, units)


# What DesignDoc.state() reads of a doc's answers, alone or with the doc: what a doc's pages show
# of its answers changes only with one of these (added, removed, rewritten or re-versioned by
# any path). One scan of the doc's answers, as text joined by ":" (CAST and || mean the same on
# PostgreSQL and SQLite; three subqueries scanned them thrice).
ANSWERS_STATE = " || ':' || ".join(
    f"COALESCE(CAST({value} AS TEXT), '')"
    for value in ("COUNT(*)", "MAX(updated_at)", "SUM(version)")
)


def _trash_cutoff():
    """Docs deleted before this have left the trash (purged by ``manage.py purge_trash``)."""
    return timezone.now() - timedelta(days=TRASH_DAYS)


class DesignDocQuerySet(models.QuerySet):
    def active(self):
        return self.filter(deleted_at__isnull=True, is_example=False)

    def in_trash(self):
        return self.filter(deleted_at__gte=_trash_cutoff(), is_example=False)

    def kept_by(self, user):
        """``user``'s docs that count against :data:`DOCS_PER_ACCOUNT`: active and in the trash."""
        return self.filter(owner=user, is_example=False).exclude(deleted_at__lt=_trash_cutoff())

    def full_for(self, user) -> bool:
        """Whether ``user`` may start no more docs (:data:`ACCOUNT_FULL` says why)."""
        return self.kept_by(user).count() >= DOCS_PER_ACCOUNT

    def expired(self):
        return self.filter(deleted_at__lt=_trash_cutoff())

    def examples(self):
        return self.filter(is_example=True)

    def readable_by(self, user):
        """Active docs ``user`` owns or was invited to review (one query, no duplicates)."""
        invited = DocReviewer.objects.filter(doc=OuterRef("pk"), user=user)
        return self.active().filter(Q(owner=user) | Q(Exists(invited)))

    def shared_with(self, user):
        """Active docs of others that ``user`` was invited to review."""
        invited = DocReviewer.objects.filter(doc=OuterRef("pk"), user=user)
        return self.active().filter(Exists(invited))

    def owned(self, pk, *, with_state: bool = False) -> RowRead[DesignDoc] | None:
        """How to read the signed-in user's active doc ``pk`` along with the user
        (apps.accounts.backends.read_with_user): what every request to a doc's pages and its
        autosave starts with. Hand-written (the ORM's building of it cost three times its
        running), and one round trip with the user instead of two. ``with_state`` reads the
        doc's state (:meth:`DesignDoc.state`) too. None for an id no doc can have."""
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            return None
        # An id no row can have is no doc (the database would refuse the parameter).
        low, high = connection.ops.integer_field_range(DesignDoc._meta.pk.get_internal_type())
        if not low <= pk <= high:
            return None
        docs, answers = DesignDoc._meta.db_table, Answer._meta.db_table
        names = ("answers_state",) if with_state else ()
        state = (
            f", (SELECT {ANSWERS_STATE} FROM {answers} WHERE doc_id = d.id)" if with_state else ""
        )
        join = (
            f"LEFT JOIN {docs} d ON d.id = %s AND d.owner_id = {{user}}"
            " AND d.deleted_at IS NULL AND NOT d.is_example"
        )
        return RowRead(DesignDoc, f"{columns(DesignDoc, 'd')}{state}", join, [pk], names)

    def list_state(self) -> str:
        """One SQL value that changes whenever anything a user's doc list shows does: their
        docs (created, edited, answered, trashed, restored or deleted), the docs shared with
        them (a trash leaves ``updated_at`` alone: counted apart) and the worked examples.
        ``{user}`` stands for the user's id column: read with the user, in the statement that
        signs the request in (apps.accounts.backends.user_and). Index lookups, in SQL: the
        ORM's own compiling of it cost more than running it, on a page loaded all day."""
        docs, reviewers = DesignDoc._meta.db_table, DocReviewer._meta.db_table

        def joined(*values: str) -> str:
            # As text, joined by ":" (an empty time where there is none): CAST and || mean
            # the same on PostgreSQL and SQLite.
            return " || ':' || ".join(f"COALESCE(CAST({value} AS TEXT), '')" for value in values)

        # One scan of each source, every aggregate over it at once (nine subqueries took
        # PostgreSQL about half again as long).
        owned = joined("COUNT(*)", "MAX(updated_at)", "COUNT(deleted_at)", "MAX(deleted_at)")
        shared = joined("COUNT(*)", "MAX(d.updated_at)", "COUNT(d.deleted_at)")
        examples = joined("COUNT(*)", "MAX(updated_at)")
        return " || ':' || ".join(
            [
                f"(SELECT {owned} FROM {docs} WHERE owner_id = {{user}})",
                f"(SELECT {shared} FROM {reviewers} r LEFT JOIN {docs} d ON d.id = r.doc_id"
                f" WHERE r.user_id = {{user}})",
                f"(SELECT {examples} FROM {docs} WHERE is_example)",
            ]
        )

    def behind(self):
        """Docs whose derived data may be older than their answers: a refresh queued, a change
        to the answers that no finished refresh read (what a killed worker leaves), or an
        answer written by a path that counts no change (a script) since the last refresh."""
        written = Answer.objects.filter(doc=OuterRef("pk"), updated_at__gt=OuterRef("refreshed_at"))
        return self.filter(
            Q(refresh_pending=True) | Q(changes__gt=F("refreshed_changes")) | Exists(written)
        )

    def with_answered_count(self):
        return self.annotate(
            answered=Count("answers", filter=Q(answers__error="") & ~Q(answers__value=""))
        )


class DesignDoc(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="design_docs",
    )  # fmt: skip
    title = models.CharField(max_length=200)
    problem = models.TextField("problem statement", blank=True)
    is_example = models.BooleanField(default=False)
    slug = models.SlugField(max_length=80, blank=True, help_text="Examples only.")
    loaded_hash = models.CharField(max_length=64, editable=False, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # What autosave leaves to later (rendered answers, the periodic snapshot, the search index)
    # is brought up to date by the refresh_doc task: pending while one is queued. ``changes``
    # counts the changes to the answers, each in its save's own transaction, and a refresh
    # records the count it read before reading them: a doc whose count is ahead of the last
    # refresh (a worker killed mid-task, a save committed just after the read) is caught up
    # by tasks.catch_up. A count, not a time: a save is stamped before it commits.
    refresh_pending = models.BooleanField(default=False, editable=False)
    refreshed_at = models.DateTimeField(default=timezone.now, editable=False)
    changes = models.PositiveBigIntegerField(default=0, db_default=0, editable=False)
    refreshed_changes = models.PositiveBigIntegerField(default=0, db_default=0, editable=False)

    objects = DesignDocQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["slug"], condition=Q(is_example=True), name="unique_example_slug"
            )
        ]
        indexes = [
            models.Index(fields=["owner", "deleted_at", "-updated_at"]),
            # The doc list's state reads the examples' count and latest edit on every load.
            models.Index(fields=["updated_at"], condition=Q(is_example=True), name="example_docs"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        if self.is_example:
            return reverse("designdocs:example", args=[self.slug])
        return reverse("designdocs:detail", args=[self.pk])

    @property
    def text_version(self) -> str:
        """What a rename is based on: a digest of the title and problem statement as a page
        showed them. Not updated_at, which every answer's save moves: that is no conflict."""
        text = f"{self.title}\x00{self.problem}".encode("utf-8", "surrogatepass")
        return hashlib.sha256(text).hexdigest()[:16]

    # --- Answers ---------------------------------------------------------------------------

    def answers_by_key(self) -> dict[str, Answer]:
        return {a.prompt.key: a for a in self.answers.select_related("prompt")}

    def state(self) -> str:
        """One value that changes whenever anything the writer's pages show of this doc does:
        the doc's own fields (``updated_at``, which every answer save also moves) and its
        answers (added, removed, rewritten or re-versioned by any path). One SQL aggregate."""
        answers = getattr(self, "answers_state", None)  # read with the doc (owned())
        if answers is None:
            sql = f"SELECT {ANSWERS_STATE} FROM {Answer._meta.db_table} WHERE doc_id = %s"
            answers = fetch_one(sql, [self.pk])[0]
        return f"{self.updated_at.isoformat()}:{answers}"

    def save_answer(
        self, prompt: Prompt, value: str, base_version: int, *, tab: str = "", seq: int = 0
    ) -> SaveResult:
        """Save ``value`` if nobody else saved this answer since ``base_version``.

        ``tab`` names the browser tab that typed the text and ``seq`` counts its saves. A tab's
        own earlier save is never a conflict for its later one (its text grew from it), and a
        save that arrives after a later one from the same tab (a retry overtaken by the save
        sent as the page closed) is acknowledged without writing, so newer text always wins.
        On a conflict the stored answer is left untouched and the caller shows both texts, so
        nothing is overwritten silently and nothing typed is lost.

        The usual save is one conditional UPDATE (the version still the writer's, the doc's
        size within bounds) and one UPDATE of the doc; anything else takes the careful path.
        Rendering, the snapshot and the search index follow in the refresh_doc task.
        """
        if len(value) > ANSWER_MAX_CHARS:
            refused = self.too_large(prompt, value)
            return SaveResult(answer=None, conflict=False, error="", refused=refused)
        error, tab = prompt.problem_with(value), tab[:40]
        # No savepoint of its own inside the caller's transaction: the caller's rolls back all.
        with transaction.atomic(savepoint=False):
            if self._write_if_current(prompt, value, base_version, error, tab, seq):
                self.mark_changed()
                answer = Answer(doc=self, prompt=prompt, value=value, error=error,
                                version=base_version + 1, saved_by=tab, saved_seq=seq)  # fmt: skip
                return SaveResult(answer=answer, conflict=False, error=error)
            return self._save_carefully(prompt, value, base_version, error, tab, seq)

    def _write_if_current(
        self, prompt: Prompt, value: str, base_version: int, error: str, tab: str, seq: int
    ) -> bool:
        others = (
            Answer.objects.filter(doc=self).exclude(prompt=prompt)
            .values("doc").annotate(total=Sum(Length("value"))).values("total")
        )  # fmt: skip
        current = (
            Answer.objects.filter(doc=self, prompt=prompt, version=base_version)
            .exclude(value=value)
            .alias(others=Coalesce(Subquery(others), 0))
            .filter(others__lte=DOC_MAX_CHARS - len(value))
        )
        if tab and seq:  # a retry overtaken by the same tab's later save writes nothing
            current = current.exclude(saved_by=tab, saved_seq__gte=seq)
        written = current.update(
            value=value, error=error, value_html=cheap_html(prompt, value),
            version=base_version + 1,
            saved_by=tab, saved_seq=seq, updated_at=timezone.now(),
        )  # fmt: skip
        return written == 1

    def _save_carefully(
        self, prompt: Prompt, value: str, base_version: int, error: str, tab: str, seq: int
    ) -> SaveResult:
        """The first save of an answer, a conflict, a retry, the same text again, or too big."""
        if refused := self.too_large(prompt, value):
            return SaveResult(answer=None, conflict=False, error="", refused=refused)
        answer, created = Answer.objects.select_for_update().get_or_create(doc=self, prompt=prompt)
        own = bool(tab) and answer.saved_by == tab
        if own and seq and seq <= answer.saved_seq:
            return SaveResult(answer=answer, conflict=False, error=answer.error)
        stale = not created and answer.version != base_version and not own
        if stale and answer.value != value:
            return SaveResult(answer=answer, conflict=True, error=error)
        answer.saved_by, answer.saved_seq = tab, seq
        if answer.value != value or created:
            answer.value, answer.error = value, error
            answer.value_html = cheap_html(prompt, value)
            answer.version += 1  # the row is locked (select_for_update) until the commit
            answer.save(render=False)
            self.mark_changed()
        elif tab:
            Answer.objects.filter(pk=answer.pk).update(saved_by=tab, saved_seq=seq)
        return SaveResult(answer=answer, conflict=False, error=error)

    def mark_changed(self) -> None:
        """An answer changed: a newer updated_at, and one refresh_doc task per burst of saves.

        Each statement locks the doc's row until this save commits, and the task's first
        statement (clearing ``refresh_pending``) needs that lock: so either this save sees the
        mark still set and the queued task, blocked until the commit, reads this save; or the
        task has already cleared it and this save queues the next task. Never neither.
        """
        from apps.designdocs.tasks import refresh_doc

        docs = DesignDoc.objects.filter(pk=self.pk)
        for _ in range(3):  # a third round needs two refreshes to start within one save
            changed = {"updated_at": timezone.now(), "changes": F("changes") + 1}
            if docs.filter(refresh_pending=False).update(refresh_pending=True, **changed):
                # In the save's transaction: the task exists exactly when the save does.
                refresh_doc.enqueue(self.pk)
                return
            if docs.filter(refresh_pending=True).update(**changed):
                return  # the queued task has not started: it will read this save
        refresh_doc.enqueue(self.pk)  # the doc is gone or keeps changing hands: one more

    def too_large(self, prompt: Prompt, value: str) -> str:
        """Why ``value`` cannot be saved as ``prompt``'s answer for its size, or ""."""
        if len(value) > ANSWER_MAX_CHARS:
            return (
                f"Not saved: this answer is {len(value):,} characters and the limit is "
                f"{ANSWER_MAX_CHARS:,}. Your text stays in the field; shorten it or split it "
                "across answers, and it saves again."
            )
        others = self.answers.exclude(prompt=prompt).aggregate(total=Sum(Length("value")))
        if (others["total"] or 0) + len(value) > DOC_MAX_CHARS:
            return (
                f"Not saved: the whole document would pass {DOC_MAX_CHARS:,} characters. Your "
                "text stays in the field; shorten this or another answer, and it saves again."
            )
        return ""

    def progress(self, steps: list[Step], answers: dict[str, Answer]) -> list[StepProgress]:
        """Per step: the prompts asked of this doc and how many have valid, non-empty answers.

        Prompts hidden by a condition (or retired) do not count, but keep their answers: they
        are listed apart so the document still shows them.
        """
        result = []
        for step in steps:
            prompts = list(step.prompts.all())
            asked = [p for p in prompts if p.is_asked(answers)]
            kept = [p for p in prompts if p not in asked and _has_text(answers.get(p.key))]
            done = [p for p in asked if _is_answered(answers.get(p.key))]
            result.append(StepProgress(step=step, answered=len(done), total=len(asked),
                                       missing=[p for p in asked if p not in done],
                                       prompts=asked, not_asked=kept))  # fmt: skip
        return result

    def step_progress(self, step: Step) -> StepProgress:
        """One step's progress, for the sidebar after a save (one query with the outline's
        step, whose prompts are already read)."""
        answers = {a.prompt.key: a for a in self.answers.select_related("prompt")}
        return self.progress([step], answers)[0]

    # --- Revisions ---------------------------------------------------------------------------

    def snapshot(self) -> dict:
        snapshot = {
            "title": self.title,
            "problem": self.problem,
            "answers": {key: answer.value for key, answer in self.answers_by_key().items()},
        }
        diagrams = self.diagrams.values_list("pk", "title", "source")
        if diagrams:  # a diagram's text is kept like an answer's (keys are its id)
            snapshot["diagrams"] = {str(pk): source for pk, _, source in diagrams}
            # Its title too, so a restore can make a deleted diagram again under its name.
            snapshot["diagram_titles"] = {str(pk): title for pk, title, _ in diagrams}
        return snapshot

    def keep_unsaved_diagram(self, diagram: Diagram, text: str, *, tab: str = "") -> Revision:
        """A diagram's refused text (another tab saved first) is kept in the history."""
        snapshot = self.snapshot()
        snapshot.setdefault("diagrams", {})[str(diagram.pk)] = text
        reason = f"Unsaved diagram text from another tab: {diagram.title}"[:200]
        return self.revisions.create(reason=reason, snapshot=snapshot, tab=tab[:40])

    def keep_unsaved_title(self, title: str, problem: str) -> Revision:
        """A rename refused (another tab renamed first) is kept in the history, as an answer's
        refused text is, so choosing the saved one loses nothing typed."""
        snapshot = self.snapshot() | {"title": title, "problem": problem}
        reason = "Unsaved title and problem statement from another tab"
        return self.revisions.create(reason=reason, snapshot=snapshot)

    def record_revision(self, reason: str, *, unless_recent: bool = False) -> Revision | None:
        """Keep a snapshot. With ``unless_recent``, at most one per REVISION_INTERVAL."""
        latest = self.revisions.order_by("-created_at").first()
        if unless_recent and latest and timezone.now() - latest.created_at < REVISION_INTERVAL:
            return None
        snapshot = self.snapshot()
        if latest and latest.snapshot == snapshot:
            if latest.reason == "Autosave" and reason != "Autosave":
                # The same text, now with a name that says when it was kept ("Left step 2").
                latest.reason = reason
                latest.save(update_fields=["reason"])
                return latest
            return None
        return self.revisions.create(reason=reason, snapshot=snapshot)

    def keep_unsaved_text(self, prompt: Prompt, text: str, *, tab: str = "") -> Revision | None:
        """A conflicting edit was refused: keep its text in the history so it is not lost.

        Every refused text gets its own revision; only the same tab typing on in the same
        refused answer updates its own revision instead of adding one per keystroke.
        """
        snapshot = self.snapshot()
        if snapshot["answers"].get(prompt.key) == text:
            return None
        snapshot["answers"][prompt.key] = text
        reason = f"Unsaved text from another tab: {prompt.question}"[:200]
        latest = self.revisions.order_by("-created_at", "-pk").first()
        recent = latest and timezone.now() - latest.created_at < REVISION_INTERVAL
        if recent and tab and latest.reason == reason and latest.tab == tab:
            latest.snapshot = snapshot
            latest.save(update_fields=["snapshot"])
            return latest
        return self.revisions.create(reason=reason, snapshot=snapshot, tab=tab[:40])

    def restore(self, revision: Revision) -> Revision:
        """Bring back a revision's text, its diagrams' too; the restore is a new revision.

        The text it replaces is kept just before it (``self.before_restore``), so the restore
        can be undone by restoring that one.
        """
        self.before_restore = self.record_revision("Before restoring") or self.revisions.first()
        data = revision.snapshot
        drawings = self._drawings_to_restore(data)  # before any lock: Graphviz takes seconds
        with transaction.atomic():
            self.title, self.problem = data["title"], data["problem"]
            self.save(update_fields=["title", "problem", "updated_at"])
            prompts = {p.key: p for p in Prompt.objects.filter(key__in=data["answers"])}
            current = self.answers_by_key()
            for key, answer in current.items():
                if key not in data["answers"] and answer.value:
                    self._overwrite(answer.prompt, "")
            for key, value in data["answers"].items():
                if key in prompts:
                    self._overwrite(prompts[key], value)
            self._restore_diagrams(data, drawings)
            self.mark_changed()
        return self.revisions.create(
            reason=f"Restored the revision of {revision.moment}",
            snapshot=self.snapshot(),
        )

    def _drawings_to_restore(self, data: dict) -> dict:
        """The drawings of the snapshot's diagram texts that differ from the current ones."""
        current = {str(pk): source for pk, source in self.diagrams.values_list("pk", "source")}
        sources = data.get("diagrams", {})
        return {key: _draw(text) for key, text in sources.items() if current.get(key) != text}

    def _restore_diagrams(self, data: dict, drawings: dict) -> None:
        """The diagrams as ``data`` (a snapshot) has them: each one's text and title, one
        deleted since made again under its old id (its history reads on), one added since
        deleted. A version bump makes an editor still open on the old text a conflict."""
        sources, titles = data.get("diagrams", {}), data.get("diagram_titles", {})
        current = {str(diagram.pk): diagram for diagram in self.diagrams.all()}
        for key in current.keys() - sources.keys():
            current[key].delete()
        for key, source in sources.items():
            diagram = current.get(key)
            title = titles.get(key, diagram.title if diagram else "Restored diagram")
            if diagram is None:
                # Its old id is free: ids are never handed out twice.
                last = self.diagrams.aggregate(last=models.Max("order"))["last"]
                diagram = Diagram(pk=int(key), doc=self, order=(last or 0) + 1)
            elif (diagram.source, diagram.title) == (source, title):
                continue
            diagram.title, diagram.source = title, source
            diagram._show(drawings.get(key) or _draw(source))
            diagram.version += 1
            diagram.save()

    def _overwrite(self, prompt: Prompt, value: str) -> None:
        fields = {"value": value, "error": prompt.problem_with(value)}
        Answer.objects.update_or_create(
            doc=self,
            prompt=prompt,
            defaults={**fields, "version": F("version") + 1},
            create_defaults={**fields, "version": 1},
        )

    # --- Copies, trash -----------------------------------------------------------------------

    def copy_for(self, owner, title: str | None = None) -> DesignDoc:
        """A new doc of ``owner``'s with the same text (duplicating, or copying an example)."""
        with transaction.atomic():
            # Within the column, for a copy of a 200-character title (or of a copy).
            limit = DesignDoc._meta.get_field("title").max_length
            title = Truncator(title or f"Copy of {self.title}").chars(limit)
            doc = DesignDoc.objects.create(owner=owner, title=title, problem=self.problem)
            Answer.objects.bulk_create(
                Answer(
                    doc=doc,
                    prompt_id=a.prompt_id,
                    value=a.value,
                    value_html=a.value_html,
                    error=a.error,
                    version=1,
                )
                for a in self.answers.all()
            )
            Diagram.objects.bulk_create(
                Diagram(doc=doc, title=d.title, source=d.source, notation=d.notation, svg=d.svg,
                        error=d.error, order=d.order, version=1)
                for d in self.diagrams.all()
            )  # fmt: skip
            # bulk_create sends no signals: saving again lets listeners (search) see the answers.
            doc.save(update_fields=["updated_at"])
            doc.record_revision("Created as a copy")
        return doc

    def move_to_trash(self) -> None:
        self.deleted_at = timezone.now()
        self.save(update_fields=["deleted_at"])

    def restore_from_trash(self) -> None:
        self.deleted_at = None
        self.save(update_fields=["deleted_at"])

    @property
    def leaves_trash_at(self):
        """When a doc in the trash is gone for good (``purge_trash``); None when not in it."""
        return self.deleted_at + timedelta(days=TRASH_DAYS) if self.deleted_at else None


def cheap_html(prompt: Prompt, value: str) -> str:
    """An answer's HTML at save time, except Markdown's: refresh_doc renders that later."""
    if prompt.kind == Prompt.Kind.MARKDOWN:
        return ""
    return Answer(prompt=prompt, value=value).render_value()


def _is_answered(answer: Answer | None) -> bool:
    return bool(answer and answer.value.strip() and not answer.error)


def _has_text(answer: Answer | None) -> bool:
    return bool(answer and answer.value.strip())


@dataclass
class SaveResult:
    answer: Answer | None
    conflict: bool
    error: str
    refused: str = ""  # why nothing was saved (too large); the text stays with the writer

    @property
    def unsaved(self) -> bool:
        """The posted text is not the stored answer: the writer must still see it."""
        return self.conflict or bool(self.refused)


@dataclass
class StepProgress:
    step: Step
    answered: int
    total: int
    missing: list[Prompt]
    prompts: list[Prompt] = field(default_factory=list)  # asked of this doc, in order
    not_asked: list[Prompt] = field(default_factory=list)  # hidden or retired, with an answer

    @property
    def percent(self) -> int:
        return round(100 * self.answered / self.total) if self.total else 100

    @property
    def complete(self) -> bool:
        return self.answered == self.total


class Answer(models.Model):
    doc = models.ForeignKey(DesignDoc, on_delete=models.CASCADE, related_name="answers")
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="answers")
    value = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True, help_text="Why the value is invalid.")
    value_html = models.TextField(editable=False, default="")
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    # Which browser tab saved last, and its save counter: see DesignDoc.save_answer.
    saved_by = models.CharField(max_length=40, blank=True, editable=False)
    saved_seq = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["doc", "prompt"], name="one_answer")]

    def __str__(self) -> str:
        return f"{self.doc_id}/{self.prompt_id}"

    def save(self, *args, render: bool = True, update_fields=None, **kwargs):
        if render:
            self.value_html = self.render_value()
            if update_fields is not None:
                update_fields = {*update_fields, "value_html"}
        super().save(*args, update_fields=update_fields, **kwargs)

    @property
    def html(self) -> str:
        """The rendered answer. Autosave leaves a Markdown answer's HTML to refresh_doc; until
        then it is rendered here (other kinds are rendered as they save: no Markdown)."""
        unrendered = not self.value_html and self.value.strip()
        if unrendered and self.prompt.kind == Prompt.Kind.MARKDOWN:
            return self.render_value()
        return self.value_html

    @property
    def values(self) -> list[str]:
        """A metric picker's answer as a list of metric slugs."""
        return [v for v in self.value.split(",") if v]

    def render_value(self) -> str:
        """The answer as the document view shows it: Markdown rendered and sanitised."""
        kind = self.prompt.kind
        if kind == Prompt.Kind.MARKDOWN:
            # Bounded work whatever was typed: deep nesting flattened, a CPU watchdog, no images.
            try:
                return render_user_text(self.value).html
            except TooLarge:
                return linebreaks(escape(self.value))
        if kind == Prompt.Kind.CHOICE:
            return escape(self.prompt.choice_label(self.value))
        if kind == Prompt.Kind.METRICS:
            from apps.designdocs.outline import outline  # it reads this module's models

            names = outline().metric_names
            return format_html_join(
                ", ", '<a href="{}">{}</a>',
                (
                    (reverse("metrics:detail", args=[slug]), names[slug])
                    for slug in self.values
                    if slug in names
                ),
            )  # fmt: skip
        return linebreaks(escape(self.value))


class Revision(models.Model):
    doc = models.ForeignKey(DesignDoc, on_delete=models.CASCADE, related_name="revisions")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    reason = models.CharField(max_length=200)
    snapshot = models.JSONField()
    tab = models.CharField(max_length=40, blank=True, help_text="The browser tab it came from.")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.doc} @ {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def moment(self) -> str:
        """When it was made, as the history shows it: "4 Dec 2026, 01:59:56"."""
        return moment(self.created_at)


def moment(when: datetime) -> str:
    """A revision's time, written one way wherever it is named (pages, messages, reasons):
    to the second, since two saves a minute apart are two revisions."""
    return dateformat.format(timezone.localtime(when), "j M Y, H:i:s")


@receiver(m2m_changed, sender=Step.concepts.through)
@receiver(m2m_changed, sender=Step.metrics.through)
def _step_relations_changed(sender, instance, action, **kwargs) -> None:
    # A step's declared concepts and metrics show as backlinks on their pages.
    if action.startswith("post_") and isinstance(instance, Step):
        instance.record_links()


@receiver(page_renamed, sender=Metric)
def _metric_renamed(sender, page, old_slug, **kwargs):
    """Metric pickers keep the slugs picked and show the names: both follow a rename."""
    from apps.designdocs.tasks import follow_metric  # it imports this module

    new_slug = page.slug
    transaction.on_commit(lambda: follow_metric.enqueue(old_slug, new_slug))


@receiver(glossary_changed)
def _glossary_changed(sender, names, urls, **kwargs):
    """Answers are rendered with the glossary too: a new name links them, a deleted page or
    a dropped name no longer does, and a link to a retitled page shows its new title."""
    from apps.designdocs.tasks import rerender_answers_naming  # it imports this module

    transaction.on_commit(lambda: rerender_answers_naming.enqueue(names, urls))


@receiver(post_delete, sender=Prompt)
@receiver(m2m_changed, sender=Prompt.concepts.through)
@receiver(m2m_changed, sender=Prompt.metrics.through)
def _prompt_changed(sender, **kwargs) -> None:
    caching.bump_content_version()  # the wizard's outline is read again


# --- Architecture diagrams ---------------------------------------------------------------------

DIAGRAMS_PER_DOC = 20


class Diagram(models.Model):
    """An architecture diagram of a doc: text (DOT or arrows) and the SVG drawn from it on save."""

    class Notation(models.TextChoices):
        ARROWS = "arrows", "Arrow shorthand"
        DOT = "dot", "Graphviz DOT"

    doc = models.ForeignKey(DesignDoc, on_delete=models.CASCADE, related_name="diagrams")
    title = models.CharField(max_length=120)
    source = models.TextField(blank=True)
    notation = models.CharField(max_length=6, choices=Notation.choices, default=Notation.ARROWS)
    svg = models.TextField(editable=False, default="", help_text="Drawn and cleaned on save.")
    error = models.TextField(blank=True, help_text="Why the source could not be drawn.")
    order = models.PositiveSmallIntegerField(default=0)
    version = models.PositiveIntegerField(default=0)
    # Which browser tab saved last, and its save counter: see DesignDoc.save_answer.
    saved_by = models.CharField(max_length=40, blank=True, editable=False)
    saved_seq = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("designdocs:diagram", args=[self.doc_id, self.pk])

    @property
    def key(self) -> str:
        """The field's name in forms and in the autosave script, as a prompt's key is."""
        return f"diagram-{self.pk}"

    @classmethod
    def start(cls, doc: DesignDoc, title: str, source: str = "") -> Diagram:
        """A new diagram at the end of ``doc``'s, drawn from ``source`` (a starter or nothing)."""
        last = doc.diagrams.aggregate(last=models.Max("order"))["last"]
        diagram = cls(doc=doc, title=title, source=source, version=1, order=(last or 0) + 1)
        diagram._show(_draw(source))
        diagram.save()
        return diagram

    def _show(self, drawing) -> None:
        self.notation, self.svg, self.error = drawing.notation, drawing.svg, drawing.error

    def save_source(
        self, source: str, base_version: int, *, tab: str = "", seq: int = 0
    ) -> DiagramSave:
        """Save ``source`` under the same rules as an answer (see DesignDoc.save_answer).

        A tab's own earlier save is never a conflict, a late retry never overwrites newer text,
        and a save based on a version another tab replaced is refused with both texts shown.
        The drawing is made before the row is locked, so a slow Graphviz holds no lock.
        """
        if len(source) > DIAGRAM_MAX_CHARS:
            return DiagramSave(self, conflict=False, refused=(
                f"Not saved: this diagram is {len(source):,} characters and the limit is "
                f"{DIAGRAM_MAX_CHARS:,}. Your text stays in the field; shorten it or split it "
                "into several diagrams, and it saves again."
            ))  # fmt: skip
        drawing = _draw(source)
        with transaction.atomic():
            current = Diagram.objects.select_for_update().get(pk=self.pk)
            own = bool(tab) and current.saved_by == tab
            if own and seq and seq <= current.saved_seq:
                return DiagramSave(current, conflict=False)
            if current.version != base_version and not own and current.source != source:
                return DiagramSave(current, conflict=True)
            current.saved_by, current.saved_seq = tab[:40], seq
            fields = ["saved_by", "saved_seq"]
            if current.source != source:
                current.source = source
                current._show(drawing)
                current.version = F("version") + 1
                fields += ["source", "notation", "svg", "error", "version", "updated_at"]
                DesignDoc.objects.filter(pk=self.doc_id).update(updated_at=timezone.now())
            current.save(update_fields=fields)
            current.refresh_from_db()
        return DiagramSave(current, conflict=False)


def _draw(source: str):
    # A local import: this section is appended apart from the module's imports.
    from apps.designdocs.diagrams import draw

    return draw(source)


@dataclass
class DiagramSave:
    diagram: Diagram
    conflict: bool
    refused: str = ""  # why nothing was saved (too large); the text stays with the writer

    @property
    def unsaved(self) -> bool:
        return self.conflict or bool(self.refused)


# --- Sharing: read-only links and named reviewers ---------------------------------------------

SHARE_LINKS_PER_DOC = 20
REVIEWERS_PER_DOC = 50
SHARE_TOKEN_MAX_CHARS = 64  # a token is 43 characters; anything much longer is not one


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class ShareLinkQuerySet(models.QuerySet):
    def live(self):
        """Links that still open their doc: not expired, and the doc neither trashed nor an
        example (a revoked link is deleted, so it is in no query at all)."""
        return self.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()),
            doc__deleted_at__isnull=True,
            doc__is_example=False,
        )


class ShareLink(models.Model):
    """A read-only link to a doc, ``/shared/<token>/``, for anyone who has it.

    Only the SHA-256 of the token is stored: the database (or a backup of it) holds nothing that
    opens a doc, and the owner sees the link once, when it is made. Revoking deletes the row.
    """

    doc = models.ForeignKey(DesignDoc, on_delete=models.CASCADE, related_name="share_links")
    label = models.CharField(max_length=100, help_text="Who it is for, e.g. “Mock interview”.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.doc} · {self.label}"

    @classmethod
    def make(cls, doc: DesignDoc, label: str, expires_at=None) -> tuple[ShareLink, str]:
        """A new link and its token (256 random bits), which is never stored and so is
        returned only here."""
        token = secrets.token_urlsafe(32)
        link = cls.objects.create(
            doc=doc, label=label, expires_at=expires_at, token_hash=_token_digest(token)
        )
        return link, token

    @classmethod
    def find(cls, token: str) -> ShareLink | None:
        """The live link whose token this is, or None.

        The lookup is by the token's hash, so nothing compares the secret itself in the
        database; the hashes are compared again in constant time, so neither step's timing
        says how much of a guess was right.
        """
        if not token or len(token) > SHARE_TOKEN_MAX_CHARS:
            return None
        digest = _token_digest(token)
        link = cls.objects.live().select_related("doc").filter(token_hash=digest).first()
        if link is None or not hmac.compare_digest(link.token_hash, digest):
            return None
        return link

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class DocReviewer(models.Model):
    """A named reviewer of a doc: reads it at its own URL and comments; never writes it."""

    doc = models.ForeignKey(DesignDoc, on_delete=models.CASCADE, related_name="reviewers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviewing"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["doc", "user"], name="one_reviewer")]

    def __str__(self) -> str:
        return f"{self.user} reviews {self.doc}"
