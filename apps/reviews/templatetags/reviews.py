"""Reviews on pages other apps own, without those apps importing reviews.

* ``{% inbox_link %}`` in the header: a link to the inbox with the unread count (counted with the
  user);
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
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.is_authenticated:
        return ""
    return caching.hole(context, "inbox-link")


@caching.per_request("inbox-link", with_user=unread_count_sql)
def _inbox_link(request, value: int | None = None) -> str:
    """The request's own, also on a page served stored (apps.core.caching.hole)."""
    count = unread_count(request.user) if value is None else value
    badge = (
        format_html(
            ' <span class="due-badge">{}<span class="visually-hidden"> unread</span></span>', count
        )
        if count
        else ""
    )
    return format_html(
        '<a href="{}" class="inbox-link">Inbox{}</a>', reverse("reviews:inbox"), badge
    )


@register.filter
def threads_on(threads: dict, key: str) -> list:
    return threads.get(key or "", [])
