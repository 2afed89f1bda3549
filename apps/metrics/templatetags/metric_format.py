from django import template

register = template.Library()


@register.filter
def metric_value(value, digits: int = 4) -> str:
    """A computed value for people: rounded floats, whole counts, and “undefined” for None."""
    if value is None:
        return "undefined"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != 0 and abs(value) < 10**-digits:
            return f"{value:.{digits}e}"
        return f"{value:,.{digits}f}"
    return str(value)


@register.filter
def percent(value, digits: int = 2) -> str:
    if value is None:
        return "undefined"
    return f"{value * 100:.{digits}f} %"


@register.filter
def get(mapping, key):
    """Look up ``key`` in a dict (for tables keyed by label)."""
    return mapping.get(str(key)) if mapping else None
