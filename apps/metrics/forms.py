"""The HTML calculators: a form per calculator, each computing through ``computations``.

Pasted lists are parsed with the same functions the API uses; any InputError from a
computation lands next to the field it names, and the user's text stays in the form.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from apps.metrics import chooser, computations
from apps.metrics.computations import InputError

PASTE_HELP = "Numbers separated by commas, spaces or new lines; CSV columns work too."


def _textarea(rows: int = 3, placeholder: str = "") -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "placeholder": placeholder, "spellcheck": "false"})


class NumbersField(forms.CharField):
    widget = _textarea()

    def __init__(self, *args, integers: bool = False, **kwargs):
        self.integers = integers
        kwargs.setdefault("help_text", PASTE_HELP)
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        return value

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        try:
            numbers = computations.parse_numbers(text, self.label or "values")
        except InputError as exc:
            raise forms.ValidationError(exc.message) from None
        if self.integers:
            if any(n != int(n) for n in numbers):
                raise forms.ValidationError("Use whole numbers here (for example 0 and 1).")
            return [int(n) for n in numbers]
        return numbers


class LabelsField(forms.CharField):
    widget = _textarea()

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return value

    def clean(self, value):
        text = super().clean(value)
        try:
            return computations.parse_labels(text, self.label or "labels")
        except InputError as exc:
            raise forms.ValidationError(exc.message) from None


class RowsField(forms.CharField):
    """One list of numbers per line: queries for ranking, grid rows for segmentation."""

    widget = _textarea(rows=4)

    def __init__(self, *args, integers: bool = False, **kwargs):
        self.integers = integers
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(", ".join(f"{v:g}" for v in row) for row in value)
        return value

    def clean(self, value):
        text = super().clean(value)
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = computations.parse_numbers(line, f"line {number}")
            except InputError as exc:
                raise forms.ValidationError(f"Line {number}: {exc.message}") from None
            if self.integers:
                if any(v != int(v) for v in row):
                    raise forms.ValidationError(f"Line {number}: use whole numbers.")
                row = [int(v) for v in row]
            rows.append(row)
        if not rows:
            raise forms.ValidationError("Enter at least one line of numbers.")
        return rows


class JSONListField(forms.CharField):
    widget = _textarea(rows=6)

    def prepare_value(self, value):
        if isinstance(value, list):
            return json.dumps(value)
        return value

    def clean(self, value):
        text = super().clean(value)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"This is not valid JSON: {exc.msg} (line {exc.lineno})."
            ) from None
        if not isinstance(data, list):
            raise forms.ValidationError("Enter a JSON list of objects, [ {…}, {…} ].")
        return data


class CalculatorForm(forms.Form):
    """Base: subclasses set ``calculator`` and may shape the arguments in :meth:`arguments`."""

    calculator: str

    def arguments(self) -> dict[str, Any]:
        return {name: value for name, value in self.cleaned_data.items() if value is not None}

    def calculate(self) -> dict | None:
        """The result, or None with the errors attached to the fields they concern."""
        if not self.is_valid():
            return None
        try:
            return computations.CALCULATORS[self.calculator](**self.arguments())
        except InputError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
            return None

    @classmethod
    def from_example(cls, example: dict) -> CalculatorForm:
        """A form filled in with a worked example's input, or an empty one."""
        if not example or example.get("calculator") != cls.calculator:
            return cls()
        data = {}
        for name, field in cls.base_fields.items():
            value = example.get("input", {}).get(name, field.initial)
            if value is not None:
                data[name] = field.prepare_value(value)
        return cls(data=data)


class BinaryClassificationForm(CalculatorForm):
    calculator = "binary-classification"
    y_true = NumbersField(label="True labels (0 or 1)", integers=True)
    y_score = NumbersField(
        label="Scores (probability of 1)", required=False,
        help_text="Leave empty and fill predicted labels instead if you have no scores.",
    )  # fmt: skip
    y_pred = NumbersField(label="Predicted labels (0 or 1)", integers=True, required=False)
    threshold = forms.FloatField(
        label="Threshold", min_value=0, max_value=1, initial=0.5, required=False,
        widget=forms.NumberInput(attrs={"type": "range", "step": "0.01", "min": "0", "max": "1"}),
        help_text="A score at or above the threshold counts as positive.",
    )  # fmt: skip
    beta = forms.FloatField(label="Beta for F-beta", min_value=0.01, initial=1.0, required=False)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data.get("y_score") is None and data.get("y_pred") is None:
            self.add_error("y_score", "Enter scores, or predicted labels below.")
        elif data.get("y_score") is not None and data.get("y_pred") is not None:
            self.add_error("y_pred", "Enter scores or predicted labels, not both.")
        return data


class MulticlassClassificationForm(CalculatorForm):
    calculator = "multiclass-classification"
    y_true = LabelsField(label="True labels", help_text="Labels: words or numbers.")
    y_pred = LabelsField(label="Predicted labels")


