from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from apps.designdocs import models

register = template.Library()


@register.filter
def ago(moment) -> str:
    """How long ago ``moment`` was: "just now" within a minute ("0 minutes ago" says nothing),
    else "3 hours, 5 minutes ago"."""
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"


@register.filter
def get_answer(answers, key):
    """``answers`` is the doc's answers by prompt key."""
    return answers.get(key)


@register.filter
def moment(when) -> str:
    """A revision's time, as everywhere else (apps.designdocs.models.moment)."""
    return "" if when is None else models.moment(when)
