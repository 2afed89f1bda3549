"""The HTML calculators: a form per calculator, each computing through ``computations``.

Pasted lists are parsed with the same functions the API uses; any InputError from a
computation lands next to the field it names, and the user's text stays in the form.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.validators import MaxLengthValidator

from apps.core.forms import NumberBox
from apps.metrics import chooser, computations
from apps.metrics.computations import InputError

PASTE_HELP = (
    "Numbers separated by commas, spaces or new lines; a CSV column works too, with or without "
    "its header row."
)

# A results page shows a row or a chart point per item, so the HTML calculators take less than
# the JSON API (computations.MAX_*). At these sizes the largest form is computed and its page
# rendered in about a quarter of a second of one core (measured on the 2-core development
# machine); each field's help text states its limit.
FORM_MAX_VALUES = 10_000
#: Room per pasted value, separators and spaces included: far more than a number or an id takes.
CHARACTERS_PER_VALUE = 64
"""Most values in one pasted field (all lines together for one-line-per-query fields)."""
FORM_MAX_STEPS = 1_000
"""Most rewards for the discounted return: the page has a table row per step."""
FORM_MAX_CLASSES = 50
"""Most distinct classes for multiclass classification: the confusion matrix is classes²."""
LINK_MAX_LENGTH = 2_000
"""Longest query string a calculator puts in a link: longer ones may not survive servers and
proxies (gunicorn refuses a request line over 4,094 bytes)."""


def _textarea(rows: int = 3, placeholder: str = "") -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "placeholder": placeholder, "spellcheck": "false"})


class PastedField(forms.CharField):
    """Pasted values, at most ``max_values`` of them; the help text ends by saying so."""

    widget = _textarea()
    default_help = ""
    header_help = ""
    counted = "values"

    def __init__(self, *args, integers: bool = False, max_values: int = FORM_MAX_VALUES, **kwargs):
        self.integers = integers
        self.max_values = max_values
        help_text = f"{kwargs.get('help_text', self.default_help)} {self.header_help}".strip()
        kwargs["help_text"] = f"{help_text} At most {max_values:,} {self.counted}.".strip()
        super().__init__(*args, **kwargs)
        # Checked before any parsing, so that 8 MB of blank lines costs nothing. A validator,
        # not max_length: that would become the textarea's maxlength, and a browser cuts a
        # longer paste short without a word.
        self.validators.append(MaxLengthValidator(max_values * CHARACTERS_PER_VALUE + 4096))


class NumbersField(PastedField):
    default_help = PASTE_HELP

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        return value

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        try:
            numbers = computations.parse_numbers(text, self.label or "values", self.max_values)
        except InputError as exc:
            raise forms.ValidationError(exc.message) from None
        if self.integers:
            if any(n != int(n) for n in numbers):
                raise forms.ValidationError("Use whole numbers here (for example 0 and 1).")
            return [int(n) for n in numbers]
        return numbers


class LabelsField(PastedField):
    header_help = "A first line of column names is skipped when the labels are numbers."
    counted = "labels"

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return value

    def clean(self, value):
        text = super().clean(value)
        try:
            return computations.parse_labels(text, self.label or "labels", self.max_values)
        except InputError as exc:
            raise forms.ValidationError(exc.message) from None


_NON_BLANK_LINE = re.compile(r"^.*\S.*$", re.MULTILINE)


class RowsField(PastedField):
    """One list of numbers per line: queries for ranking, grid rows for segmentation."""

    widget = _textarea(rows=4)
    header_help = "A first line of column names is skipped."
    counted = "values on all lines together"

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(", ".join(f"{v:g}" for v in row) for row in value)
        return value

    def clean(self, value):
        text = computations.without_header(super().clean(value))
        rows = []
        values = 0
        number, counted_to = 1, 0
        # The regular expression skips blank lines in C: megabytes of them cost milliseconds.
        for match in _NON_BLANK_LINE.finditer(text):
            number += text.count("\n", counted_to, match.start())
            counted_to, line = match.start(), match.group()
            try:
                row = computations.parse_numbers(line, f"line {number}", self.max_values)
            except InputError as exc:
                raise forms.ValidationError(f"Line {number}: {exc.message}") from None
            values += len(row)
            if values > self.max_values:
                raise forms.ValidationError(
                    f"There are more than {self.max_values:,} values on these lines; at most "
                    f"{self.max_values:,} are allowed here."
                )
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
        except RecursionError:
            raise forms.ValidationError(
                "This JSON is nested too deeply; give a list of flat objects, [ {…}, {…} ]."
            ) from None
        except ValueError:  # an integer of more than 4,300 digits (Python's limit)
            raise forms.ValidationError("This JSON has a number too long to read.") from None
        if not isinstance(data, list):
            raise forms.ValidationError("Enter a JSON list of objects, [ {…}, {…} ].")
        return data


class CalculatorForm(forms.Form):
    """Base: subclasses set ``calculator`` and may shape the arguments in :meth:`arguments`."""

    calculator: str
    #: Whether the threshold slider's span changed from the one the page shows (see
    #: BinaryClassificationForm); the HTMX answer then brings a new slider.
    rescaled = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # every number box but the threshold's slider
            if isinstance(field.widget, forms.NumberInput) and field.widget.input_type == "number":
                # Django's FloatField is an IntegerField too.
                whole = not isinstance(field, forms.FloatField)
                field.widget = NumberBox(whole=whole)

    def arguments(self) -> dict[str, Any]:
        return {name: value for name, value in self.cleaned_data.items() if value is not None}

    def calculate(self) -> dict | None:
        """The result, or None with the errors attached to the fields they concern.

        The computations name fields as the API does (``y_true``); here each message and
        warning names them as the form labels them.
        """
        if not self.is_valid():
            return None
        try:
            result = computations.CALCULATORS[self.calculator](**self.arguments())
        except InputError as exc:
            field = exc.field if exc.field in self.fields else None
            self.add_error(field, self.in_own_words(exc.message))
            return None
        result["warnings"] = [self.in_own_words(warning) for warning in result["warnings"]]
        return result

    def in_own_words(self, message: str) -> str:
        """``message`` with every field name replaced by the field's label, in quotes."""
        renamed = {
            name: field.label
            for name, field in self.fields.items()
            if field.label and field.label.lower() != name
        }
        if not renamed:
            return message
        names = "|".join(re.escape(name) for name in sorted(renamed, key=len, reverse=True))
        # Not inside longer words: f_beta is not beta, and F-beta is not beta either.
        return re.sub(
            rf"(?<![\w-])({names})(?![\w-])", lambda m: f"“{renamed[m.group()]}”", message
        )

    @classmethod
    def given_in(cls, query: dict) -> bool:
        """Whether a query string holds this calculator's inputs (a shared link)."""
        return any(name in query for name in cls.base_fields)

    def link_query(self) -> str:
        """The query string that fills this form in again with what was typed."""
        pairs = []
        for name in self.fields:
            value = self.data.get(name)
            if value not in (None, ""):
                pairs.append((name, value))
        return urlencode(pairs)

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


