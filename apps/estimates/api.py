"""``POST /api/estimates/<name>``: the concept pages' estimators as JSON.

The router is mounted on the site's one API (``apps.metrics.api.api``) and so inherits its
throttle: the same per-address and per-account quota as the calculators, and a 429 with
``Retry-After`` beyond it. Each estimate's body schema comes from its declared inputs, so the
bounds are the ones the HTML form enforces. A value out of range, or a combination the estimate
refuses, is a 422 whose ``loc`` ends with the field's name.
"""

from __future__ import annotations

from typing import Annotated, Any, get_type_hints

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import ValidationError
from pydantic import Field, create_model

from apps.estimates.computations import ESTIMATES, Estimate, EstimateError, Quantity, show

router = Router(tags=["estimates"])


def _annotation(quantity: Quantity) -> Any:
    if quantity.whole:
        number = Annotated[int, Field(ge=quantity.minimum, le=quantity.maximum)]
    else:
        number = Annotated[
            float, Field(ge=quantity.minimum, le=quantity.maximum, allow_inf_nan=False)
        ]
    if quantity.max_items:
        return Annotated[list[number], Field(min_length=1, max_length=quantity.max_items)]
    return number


def _field(quantity: Quantity) -> tuple[Any, Any]:
    each = f"1 to {quantity.max_items} values, each " if quantity.max_items else ""
    description = (
        f"{quantity.labelled}: {each}{show(quantity.minimum)} to {show(quantity.maximum)}. "
        f"{quantity.help}"
    ).strip()
    example = list(quantity.default) if quantity.max_items else quantity.default
    if quantity.optional:
        return _annotation(quantity) | None, Field(
            None, description=description, examples=[example]
        )
    return _annotation(quantity), Field(description=description, examples=[example])


def _schema(estimate: Estimate) -> type[Schema]:
    name = "".join(part.title() for part in estimate.name.split("-")) + "In"
    fields = {quantity.name: _field(quantity) for quantity in estimate.inputs}
    return create_model(name, __base__=Schema, **fields)


def _endpoint(estimate: Estimate, schema: type[Schema]):
    def compute(request: HttpRequest, payload):
        try:
            return estimate.run(**payload.model_dump())
        except EstimateError as exc:
            # The API's handler answers 422 with ``loc`` and ``msg``, as for a schema error.
            raise ValidationError([{"loc": ["body", exc.field], "msg": exc.message}]) from None

    # Ninja reads the body schema from the annotation.
    compute.__annotations__["payload"] = schema
    compute.__name__ = "estimate_" + estimate.name.replace("-", "_")
    return compute


# The API's error shape, documented as the calculators document it (apps.metrics.api holds
# the handlers; this app sits below it and cannot import from it).
_ERROR = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                },
            },
        }
    },
}


def _refusal(description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ERROR}},
        **extra,
    }


ERROR_RESPONSES = {
    "400": _refusal("The body is not a JSON object."),
    "413": _refusal("The body is larger than the upload limit."),
    "422": _refusal(
        "A value out of range, or a combination the estimate refuses: `loc` ends with the "
        "field and `msg` says what is allowed."
    ),
    "429": _refusal(
        "Over the API's rate limit (see the API's description).",
        headers={
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "schema": {"type": "integer"},
            }
        },
    ),
}

for _estimate in ESTIMATES.values():
    router.post(
        f"/{_estimate.name}",
        response=get_type_hints(_estimate.function)["return"],
        summary=_estimate.title,
        description=(_estimate.function.__doc__ or "").strip(),
        openapi_extra={"responses": ERROR_RESPONSES},
    )(_endpoint(_estimate, _schema(_estimate)))
