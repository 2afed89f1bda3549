"""Commenting on a doc (its owner and named reviewers), and the inbox.

Every comment URL sits under its doc (``/docs/<id>/comments/…``) and goes through
``reader_view``: a stranger, a link reader or a removed reviewer gets 404, as on the doc.
Forms are plain POSTs that come back to the doc; with HTMX, the thread's part of the page is
swapped in place instead.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from apps.accounts import throttle
from apps.designdocs.access import Role, get_readable_doc, reader_view
from apps.designdocs.models import DesignDoc
from apps.reviews import threads
from apps.reviews.forms import CommentForm
from apps.reviews.models import (
    Comment,
    MailOptOut,
    unread_count,
    visible_items,
)

# Each comment is rendered and may send mail; a busy reviewer writes a few a minute.
COMMENTS_PER_USER = throttle.Limit("comment-user", 30, 10 * 60)
INBOX_SHOWN = 100


def _fragment(
    request, doc, role, key, status=200, refused=None, parent=None, confirming=None
) -> HttpResponse:
    """The threads on ``key`` (a prompt's key, "" for the whole doc), as the page shows them;
    with a ``refused`` form shown again where it was typed, or the comment ``confirming``
    asking whether to delete it."""
    answers = doc.answers_by_key()
    review = threads.review_for(doc, request.user, role, answers)
    review.confirming = confirming
    if refused is not None:
        review.refuse(refused, parent)
    context = {"review": review, "key": key, "doc": doc}
    return render(request, "reviews/_threads.html", context, status=status)


def _refused(request, doc, role, form, comment=None, status=400) -> HttpResponse:
    """A comment that could not be saved, with its text and the reason at the field."""
    parent = getattr(form, "cleaned_data", {}).get("parent")
    parent = parent if isinstance(parent, Comment) else None
    key = (comment or parent).key if (comment or parent) else request.POST.get("prompt", "")
    if request.htmx and comment is None:
        # htmx swaps only 2xx, 409 and 429 (base.html): the refusal is shown in place.
        code = 429 if status == 429 else 200
        return _fragment(request, doc, role, key, code, refused=form, parent=parent)
    context = {"doc": doc, "form": form, "comment": comment, "parent": parent, "key": key}
    return render(request, "reviews/comment_form.html", context, status=status)


@reader_view(("POST",))
def comment_add(request: HttpRequest, doc: DesignDoc, role: Role) -> HttpResponse:
    """A new thread on an answer or the whole doc, or a reply in a thread."""
    form = CommentForm(request.POST, doc=doc)
    who = str(request.user.pk)
    if COMMENTS_PER_USER.hit(who) > COMMENTS_PER_USER.limit:
        form.is_valid()
        wait = throttle.wait_phrase(COMMENTS_PER_USER.retry_after(who))
        form.add_error(
            "body",
            f"You have written {COMMENTS_PER_USER.limit} comments in "
            f"{COMMENTS_PER_USER.minutes} minutes; wait {wait}. Your text stays here.",
        )
        response = _refused(request, doc, role, form, status=429)
        response["Retry-After"] = str(COMMENTS_PER_USER.retry_after(who))
        return response
    if not form.is_valid():
        return _refused(request, doc, role, form)
    data = form.cleaned_data
    comment = threads.post(
        doc, request.user, data["body"], prompt=data["prompt"], parent=data["parent"],
        doc_url=request.build_absolute_uri(doc.get_absolute_url()),
    )  # fmt: skip
    if request.htmx:
        return _fragment(request, doc, role, comment.key)
    return redirect(comment)


def comment_view(methods: tuple[str, ...], may: Callable[[Comment, object, Role], bool]):
    """Decorate ``view(request, doc, role, comment)``: the comment of a doc the user reads, and
    that ``may`` lets them act on, or 404 — before the method is looked at, as ``doc_view``
    does, so 405 only ever answers someone who may use the URL."""
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, pk: int, comment_id: int) -> HttpResponse:
            found = get_readable_doc(request, pk)
            if found is None:
                raise Http404("No such design doc.")
            doc, role = found
            comments = doc.comments.select_related("prompt", "parent")
            comment = get_object_or_404(comments, pk=comment_id)
            comment.doc = doc
            if not may(comment, request.user, role):
                raise Http404("Not a comment you can change.")
            if request.method not in allowed:
                return HttpResponseNotAllowed(sorted(allowed))
            return view(request, doc, role, comment)

        return wrapper

    return decorator


@comment_view(("GET", "POST"), may=lambda comment, user, role: comment.can_edit(user))
def comment_edit(request: HttpRequest, doc: DesignDoc, role: Role, comment: Comment):
    """GET the form with the comment's text; POST saves it. Its author only."""
    if request.method == "GET":
        form = CommentForm(initial={"body": comment.body}, doc=doc, editing=comment)
        context = {"doc": doc, "form": form, "comment": comment, "key": comment.key}
        return render(request, "reviews/comment_form.html", context)
    form = CommentForm(request.POST, doc=doc, editing=comment)
    if not form.is_valid():
        return _refused(request, doc, role, form, comment=comment)
    comment.body, comment.edited_at = form.cleaned_data["body"], timezone.now()
    comment.save(update_fields=["body", "edited_at"])
    messages.success(request, "Saved your comment.")
    return redirect(comment)


@comment_view(("GET", "POST"), may=lambda comment, user, role: comment.can_delete(user))
def comment_delete(request: HttpRequest, doc: DesignDoc, role: Role, comment: Comment):
    """Delete a comment (a first comment takes its replies along) once confirmed: its author
    or the owner. GET, and a POST without ``confirm=yes`` (a page from before the question was
    asked), only ask: no single click throws away what someone wrote."""
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        key, replies = comment.key, _replies(comment)
        comment.delete()
        if request.htmx and not request.htmx.boosted:
            return _fragment(request, doc, role, key)
        also = f" and its {replies} repl{'y' if replies == 1 else 'ies'}" if replies else ""
        messages.success(request, f"Deleted the comment{also}.")
        anchor = f"#threads-{key}" if key else "#threads-doc"
        return redirect(f"{doc.get_absolute_url()}{anchor}")
    if request.htmx and not request.htmx.boosted:
        return _fragment(request, doc, role, comment.key, confirming=comment.pk)
    context = {"doc": doc, "comment": comment, "replies": _replies(comment)}
    return render(request, "reviews/comment_delete.html", context)


def _replies(comment: Comment) -> int:
    """How many replies go with ``comment`` when it is deleted."""
    return 0 if comment.parent_id else comment.replies.count()


def _may_resolve(comment: Comment, user, role: Role) -> bool:
    return role is Role.OWNER and comment.parent_id is None


@comment_view(("POST",), may=_may_resolve)
def comment_resolve(request: HttpRequest, doc: DesignDoc, role: Role, comment: Comment):
    """Resolve a thread (``resolved=1``) or reopen it (``resolved=0``): the owner only."""
    comment.resolved_at = timezone.now() if request.POST.get("resolved") == "1" else None
    comment.save(update_fields=["resolved_at"])
    if request.htmx:
        return _fragment(request, doc, role, comment.key)
    return redirect(comment)


# --- The inbox ---------------------------------------------------------------------------------


@login_required
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    """New comments and replies on your docs and in your threads, newest first."""
    items = list(
        visible_items(request.user)
        .select_related("comment__author", "comment__doc", "comment__prompt")
        .order_by("-created_at", "-pk")[:INBOX_SHOWN]
    )
    for item in items:
        item.excerpt = threads.excerpt(item.comment)
    context = {
        "items": items,
        "unread": unread_count(request.user),
        "mail_on": not MailOptOut.objects.filter(user=request.user).exists(),
    }
    return render(request, "reviews/inbox.html", context)


@login_required
@require_POST
def inbox_open(request: HttpRequest, item_id: int) -> HttpResponse:
    """Mark one item read and go to its comment."""
    item = get_object_or_404(visible_items(request.user).select_related("comment__doc"), pk=item_id)
    if item.read_at is None:
        item.read_at = timezone.now()
        item.save(update_fields=["read_at"])
    return redirect(item.comment)


@login_required
@require_POST
def inbox_read_all(request: HttpRequest) -> HttpResponse:
    count = visible_items(request.user).filter(read_at__isnull=True).update(read_at=timezone.now())
    messages.success(request, f"Marked {count} comment{'s' if count != 1 else ''} read.")
    return redirect("reviews:inbox")


@login_required
@require_POST
def mail_settings(request: HttpRequest) -> HttpResponse:
    """Mail for each new thread on your docs: on (``mail=on``) or off."""
    if request.POST.get("mail") == "on":
        MailOptOut.objects.filter(user=request.user).delete()
        messages.success(request, "You get a mail when a thread starts on one of your docs.")
    else:
        MailOptOut.objects.get_or_create(user=request.user)
        messages.success(request, "No more review mail; new comments still arrive here.")
    return redirect("reviews:inbox")
