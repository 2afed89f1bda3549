"""Practice on other apps' pages without those apps importing practice.

* ``{% interview_clock doc step %}`` on a design-doc step page: the mock interview's countdowns
  when the doc belongs to one (nothing otherwise; one query to find out);
* ``{% interview_scale doc as scale %}`` on the same page: the interview problem's "Scale:" line
  (the numbers to design for), read in the clock's query;
* ``{% due_badge %}`` in the header: the signed-in user's cards due (counted with the user);
  ``{% due_badge count %}`` where the page counted them itself;
* ``seconds|clock``: 125 → "2:05"; negative (over time) with a minus sign.

The clock and the badge are the request's own, also on a page served stored: each is a hole
that every request fills (apps.core.caching.hole).
"""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html

from apps.core import caching, csrf
from apps.designdocs.outline import outline
from apps.practice import scheduling
from apps.practice.models import Attempt

register = template.Library()


def _interview(doc) -> tuple[int, str] | None:
    """The doc's attempt and its problem's scale, or None for an ordinary doc: one query for
    the doc object, whichever of the page's tags asks first."""
    if not hasattr(doc, "_interview"):
        found = Attempt.objects.filter(doc=doc).values_list("pk", "problem__scale").first()
        doc._interview = found
    return doc._interview


@register.simple_tag(takes_context=True)
def interview_clock(context, doc, step) -> str:
    """Nothing on an ordinary doc (one query to find out); on an interview's doc the clock,
    which is the request's own, also on a stored step page (an interview's doc has its attempt
    from the start: Attempt.start)."""
    interview = _interview(doc)
    if interview is None:
        return ""
    return caching.hole(context, "interview-clock", interview[0], step.slug)


@register.simple_tag
def interview_scale(doc) -> str:
    """The numbers an interview's problem asks to design for; "" on an ordinary doc. Part of
    the stored page: an editor's change to it bumps the content version, which stored pages
    are kept under."""
    interview = _interview(doc)
    return interview[1] if interview else ""


@caching.per_request("interview-clock")
def _interview_clock(request, attempt_pk, step_slug) -> str:
    attempt = Attempt.objects.filter(pk=attempt_pk).first()
    step = outline().step(step_slug) if attempt is not None else None
    if step is None:
        return ""
    context = {
        "attempt": attempt,
        "clock": attempt.clock(step, timezone.now()),
        "step": step,
        "csrf_token": csrf.get_token(request),
    }
    return render_to_string("practice/_clock.html", context)


@register.simple_tag(takes_context=True)
def due_badge(context, count: int | None = None) -> str:
    """The header's count of cards due; ``count`` when the page counted them already (the
    review card, which a fragment answer sends to the header out of band)."""
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.is_authenticated:
        return ""
    if count is not None:
        return _badge(count)
    return caching.hole(context, "due-badge")


@caching.per_request("due-badge", with_user=scheduling.due_count_sql)
def _due_badge(request, value: int | None = None) -> str:
    return _badge(scheduling.due_count(request.user) if value is None else value)


def _badge(count: int) -> str:
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
