"""Sharing a doc: read-only links (``/shared/<token>/``) and named reviewers, managed by the
owner at ``/docs/<id>/share/``.

A link shows the doc to anyone who has it, without an account, and nothing else: no comments,
no other URL of the doc. A named reviewer reads the doc at its own URL, read-only, and comments
(``apps.reviews``). Every other URL of a doc stays its owner's (``access.doc_view``).
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from apps.accounts import throttle
from apps.core.notices import send_notice
from apps.designdocs import addons
from apps.designdocs.access import Role, doc_view
from apps.designdocs.forms import InviteForm, ShareLinkForm
from apps.designdocs.models import REVIEWERS_PER_DOC, SHARE_LINKS_PER_DOC, DesignDoc, ShareLink
from apps.designdocs.views import _document_context

# Each invitation sends a mail and says whether an account exists: a person invites a handful.
INVITES_PER_USER = throttle.Limit("invite-user", 30, 60 * 60)
# The session holds a new link's URL until the share page has shown it once.
NEW_LINK_SESSION_KEY = "new-share-link"


def _share_page(request: HttpRequest, doc: DesignDoc, status: int = 200, **forms) -> HttpResponse:
    new_link = request.session.pop(NEW_LINK_SESSION_KEY, None)
    if new_link and new_link.get("doc") != doc.pk:
        new_link = None
    context = {
        "doc": doc,
        "links": list(doc.share_links.all()),
        "reviewers": list(doc.reviewers.select_related("user")),
        "new_link": new_link,
        "link_form": ShareLinkForm(doc=doc),
        "invite_form": InviteForm(doc=doc),
        "max_links": SHARE_LINKS_PER_DOC,
        "max_reviewers": REVIEWERS_PER_DOC,
        **forms,
    }
    return render(request, "designdocs/share.html", context, status=status)


@doc_view()
def share(request: HttpRequest, doc: DesignDoc) -> HttpResponse:
    """The doc's links and reviewers, with forms to add and remove them."""
    return _share_page(request, doc)


@doc_view(("POST",))
def link_add(request: HttpRequest, doc: DesignDoc) -> HttpResponse:
    form = ShareLinkForm(request.POST, doc=doc)
    if not form.is_valid():
        return _share_page(request, doc, status=400, link_form=form)
    link, token = form.make_link()
    # Shown once, on the page this redirects to: only the token's hash is kept.
    url = request.build_absolute_uri(reverse("sharing:doc", args=[token]))
    request.session[NEW_LINK_SESSION_KEY] = {"doc": doc.pk, "link": link.pk, "url": url}
    return redirect("designdocs:share", pk=doc.pk)


@doc_view(("POST",))
def link_revoke(request: HttpRequest, doc: DesignDoc, link_id: int) -> HttpResponse:
    link = get_object_or_404(doc.share_links, pk=link_id)
    link.delete()
    messages.success(request, f"Revoked the link “{link.label}”: it opens nothing any more.")
    return redirect("designdocs:share", pk=doc.pk)


@doc_view(("POST",))
def reviewer_add(request: HttpRequest, doc: DesignDoc) -> HttpResponse:
    who = str(request.user.pk)
    if INVITES_PER_USER.hit(who) > INVITES_PER_USER.limit:
        # Refused before any account is looked up: the limit also bounds how many usernames
        # and addresses one person can test.
        seconds = INVITES_PER_USER.retry_after(who)
        refusal = f"You have sent many invitations this hour; wait {throttle.wait_phrase(seconds)}."
        form = InviteForm(request.POST, doc=doc, refusal=refusal)
        form.is_valid()
        response = _share_page(request, doc, status=429, invite_form=form)
        response["Retry-After"] = str(seconds)
        return response
    form = InviteForm(request.POST, doc=doc)
    if not form.is_valid():
        return _share_page(request, doc, status=400, invite_form=form)
    reviewer = doc.reviewers.create(user=form.cleaned_data["who"])
    url = request.build_absolute_uri(doc.get_absolute_url())
    transaction.on_commit(lambda: _mail_invitation(doc, reviewer.user, request.user, url))
    messages.success(request, f"Invited {reviewer.user.get_username()} to review.")
    return redirect("designdocs:share", pk=doc.pk)


def _mail_invitation(doc: DesignDoc, reviewer, owner, url: str) -> None:
    if not reviewer.email:
        return  # they still find it under "Shared with me"
    send_notice(
        f"{owner.get_username()} asked you to review “{doc.title}”",
        f"{owner.get_username()} invited you to review the design doc “{doc.title}” on MLSD "
        f"Handbook. Read it and comment here (signed in as {reviewer.get_username()}):\n\n"
        f"{url}\n\nIt is also under “Shared with me” on your design docs page.\n",
        reviewer.email,
    )


@doc_view(("POST",))
def reviewer_remove(request: HttpRequest, doc: DesignDoc, reviewer_id: int) -> HttpResponse:
    reviewer = get_object_or_404(doc.reviewers.select_related("user"), pk=reviewer_id)
    reviewer.delete()
    name = reviewer.user.get_username()
    messages.success(request, f"Removed {name}: they can no longer read or comment on this doc.")
    return redirect("designdocs:share", pk=doc.pk)


@require_safe
def shared_doc(request: HttpRequest, token: str) -> HttpResponse:
    """The doc a live link opens, read-only, for anyone who has the link.

    Kept out of every cache and index: the page cache never stores it (no
    ``anonymous_page_cache``), ``no-store`` keeps it off disks and shared caches, ``noindex``
    out of search engines, and ``no-referrer`` keeps the token out of the Referer header of
    any link followed from it. Nothing in the site's search index points here.
    """
    link = ShareLink.find(token)
    if link is None:
        raise Http404("No such link, or it has expired or been revoked.")
    doc = link.doc
    context = _document_context(doc) | {"role": Role.LINK}
    context |= addons.page_context(request, doc, Role.LINK, context["answers"])
    response = render(request, "designdocs/doc_read.html", context)
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