PROBABILITY_SCALE = {"min": "0", "max": "1", "step": "0.01"}


def threshold_scale(scores: list[float]) -> dict[str, str]:
    """The threshold slider's min, max and step attributes for these scores.

    Probabilities get [0, 1] in hundredths. Other scores (logits, margins) get their own span in
    about a hundred round steps (1 or 5 times a power of ten, so that 0 and 0.5 lie on a step),
    from the lowest score to one step above the highest, where nothing is positive.
    """
    low, high = min(scores), max(scores)
    if low >= 0 and high <= 1:
        return PROBABILITY_SCALE
    span = (high - low) or max(abs(high), 1.0)
    anywhere = {"min": f"{low:.17g}", "max": f"{high:.17g}", "step": "any"}
    if not math.isfinite(span) or span / 100 < sys.float_info.min:
        return anywhere  # infinite, or too fine to step through (5e-324 apart)
    try:
        power = 10 ** math.floor(math.log10(span / 100))
        step = 5 * power if span / 100 >= 5 * power else power
        low = math.floor(low / step) * step
        high = (math.floor(high / step) + 1) * step
    except (ValueError, OverflowError, ZeroDivisionError):
        return anywhere
    return {"min": f"{low:.12g}", "max": f"{high:.12g}", "step": f"{step:.12g}"}


