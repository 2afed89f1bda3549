"""Estimators inside concept pages: ``{% estimator "nines" %}`` and the body splitter.

A concept's Markdown places an estimator with a paragraph that is exactly
``{estimator:<name>}``; the stored HTML keeps it as ``<p>{estimator:<name>}</p>``, and
:func:`with_estimators` swaps each such paragraph for the live estimator when the page is shown.
"""

import re

from django import template
from django.template.loader import render_to_string
from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe

from apps.estimates import results
from apps.estimates.forms import FORMS

register = template.Library()

# No braces inside, so a paragraph that merely starts with a marker is left alone; tags inside
# (a glossary link around a word of the name) are stripped before the name is looked up.
MARKER = re.compile(r"<p>\{estimator:([^{}\n]{1,300}?)\}</p>")


@register.simple_tag(takes_context=True)
def estimator(context: template.Context, name: str) -> SafeString:
    """The estimator ``name`` with its defaults, overridden by whichever of its inputs the
    page's query string holds: a GET form that submits to the page it is on.

    The query keeps every estimator's inputs (``est`` names the one submitted last), so that
    submitting one estimator leaves the others on the page as the reader left them.
    """
    request = context["request"]
    if name not in FORMS:
        return render_to_string(
            "estimates/_unknown.html", {"name": name, "known": sorted(FORMS)}, request=request
        )
    estimate = results.context(name, request.GET, page_url=request.path)
    return render_to_string("estimates/estimator.html", estimate, request=request)


@register.simple_tag(takes_context=True)
def with_estimators(context: template.Context, body_html: str) -> SafeString:
    """Stored, sanitised page HTML with each ``{estimator:<name>}`` paragraph made live."""
    if "{estimator:" not in body_html:
        return mark_safe(body_html)
    parts = MARKER.split(body_html)
    for i in range(1, len(parts), 2):
        parts[i] = estimator(context, strip_tags(parts[i]).strip())
    return mark_safe("".join(parts))
