from __future__ import annotations

import yaml
from django import forms
from django.core.exceptions import ValidationError

from apps.designdocs.models import Step
from apps.practice.models import Attempt, Problem, ReviewLog, check_rubric


class ProblemFilterForm(forms.Form):
    """The problem list's filters; every choice comes from the problems themselves."""

    tag = forms.ChoiceField(required=False)
    difficulty = forms.ChoiceField(
        required=False, choices=[("", "Any difficulty"), *Problem.Difficulty.choices]
    )

    def __init__(self, *args, tags: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", "Any tag"), *((tag, tag) for tag in tags)]

    def value(self, name: str) -> str:
        """The valid value of a filter, or "" (no filter) when it is absent or wrong."""
        if not self.is_bound or name in self.errors:
            return ""
        return self.cleaned_data.get(name, "")


class StartForm(forms.Form):
    minutes = forms.TypedChoiceField(
        choices=Attempt.MINUTE_CHOICES, coerce=int, initial=45, widget=forms.RadioSelect,
        label="Interview length",
        error_messages={"invalid_choice": "Choose 35, 45 or 60 minutes."},
    )  # fmt: skip


class GradeForm(forms.Form):
    card = forms.IntegerField(min_value=1)
    rating = forms.TypedChoiceField(choices=ReviewLog.Rating.choices, coerce=int)
    reps = forms.IntegerField(min_value=0)
    deck = forms.SlugField(required=False, max_length=120)


class UndoForm(forms.Form):
    deck = forms.SlugField(required=False, max_length=120)


class RubricField(forms.CharField):
    """The rubric edited as YAML: each step slug, then its points as a list."""

    widget = forms.Textarea(attrs={"rows": 16})

    def prepare_value(self, value):
        if isinstance(value, dict):
            return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=100)
        return value

    def to_python(self, value) -> dict:
        text = super().to_python(value) or ""
        if not text.strip():
            return {}
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValidationError(f"The rubric is not valid YAML: {exc}") from None
        return check_rubric(data, Step.objects.values_list("slug", flat=True))