class RegressionForm(CalculatorForm):
    calculator = "regression"
    y_true = NumbersField(label="True values")
    y_pred = NumbersField(label="Predicted values")
    n_features = forms.IntegerField(
        label="Number of features (for adjusted R²)", min_value=1, required=False
    )
    delta = forms.FloatField(label="Huber delta", min_value=1e-9, initial=1.0, required=False)


class RankingForm(CalculatorForm):
    calculator = "ranking"
    y_true = RowsField(label="Relevance grades", help_text="One query per line, e.g. 3, 2, 0, 1.")
    y_score = RowsField(label="Model scores", help_text="One query per line, same lengths.")
    k = forms.IntegerField(label="k", min_value=1, initial=3)


class IoUForm(CalculatorForm):
    calculator = "iou"
    box_a = NumbersField(label="Box A: x1, y1, x2, y2", help_text="Four numbers.")
    box_b = NumbersField(label="Box B: x1, y1, x2, y2", help_text="Four numbers.")


class DetectionForm(CalculatorForm):
    calculator = "detection"
    ground_truths = JSONListField(
        label="Ground truths (COCO JSON)",
        help_text='[{"image_id": 1, "category_id": 1, "bbox": [x, y, w, h]}, …]',
    )
    detections = JSONListField(
        label="Detections (COCO JSON)",
        help_text='[{"image_id": 1, "category_id": 1, "bbox": [x, y, w, h], "score": 0.9}, …]',
    )


class SegmentationForm(CalculatorForm):
    calculator = "segmentation"
    y_true = RowsField(label="True mask", integers=True, help_text="One row of class ids a line.")
    y_pred = RowsField(label="Predicted mask", integers=True, help_text="Same shape.")
    num_classes = forms.IntegerField(label="Number of classes", min_value=1, max_value=1000)


class DiscountedReturnForm(CalculatorForm):
    calculator = "discounted-return"
    rewards = NumbersField(label="Rewards, step by step")
    gamma = forms.FloatField(label="Discount γ", min_value=0, max_value=1, initial=0.9)


class LatencyForm(CalculatorForm):
    calculator = "latency"
    samples_ms = NumbersField(label="Latency samples (ms)")


class ThroughputForm(CalculatorForm):
    calculator = "throughput"
    requests = forms.IntegerField(label="Requests served", min_value=0)
    duration_s = forms.FloatField(label="Over how many seconds", min_value=1e-9)


class EnergyForm(CalculatorForm):
    calculator = "energy"
    power_w = forms.FloatField(label="Average power (W)", min_value=0)
    duration_s = forms.FloatField(label="Duration (s)", min_value=0)
    requests = forms.IntegerField(label="Requests served (optional)", min_value=1, required=False)


class CTRForm(CalculatorForm):
    calculator = "ctr"
    clicks = forms.IntegerField(label="Clicks", min_value=0)
    impressions = forms.IntegerField(label="Impressions", min_value=0)


class DauMauForm(CalculatorForm):
    calculator = "dau-mau"
    dau = forms.IntegerField(label="Daily active users (DAU)", min_value=0)
    mau = forms.IntegerField(label="Monthly active users (MAU)", min_value=0)


class RetentionForm(CalculatorForm):
    calculator = "retention"
    cohort_size = forms.IntegerField(label="Users in the cohort on day 0", min_value=0)
    retained = forms.IntegerField(label="Of them, active on day N", min_value=0)


class ConversionRateForm(CalculatorForm):
    calculator = "conversion-rate"
    conversions = forms.IntegerField(label="Conversions", min_value=0)
    visitors = forms.IntegerField(label="Visitors (or sessions)", min_value=0)


FORMS: dict[str, type[CalculatorForm]] = {
    form.calculator: form
    for form in (
        BinaryClassificationForm, MulticlassClassificationForm, RegressionForm, RankingForm,
        IoUForm, DetectionForm, SegmentationForm, DiscountedReturnForm, LatencyForm,
        ThroughputForm, EnergyForm, CTRForm, DauMauForm, RetentionForm, ConversionRateForm,
    )
}  # fmt: skip


class ChooserForm(forms.Form):
    """The four questions of the metric chooser (also asked by the design-doc wizard)."""

    task = forms.ChoiceField(label="What does the model do?", choices=chooser.TASKS)
    imbalance = forms.ChoiceField(
        label="How imbalanced are the classes?", choices=chooser.IMBALANCE, required=False
    )
    costlier = forms.ChoiceField(
        label="Which error costs more?", choices=chooser.COSTLIER, required=False
    )
    ranked = forms.BooleanField(label="Users see the output as a ranked list", required=False)

    def clean(self):
        data = super().clean()
        # Unanswered questions take the neutral answer, so a task alone is enough to advise.
        data["imbalance"] = data.get("imbalance") or "balanced"
        data["costlier"] = data.get("costlier") or "equal"
        return data