class BinaryClassificationForm(CalculatorForm):
    calculator = "binary-classification"
    y_true = NumbersField(label="True labels (0 or 1)", integers=True)
    y_score = NumbersField(
        label="Scores (probabilities or logits)", required=False,
        help_text=f"Any real numbers. Leave empty and fill predicted labels instead if you have "
        f"no scores. {PASTE_HELP}",
    )  # fmt: skip
    y_pred = NumbersField(label="Predicted labels (0 or 1)", integers=True, required=False)
    threshold = forms.FloatField(
        label="Threshold", initial=0.5, required=False,
        widget=forms.NumberInput(attrs={"type": "range", **PROBABILITY_SCALE}),
        help_text="A score at or above the threshold counts as positive. The slider spans the "
        "scores: 0 to 1 for probabilities, the lowest to the highest score otherwise.",
    )  # fmt: skip
    beta = forms.FloatField(label="Beta for F-beta", min_value=0.01, initial=1.0, required=False)

    def clean(self):
        data = super().clean()
        if data.get("y_score"):
            self.fields["threshold"].widget.attrs.update(threshold_scale(data["y_score"]))
        if self.errors:
            return data
        if data.get("y_score") is None and data.get("y_pred") is None:
            self.add_error("y_score", "Enter scores, or predicted labels below.")
        elif data.get("y_score") is not None and data.get("y_pred") is not None:
            self.add_error("y_pred", "Enter scores or predicted labels, not both.")
        return data

    @property
    def scale(self) -> str:
        """The slider's span as the page shows it, carried in a hidden field."""
        attrs = self.fields["threshold"].widget.attrs
        return f"{attrs['min']} {attrs['max']} {attrs['step']}"

    @property
    def rescaled(self) -> bool:
        # Unknown while the scores do not parse: the slider keeps its span until they do.
        return (
            self.is_bound
            and not self.has_error("y_score")
            and self.data.get("threshold_scale", self.scale) != self.scale
        )


class MulticlassClassificationForm(CalculatorForm):
    calculator = "multiclass-classification"
    y_true = LabelsField(
        label="True labels",
        help_text=f"Labels: words or numbers, at most {FORM_MAX_CLASSES} different ones.",
    )
    y_pred = LabelsField(label="Predicted labels")

    def clean(self):
        data = super().clean()
        classes = set(data.get("y_true") or ()) | set(data.get("y_pred") or ())
        if len(classes) > FORM_MAX_CLASSES:
            self.add_error(
                "y_true",
                f"The labels name {len(classes):,} different classes; at most "
                f"{FORM_MAX_CLASSES} are allowed here, so that the confusion matrix fits the page.",
            )
        return data


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
    gain = forms.ChoiceField(
        label="NDCG gain", initial="linear", required=False, widget=forms.RadioSelect,
        choices=[
            ("linear", "Linear: the grade (as scikit-learn)"),
            ("exponential", "Exponential: 2^grade − 1"),
        ],
    )  # fmt: skip

    def clean_gain(self):
        return self.cleaned_data.get("gain") or "linear"


class IoUForm(CalculatorForm):
    calculator = "iou"
    box_a = NumbersField(label="Box A: x1, y1, x2, y2", help_text="Four numbers.", max_values=4)
    box_b = NumbersField(label="Box B: x1, y1, x2, y2", help_text="Four numbers.", max_values=4)


BOXES_HELP = (
    f"At most {computations.MAX_BOXES:,} boxes, in at most {computations.MAX_CATEGORIES:,} "
    "categories with the other list."
)


class DetectionForm(CalculatorForm):
    calculator = "detection"
    ground_truths = JSONListField(
        label="Ground truths (COCO JSON)",
        help_text=f'[{{"image_id": 1, "category_id": 1, "bbox": [x, y, w, h]}}, …]. {BOXES_HELP}',
    )
    detections = JSONListField(
        label="Detections (COCO JSON)",
        help_text=(
            '[{"image_id": 1, "category_id": 1, "bbox": [x, y, w, h], "score": 0.9}, …]. '
            f"{BOXES_HELP}"
        ),
    )


