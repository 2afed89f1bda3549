"""Form fields shared by every admin that edits written pages, and the number box of every
calculator and estimator."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

_validate_url = URLValidator(schemes=["http", "https"])


def validate_references(references: list[dict]) -> list[dict]:
    """Raise ValidationError unless every reference has a title and an http(s) URL or none."""
    for number, ref in enumerate(references, start=1):
        if not ref.get("title"):
            raise ValidationError(f"Reference {number} has no title.")
        if ref.get("url"):
            try:
                _validate_url(ref["url"])
            except ValidationError:
                raise ValidationError(
                    f"Reference {number}: “{ref['url']}” is not an http:// or https:// URL."
                ) from None
    return references


class NumberBox(forms.TextInput):
    """A box for one number that sends what was typed. For an <input type=number> it cannot
    read ("1e309", "--5", "1e" half typed) a browser sends nothing, so the server could only
    say the field was empty, and a submitted page lost the text; as text, the field's own
    message says what is wrong. ``inputmode`` still brings up a number keypad on phones."""

    def __init__(self, attrs=None, whole: bool = False):
        super().__init__({"inputmode": "numeric" if whole else "decimal", **(attrs or {})})

    def value_from_datadict(self, data, files, name):
        """The number typed, read without its thousands separators ("1,000", as the site
        writes its own numbers); "1,5" stays as typed, for the field to question."""
        value = super().value_from_datadict(data, files, name)
        if isinstance(value, str) and _GROUPED_THOUSANDS.fullmatch(value.strip()):
            return value.strip().replace(",", "")
        return value


_GROUPED_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")


class LinesField(forms.CharField):
    """A list of strings edited as a textarea, one per line."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value) -> list[str]:
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


class ReferencesField(forms.CharField):
    """References edited as “Title | URL”, one per line."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(
                f"{ref['title']} | {ref['url']}" if ref.get("url") else ref["title"]
                for ref in value
            )
        return value

    def to_python(self, value) -> list[dict]:
        text = super().to_python(value) or ""
        references = []
        for line in text.splitlines():
            if not line.strip():
                continue
            title, _, url = line.rpartition("|") if "|" in line else (line, "", "")
            references.append({"title": title.strip(), "url": url.strip()})
        return references

    def validate(self, value):
        super().validate(value)
        validate_references(value)
