"""Review comments on design docs, threaded per answer (or on the doc as a whole), and each
user's inbox of the comments and replies that concern them."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, models
from django.db.models import Q
from django.db.models.signals import post_delete
from django.utils import timezone
from django.utils.html import escape, linebreaks

from apps.core.markdown import TooLarge, render_user_text
from apps.designdocs.models import DesignDoc, DocReviewer, Prompt

COMMENT_MAX_CHARS = 10_000
COMMENTS_PER_DOC = 2_000  # far beyond a real review; bounds the page and the export


class CommentQuerySet(models.QuerySet):
    def open(self):
        """Comments of threads nobody resolved: unresolved first comments and their replies."""
        return self.filter(
            Q(parent__isnull=True, resolved_at__isnull=True)
            | Q(parent__isnull=False, parent__resolved_at__isnull=True)
        )


class Comment(models.Model):
    """A comment on one prompt's answer (``prompt``) or on the whole doc (no prompt).

    A thread is a first comment and its replies (one level: a reply to a reply joins the same
    thread). ``answer_version`` is the answer's version when the comment was written, so the
    page can say when the answer changed since.
    """

    doc = models.ForeignKey(DesignDoc, on_delete=models.CASCADE, related_name="comments")
    prompt = models.ForeignKey(
        Prompt, null=True, blank=True, on_delete=models.PROTECT, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="doc_comments"
    )
    body = models.TextField()
    body_html = models.TextField(editable=False, default="")
    answer_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True, help_text="First comments only.")

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["doc", "created_at"])]

    def __str__(self) -> str:
        return f"{self.author} on {self.doc}: {self.body[:40]}"

    def save(self, *args, update_fields=None, **kwargs):
        self.body_html = self.render_body()
        if update_fields is not None:
            update_fields = {*update_fields, "body_html"}
        super().save(*args, update_fields=update_fields, **kwargs)

    def get_absolute_url(self) -> str:
        return f"{self.doc.get_absolute_url()}#comment-{self.pk}"

    def render_body(self) -> str:
        """The body as pages show it: the answers' Markdown pipeline, sanitised."""
        try:
            return render_user_text(self.body).html
        except TooLarge:  # never for a valid comment; a plain text beats an error
            return linebreaks(escape(self.body))

    @property
    def root(self) -> Comment:
        return self.parent or self

    @property
    def key(self) -> str:
        """The prompt's key, as the doc page groups threads; "" for the doc as a whole."""
        return self.prompt.key if self.prompt_id else ""

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None

    def can_edit(self, user) -> bool:
        """Only its author: a comment signed by someone says what they wrote."""
        return self.author_id == user.pk

    def can_delete(self, user) -> bool:
        """Its author, and the doc's owner, who keeps their doc's discussion in order."""
        return user.pk in {self.author_id, self.doc.owner_id}

    def recipients(self) -> list[int]:
        """Who hears of this comment: the doc's owner and everyone who wrote in its thread,
        but not its author, and only those who can read the doc now."""
        root = self.root
        ids = {self.doc.owner_id}
        ids |= set(
            Comment.objects.filter(Q(pk=root.pk) | Q(parent=root)).values_list(
                "author_id", flat=True
            )
        )
        ids.discard(self.author_id)
        readers = set(
            DocReviewer.objects.filter(doc=self.doc_id, user__in=ids).values_list(
                "user_id", flat=True
            )
        )
        return sorted(i for i in ids if i == self.doc.owner_id or i in readers)


class InboxItem(models.Model):
    """One comment in one user's inbox; unread until they open it or mark all read."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_items"
    )
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="inbox_items")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["user", "comment"], name="one_inbox_item")]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.comment_id}"


class MailOptOut(models.Model):
    """A user who wants no mail when a new thread starts on their docs (the inbox still has it)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_mail_opt_out"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user}: no review mail"


# --- The header's unread count -----------------------------------------------------------------


def visible_items(user):
    """The user's inbox: items on docs that are not in the trash. (A removed reviewer's items go
    with their invitation, see ``connect_signals``.)"""
    return InboxItem.objects.filter(user=user, comment__doc__deleted_at__isnull=True)


def unread_count(user) -> int:
    """Unread comments in ``user``'s inbox (the header's count)."""
    return visible_items(user).filter(read_at__isnull=True).count()


def unread_count_sql() -> tuple[str, list]:
    """:func:`unread_count` as one SQL value for the statement that reads the user of a page
    (``{user}`` is their id; apps.core.caching.per_request): the (user, read_at) index, then
    each unread item's comment and doc by their keys."""
    quote = connection.ops.quote_name
    item, comment = quote(InboxItem._meta.db_table), quote(Comment._meta.db_table)
    doc = quote(DesignDoc._meta.db_table)
    sql = (
        f"(SELECT COUNT(*) FROM {item}"
        f" INNER JOIN {comment} ON {comment}.id = {item}.comment_id"
        f" INNER JOIN {doc} ON {doc}.id = {comment}.doc_id"
        f" WHERE {item}.user_id = {{user}} AND {item}.read_at IS NULL"
        f" AND {doc}.deleted_at IS NULL)"
    )
    return sql, []


# --- Signals -----------------------------------------------------------------------------------


def _reviewer_removed(sender, instance: DocReviewer, **kwargs) -> None:
    # Removing a reviewer ends their access at once: the inbox must not keep showing them the
    # discussion of a doc they can no longer open.
    InboxItem.objects.filter(user_id=instance.user_id, comment__doc_id=instance.doc_id).delete()


def connect_signals() -> None:
    post_delete.connect(_reviewer_removed, sender=DocReviewer, dispatch_uid="reviews-reviewer")