class SegmentationForm(CalculatorForm):
    calculator = "segmentation"
    y_true = RowsField(label="True mask", integers=True, help_text="One row of class ids a line.")
    y_pred = RowsField(label="Predicted mask", integers=True, help_text="Same shape.")
    num_classes = forms.IntegerField(
        label="Number of classes", min_value=1, max_value=computations.MAX_CLASSES
    )


class DiscountedReturnForm(CalculatorForm):
    calculator = "discounted-return"
    rewards = NumbersField(label="Rewards, step by step", max_values=FORM_MAX_STEPS)
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


# --- Calibration, operating points, forecasting, recommendation lists, language, marketplaces ---

FORM_MAX_BINS = 50
"""Most reliability-diagram bins in the HTML calculator: the page has a table row per bin."""


class LinesField(PastedField):
    """One sentence per line; blank lines at the end are dropped, blank lines between kept as
    empty sentences (an empty transcript or translation is a valid output)."""

    widget = _textarea(rows=4)
    counted = "lines"

    def __init__(self, *args, max_values: int = computations.MAX_SEGMENTS, **kwargs):
        super().__init__(*args, max_values=max_values, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(item[0] if isinstance(item, list) else str(item) for item in value)
        return value

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        lines = text.splitlines()
        while lines and not lines[-1].strip():
            lines.pop()
        if len(lines) > self.max_values:
            raise forms.ValidationError(
                f"There are {len(lines):,} lines; at most {self.max_values:,} are allowed here."
            )
        return lines


class LabelRowsField(PastedField):
    """One list of ids per line (items, or their categories), separated like pasted numbers."""

    widget = _textarea(rows=4)
    counted = "ids on all lines together"

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(", ".join(str(v) for v in row) for row in value)
        return value

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        rows, count = [], 0
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = computations.parse_labels(line, f"line {number}", self.max_values)
            except InputError as exc:
                raise forms.ValidationError(f"Line {number}: {exc.message}") from None
            count += len(row)
            if count > self.max_values:
                raise forms.ValidationError(
                    f"There are more than {self.max_values:,} ids on these lines; at most "
                    f"{self.max_values:,} are allowed here."
                )
            rows.append(row)
        return rows


def _rate_field(label: str, initial: float | None = None, required: bool = True, **kwargs):
    return forms.FloatField(
        label=label, min_value=0, max_value=1, initial=initial, required=required, **kwargs
    )


class CalibrationForm(CalculatorForm):
    calculator = "calibration"
    y_true = NumbersField(label="True labels (0 or 1)", integers=True)
    y_prob = NumbersField(label="Predicted probabilities of 1")
    n_bins = forms.IntegerField(
        label="Bins", min_value=1, max_value=FORM_MAX_BINS, initial=10,
        help_text=f"1 to {FORM_MAX_BINS}.",
    )  # fmt: skip
    strategy = forms.ChoiceField(
        label="Bins of", initial="uniform", required=False, widget=forms.RadioSelect,
        choices=[
            ("uniform", "Equal width (scikit-learn's default)"),
            ("quantile", "Equal counts of predictions"),
        ],
    )  # fmt: skip

    def clean_strategy(self):
        return self.cleaned_data.get("strategy") or "uniform"


class OperatingPointForm(CalculatorForm):
    calculator = "operating-point"
    y_true = NumbersField(label="True labels (0 or 1)", integers=True)
    y_score = NumbersField(label="Scores (probabilities or logits)")
    target_recall = _rate_field("Recall to reach", 0.9, help_text="Above 0, at most 1.")
    target_precision = _rate_field("Precision to reach", 0.9, help_text="Above 0, at most 1.")


class TopKAccuracyForm(CalculatorForm):
    calculator = "top-k-accuracy"
    y_true = NumbersField(
        label="True class of each example", integers=True,
        help_text="The column of the true class in the scores, counted from 0.",
    )  # fmt: skip
    y_score = RowsField(
        label="Class scores",
        help_text="One example per line, one score per class, e.g. 0.7, 0.2, 0.1.",
    )
    k = forms.IntegerField(label="k", min_value=1, initial=5)


class PrevalenceForm(CalculatorForm):
    calculator = "prevalence"
    positives = forms.IntegerField(label="Positives in the population", min_value=0)
    total = forms.IntegerField(label="Population size", min_value=0)
    recall = _rate_field("A classifier's recall (optional)", required=False)
    specificity = _rate_field("Its specificity (optional)", required=False)


class PercentageErrorsForm(CalculatorForm):
    calculator = "percentage-errors"
    y_true = NumbersField(label="Actual values")
    y_pred = NumbersField(label="Forecasts")


class PinballLossForm(CalculatorForm):
    calculator = "pinball-loss"
    y_true = NumbersField(label="Actual values")
    y_pred = NumbersField(label="Quantile forecasts")
    alpha = _rate_field("Quantile α", 0.9, help_text="0.5 for the median, 0.9 for P90.")


class HitRateForm(CalculatorForm):
    calculator = "hit-rate"
    y_true = RowsField(
        label="Relevance per user", help_text="One user (or query) per line, e.g. 0, 1, 0, 0."
    )
    y_score = RowsField(label="Model scores", help_text="One user per line, same lengths.")
    k = forms.IntegerField(label="k", min_value=1, initial=10)


class CoverageForm(CalculatorForm):
    calculator = "coverage"
    recommendations = LabelRowsField(
        label="Recommended items", help_text="One user's list per line: item ids, e.g. 12, 7, 40."
    )
    catalog_size = forms.IntegerField(label="Items in the catalog", min_value=1)
    categories = LabelRowsField(
        label="Categories of those items (optional)", required=False,
        help_text="Same shape: a category for each recommended item.",
    )  # fmt: skip


class PerplexityForm(CalculatorForm):
    calculator = "perplexity"
    logprobs = NumbersField(
        label="Token log-probabilities",
        help_text=f"Natural logs, 0 or below, one per token. {PASTE_HELP}",
    )


TEXT_HELP = (
    f"One sentence per line. At most {computations.MAX_TEXT_CHARACTERS:,} characters in all "
    "fields together."
)


class BleuForm(CalculatorForm):
    calculator = "bleu"
    hypotheses = LinesField(label="System outputs (hypotheses)", help_text=TEXT_HELP)
    references = LinesField(label="References", help_text="One per output line, in order.")
    second_references = LinesField(
        label="Second references (optional)", required=False,
        help_text="Another reference for each line, if you have one.",
    )  # fmt: skip
    smooth_method = forms.ChoiceField(
        label="Smoothing", initial="exp", required=False, widget=forms.RadioSelect,
        choices=[
            ("exp", "exp (sacrebleu's default)"), ("floor", "floor"), ("add-k", "add-k"),
            ("none", "none"),
        ],
    )  # fmt: skip
    case = forms.ChoiceField(
        label="Case", initial="mixed", required=False, widget=forms.RadioSelect,
        choices=[("mixed", "Compare as written (sacrebleu's default)"), ("lower", "Ignore case")],
    )  # fmt: skip

    def clean_smooth_method(self):
        return self.cleaned_data.get("smooth_method") or "exp"

    def clean(self):
        data = super().clean()
        hypotheses = data.get("hypotheses") or []
        for name in ("references", "second_references"):
            lines = data.get(name)
            if lines is not None and hypotheses and len(lines) != len(hypotheses):
                self.add_error(
                    name,
                    f"There are {len(lines):,} lines here and {len(hypotheses):,} outputs; give "
                    "one reference line per output line.",
                )
        return data

    def arguments(self) -> dict[str, Any]:
        data = super().arguments()
        data["lowercase"] = data.pop("case", "mixed") == "lower"
        second = data.pop("second_references", None)
        references = data.get("references") or []
        data["references"] = (
            [[r] for r in references]
            if second is None
            else [[r, s] for r, s in zip(references, second, strict=True)]
        )
        return data


class WordErrorRateForm(CalculatorForm):
    calculator = "word-error-rate"
    references = LinesField(
        label="Reference transcripts",
        help_text=f"{TEXT_HELP} At most {computations.MAX_SEGMENT_WORDS} words a line.",
    )
    hypotheses = LinesField(label="Recognised transcripts", help_text="One per reference line.")


class FraudLossRateForm(CalculatorForm):
    calculator = "fraud-loss-rate"
    fraud_losses = forms.FloatField(label="Fraud losses", min_value=0)
    payment_volume = forms.FloatField(label="Payment volume (same currency)", min_value=0)
    false_declines = forms.IntegerField(
        label="Legitimate payments declined (optional)", min_value=0, required=False
    )
    legitimate_attempts = forms.IntegerField(
        label="Legitimate payment attempts (optional)", min_value=0, required=False
    )


class SearchSuccessForm(CalculatorForm):
    calculator = "search-success"
    sessions = forms.IntegerField(label="Search sessions", min_value=0)
    successful_sessions = forms.IntegerField(label="Successful sessions", min_value=0)
    searches = forms.IntegerField(label="Searches (optional)", min_value=0, required=False)
    zero_result_searches = forms.IntegerField(
        label="Searches with no result (optional)", min_value=0, required=False
    )


class GrossMerchandiseValueForm(CalculatorForm):
    calculator = "gmv"
    order_values = NumbersField(label="Order values")
    marketplace_revenue = forms.FloatField(
        label="Marketplace revenue from these orders (optional)", min_value=0, required=False
    )


class EcpmForm(CalculatorForm):
    calculator = "ecpm"
    revenue = forms.FloatField(label="Ad revenue", min_value=0)
    impressions = forms.IntegerField(label="Impressions", min_value=0)
    clicks = forms.IntegerField(label="Clicks (optional)", min_value=0, required=False)


FORMS: dict[str, type[CalculatorForm]] = {
    form.calculator: form
    for form in (
        BinaryClassificationForm, MulticlassClassificationForm, RegressionForm, RankingForm,
        IoUForm, DetectionForm, SegmentationForm, DiscountedReturnForm, LatencyForm,
        ThroughputForm, EnergyForm, CTRForm, DauMauForm, RetentionForm, ConversionRateForm,
        CalibrationForm, OperatingPointForm, TopKAccuracyForm, PrevalenceForm,
        PercentageErrorsForm, PinballLossForm, HitRateForm, CoverageForm, PerplexityForm,
        BleuForm, WordErrorRateForm, FraudLossRateForm, SearchSuccessForm,
        GrossMerchandiseValueForm, EcpmForm,
    )
}  # fmt: skip


class ChooserForm(forms.Form):
    """The metric chooser's questions (the design-doc wizard asks them too): the task, then
    only those of the others that matter for it (:data:`chooser.QUESTIONS`)."""

    task = forms.ChoiceField(
        label="What does the model do?", choices=chooser.TASKS, widget=forms.RadioSelect
    )
    imbalance = forms.ChoiceField(
        label="How imbalanced are the classes?", choices=chooser.IMBALANCE, required=False,
        widget=forms.RadioSelect,
    )  # fmt: skip
    costlier = forms.ChoiceField(
        label="Which error costs more?", choices=chooser.COSTLIER, required=False,
        widget=forms.RadioSelect,
    )  # fmt: skip
    ranked = forms.BooleanField(
        label="Users see the output as a ranked list or click on it (search, feeds, ads)",
        required=False,
    )

    def __init__(self, data=None, **kwargs):
        if data is not None:
            # Unanswered questions take the neutral answer, shown checked so that the reader
            # sees what was assumed; a task alone is enough to advise.
            data = data.copy()
            for name, neutral in chooser.NEUTRAL.items():
                if not data.get(name):
                    data[name] = neutral
        super().__init__(data, **kwargs)
        # Only the questions that matter for the task are asked, and only they are checked:
        # until a task is chosen, that is the task alone.
        task = self.data.get("task")
        asked = chooser.QUESTIONS.get(task, ()) if isinstance(task, str) else ()
        for name in list(self.fields):
            if name != "task" and name not in asked:
                del self.fields[name]

    def clean(self):
        data = super().clean()
        data.setdefault("ranked", False)
        for name, neutral in chooser.NEUTRAL.items():
            data.setdefault(name, neutral)
        return data

    def query(self) -> str:
        """The query string of the answers that count, for the address bar."""
        pairs = []
        for name in self.fields:
            value = self.cleaned_data[name]
            if value is True:
                pairs.append((name, "on"))
            elif value:
                pairs.append((name, value))
        return urlencode(pairs)
