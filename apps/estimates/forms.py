"""A form per estimate, built from the estimate's declared inputs.

Each field carries the input's label and unit, its range (as validators and as the number
input's min and max) and help text; every error message names the field as it is labelled.
Forms are bound to a query string (a GET form), so a filled-in estimator is a shareable URL.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from apps.core.forms import NumberBox
from apps.estimates.computations import ESTIMATES, Estimate, EstimateError, Quantity, show

NUMBER_SEPARATORS = re.compile(r"[\s,;]+")


class QuantityField(forms.FloatField):
    """A number within a :class:`Quantity`'s range, with messages that name the field."""

    def __init__(self, quantity: Quantity, **kwargs):
        self.quantity = quantity
        # Validator messages are %-formatted with their limit, hence the doubled % signs.
        out_of_range = quantity.range_message().replace("%", "%%")
        super().__init__(
            label=quantity.labelled,
            help_text=quantity.help,
            required=not quantity.optional,
            min_value=quantity.minimum,
            max_value=quantity.maximum,
            step_size=1 if quantity.whole else None,
            widget=NumberBox(whole=quantity.whole),
            error_messages={
                "required": f"Enter {quantity.labelled}.",
                "invalid": f"{quantity.labelled} must be a number, such as {example(quantity)}.",
                "min_value": out_of_range,
                "max_value": out_of_range,
                "step_size": out_of_range,
            },
            **kwargs,
        )

    def to_python(self, value):
        number = super().to_python(value)
        if number is not None and self.quantity.whole and number.is_integer():
            return int(number)
        return number

    def prepare_value(self, value):
        return show_plain(value) if isinstance(value, int | float) else value


class QuantityListField(forms.CharField):
    """Several numbers in one text box, each within the quantity's range."""

    def __init__(self, quantity: Quantity, **kwargs):
        self.quantity = quantity
        super().__init__(
            label=quantity.labelled,
            help_text=quantity.help,
            max_length=40 * quantity.max_items,
            widget=forms.TextInput(attrs={"inputmode": "decimal", "spellcheck": "false"}),
            error_messages={
                "required": f"Enter {quantity.labelled}.",
                "max_length": f"{quantity.labelled}: that is too long; give at most "
                f"{quantity.max_items} numbers.".replace("%", "%%"),
            },
            **kwargs,
        )

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(show_plain(v) for v in value)
        return value

    def clean(self, value):
        text = super().clean(value)
        numbers = []
        for word in NUMBER_SEPARATORS.split(text.strip()):
            try:
                numbers.append(float(word))
            except ValueError:
                raise ValidationError(
                    f"{self.quantity.labelled}: “{word}” is not a number; separate numbers "
                    "with commas or spaces.",
                    code="invalid",
                ) from None
        try:
            self.quantity.check(numbers)
        except EstimateError as exc:
            raise ValidationError(exc.message, code="range") from None
        return numbers


def show_plain(value: float) -> str:
    """A number as an input's value: 10000000 and 0.5, never 1e7 or 10,000,000."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def example(quantity: Quantity) -> str:
    default = quantity.default
    if isinstance(default, int | float):
        return show(default)
    return show(quantity.maximum)


class EstimatorForm(forms.Form):
    """Base: subclasses are made by :func:`_form_class`, one per estimate."""

    estimate: Estimate

    def __init__(self, data: dict[str, Any]):
        prefix = self.estimate.name.replace("-", "_")
        super().__init__(data, auto_id=f"id_{prefix}_%s")

    @classmethod
    def from_query(cls, query: QueryDict | None = None) -> EstimatorForm:
        """Bound to the defaults, overridden by whichever inputs the query string gives."""
        data: dict[str, Any] = {
            name: field.prepare_value(field.quantity.default)
            for name, field in cls.base_fields.items()
            if field.quantity.default is not None
        }
        for name in cls.base_fields:
            if query is not None and name in query:
                data[name] = query[name]
        return cls(data)

    def result(self) -> Any | None:
        """The estimate, or None with each problem attached to the field it concerns."""
        if not self.is_valid():
            return None
        try:
            return self.estimate.run(**self.cleaned_data)
        except EstimateError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
            return None


def _field(quantity: Quantity) -> forms.Field:
    return QuantityListField(quantity) if quantity.max_items else QuantityField(quantity)


def _form_class(estimate: Estimate) -> type[EstimatorForm]:
    name = "".join(part.title() for part in estimate.name.split("-")) + "Form"
    fields = {quantity.name: _field(quantity) for quantity in estimate.inputs}
    return type(name, (EstimatorForm,), {"estimate": estimate, **fields})


FORMS: dict[str, type[EstimatorForm]] = {
    name: _form_class(estimate) for name, estimate in ESTIMATES.items()
}
"""A form class per estimate, by the estimate's name."""
