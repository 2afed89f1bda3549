"""Reviews on pages other apps own, without those apps importing reviews.

* ``{% inbox_link %}`` in the header: a link to the inbox with the unread count (counted with the
  user, filled on each request);
* ``review.threads|threads_on:key``: the threads on a prompt's answer ("" for the whole doc).
"""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html

from apps.core import caching
from apps.reviews.models import unread_count, unread_count_sql

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_link(context) -> str:
    """The link to the inbox: stored with the page, and only its unread count filled on each
    request (a hole), as the practice link's count of cards due is."""
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.is_authenticated:
        return ""
    return format_html(
        '<a href="{}" class="inbox-link">Inbox{}</a>',
        reverse("reviews:inbox"),
        caching.hole(context, "inbox-unread"),
    )


@caching.per_request("inbox-unread", with_user=unread_count_sql)
def _unread_badge(request, value: int | None = None) -> str:
    """The request's own, also on a page served stored (apps.core.caching.hole)."""
    count = unread_count(request.user) if value is None else value
    if not count:
        return ""
    return format_html(
        ' <span class="due-badge">{}<span class="visually-hidden"> unread</span></span>', count
    )


@register.filter
def threads_on(threads: dict, key: str) -> list:
    return threads.get(key or "", [])
