"""Practice on other apps' pages without those apps importing practice.

* ``{% interview_clock doc step %}`` on a design-doc step page: the mock interview's countdowns
  when the doc belongs to one (nothing otherwise; one query to find out);
* ``{% due_badge %}`` in the header: the signed-in user's cards due (cached for a minute);
* ``seconds|clock``: 125 → "2:05"; negative (over time) with a minus sign.
"""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.html import format_html

from apps.practice import scheduling
from apps.practice.models import Attempt

register = template.Library()


@register.inclusion_tag("practice/_clock.html", takes_context=True)
def interview_clock(context, doc, step) -> dict:
    attempt = Attempt.objects.filter(doc=doc).first()
    if attempt is None:
        return {"attempt": None}
    return {
        "attempt": attempt,
        "clock": attempt.clock(step, timezone.now()),
        "step": step,
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag(takes_context=True)
def due_badge(context) -> str:
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.is_authenticated:
        return ""
    count = scheduling.due_count(user)
    if not count:
        return ""
    return format_html(
        ' <span class="due-badge">{}<span class="visually-hidden"> cards due</span></span>', count
    )


@register.filter
def clock(seconds) -> str:
    """Seconds as minutes:seconds; negative (over time) with a minus sign."""
    try:
        value = round(float(seconds))
    except (TypeError, ValueError):
        return ""
    sign = "−" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 60}:{value % 60:02d}"
