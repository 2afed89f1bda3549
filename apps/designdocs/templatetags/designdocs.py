from django import template

register = template.Library()


@register.filter
def get_answer(answers, key):
    """``answers`` is the doc's answers by prompt key."""
    return answers.get(key)
