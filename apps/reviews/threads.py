"""Writing comments and showing them: posting one (with its inbox items and mail), the threads a
doc page shows, and the open comments an export adds."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import Truncator

from apps.core.notices import send_notice
from apps.designdocs.access import Role
from apps.designdocs.models import Answer, DesignDoc, Prompt
from apps.reviews.models import (
    COMMENT_MAX_CHARS,
    Comment,
    InboxItem,
    MailOptOut,
)


def post(
    doc: DesignDoc,
    author,
    body: str,
    *,
    prompt: Prompt | None = None,
    parent: Comment | None = None,
    doc_url: str = "",
) -> Comment:
    """Add a comment (a new thread, or a reply when ``parent`` is given) and tell those it
    concerns: an inbox item each, and for a new thread a mail after the commit to those who
    did not opt out. ``doc_url`` is the doc's absolute URL, for the mail."""
    if parent is not None:
        parent = parent.root
        prompt = parent.prompt
    version = 0
    if prompt is not None:
        answer = Answer.objects.filter(doc=doc, prompt=prompt).only("version").first()
        version = answer.version if answer else 0
    with transaction.atomic():
        comment = Comment.objects.create(
            doc=doc, author=author, body=body, prompt=prompt, parent=parent,
            answer_version=version,
        )  # fmt: skip
        recipients = comment.recipients()
        InboxItem.objects.bulk_create(
            InboxItem(user_id=user_id, comment=comment, created_at=comment.created_at)
            for user_id in recipients
        )
    if parent is None and recipients:
        transaction.on_commit(lambda: _mail_new_thread(comment, recipients, doc_url))
    return comment


def _mail_new_thread(comment: Comment, recipients: list[int], doc_url: str) -> None:
    users = (
        get_user_model()
        .objects.filter(pk__in=recipients)
        .exclude(email="")
        .exclude(pk__in=MailOptOut.objects.values("user"))
    )
    where = comment.prompt.question if comment.prompt_id else "the whole doc"
    author, title = comment.author.get_username(), comment.doc.title
    excerpt = Truncator(comment.body).chars(1000)
    for user in users:
        send_notice(
            f"{author} commented on “{title}”",
            f"{author} started a thread on “{title}”, on {where}:\n\n{excerpt}\n\n"
            f"Read and reply: {doc_url}#comment-{comment.pk}\n\n"
            "You get this mail for each new thread on your docs. To stop it, untick "
            "“Mail me when a thread starts” in your inbox on MLSD Handbook.\n",
            user.email,
        )


# --- The doc page ------------------------------------------------------------------------------


@dataclass
class Thread:
    root: Comment
    replies: list[Comment] = field(default_factory=list)
    refused: object = None  # a refused reply's form, shown again with its text and why

    @property
    def comments(self) -> list[Comment]:
        return [self.root, *self.replies]


@dataclass
class Review:
    """What the doc page shows of its review: the threads per prompt key ("" for the whole doc),
    and what this reader may do. ``template`` is the part the page includes after each answer."""

    doc: DesignDoc
    role: Role
    threads: dict[str, list[Thread]]
    template: str = "reviews/_threads.html"
    max_chars: int = COMMENT_MAX_CHARS
    refused: object = None  # a refused new thread's form, shown again with its text and why
    confirming: int | None = None  # the comment whose delete is asked for, shown open

    def refuse(self, form, parent: Comment | None) -> None:
        """Show ``form`` (not saved) in place: as a reply in ``parent``'s thread, or as a new
        thread."""
        if parent is None:
            self.refused = form
            return
        for thread in (t for threads in self.threads.values() for t in threads):
            if thread.root.pk == parent.root.pk:
                thread.refused = form

    @property
    def limit_text(self) -> str:
        return f"{self.max_chars:,}"

    @property
    def can_resolve(self) -> bool:
        return self.role is Role.OWNER


def review_for(doc: DesignDoc, user, role: Role, answers: dict[str, Answer]) -> Review:
    """Every thread of the doc in one query, each comment marked with what ``user`` may do
    with it and whether the answer changed since it was written."""
    comments = doc.comments.select_related("author", "prompt").order_by("created_at", "pk")
    threads: dict[str, list[Thread]] = {}
    roots: dict[int, Thread] = {}
    for comment in comments:
        comment.doc = doc  # spares a query per comment in can_delete
        answer = answers.get(comment.key)
        comment.answer_changed = bool(comment.key) and comment.answer_version != (
            answer.version if answer else 0
        )
        comment.editable = comment.can_edit(user)
        comment.deletable = comment.can_delete(user)
        if comment.parent_id is None:
            roots[comment.pk] = Thread(comment)
            threads.setdefault(comment.key, []).append(roots[comment.pk])
        elif comment.parent_id in roots:
            roots[comment.parent_id].replies.append(comment)
    return Review(doc=doc, role=role, threads=threads)


def page_context(request: HttpRequest, doc: DesignDoc, role: Role, answers) -> dict:
    """The doc page's review for its owner and named reviewers; nothing for a link reader."""
    if role is Role.LINK or not request.user.is_authenticated:
        return {}
    return {"review": review_for(doc, request.user, role, answers)}


# --- The export --------------------------------------------------------------------------------


def export_lines(doc: DesignDoc) -> dict[str, list[str]]:
    """Open threads as Markdown per prompt key ("" for the whole doc), quoted with author and
    date after the answer they discuss."""
    comments = doc.comments.open().select_related("author", "prompt").order_by("created_at", "pk")
    by_root: dict[int, list[Comment]] = {}
    for comment in comments:
        by_root.setdefault(comment.parent_id or comment.pk, []).append(comment)
    lines: dict[str, list[str]] = {}
    for thread in by_root.values():
        key = thread[0].key
        out = lines.setdefault(key, [])
        if not out:
            heading = "## Open comments on the whole doc" if key == "" else "#### Open comments"
            out += [heading, ""]
        for number, comment in enumerate(thread):
            prefix = "> " if number == 0 else "> > "
            when = timezone.localtime(comment.created_at)
            out.append(f"{prefix}**{comment.author.get_username()}**, {when:%d %b %Y %H:%M}:")
            out.append(prefix.rstrip())
            out += [f"{prefix}{line}".rstrip() for line in comment.body.splitlines()]
            out.append("")
    return lines


def excerpt(comment: Comment, chars: int = 200) -> str:
    """A comment's first words as plain text, for the inbox: the characters its HTML shows
    (``&lt;`` is "<" again), for the template to escape once."""
    text = html.unescape(strip_tags(comment.body_html))
    return Truncator(" ".join(text.split())).chars(chars)
