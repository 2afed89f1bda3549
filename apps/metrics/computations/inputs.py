"""What the calculators accept: size limits, pasted text, and values straight from JSON.

Every refusal is an :class:`InputError` naming the field and saying what is wrong and what is
allowed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

# Size limits. Each is sized so that the largest input it allows is computed and answered as
# JSON in about a quarter of a second of one core (measured on the 2-core development machine,
# through the API). The API documents them in its schema; the HTML calculators take less,
# because their pages show a row or a point per item (see apps.metrics.forms).
MAX_VALUES = 100_000
"""Most values accepted in one list; nested lists (queries, mask rows) count all they hold."""
MAX_SCORES = 20_000
"""Most scores for binary classification: each distinct score is a point on both curves."""
MAX_BOXES = 2_000
"""Most boxes accepted in each detection list (matching is greedy, box by box)."""
MAX_CATEGORIES = 100
"""Most distinct categories in a detection request (each is matched and averaged apart)."""
MAX_CLASSES = 1_000
"""Most distinct classes; a confusion matrix has the square of this many cells."""
MAX_BINS = 1_000
"""Most histogram bins for the latency calculator."""
MAX_COUNT = 10**15
"""Largest count accepted; beyond it the arithmetic would stop being exact."""


class InputError(ValueError):
    """A value a person supplied is not acceptable.

    ``field`` names the input (the form field or JSON key) and ``message`` says what is wrong
    with it and what is allowed, in words that can be shown next to the field.
    """

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- Parsing pasted text -------------------------------------------------------------------

# Separators are commas, semicolons and white space, in any mix; a token is what lies between.
_TOKEN = re.compile(r"[^,;\s]+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_NON_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def _tokens(text: str, field: str, limit: int) -> list[str]:
    if not isinstance(text, str):
        raise InputError(field, f"must be text, got {show_value(text)}")
    tokens = []
    # Token by token, so that megabytes of pasted text stop at the limit instead of being
    # split in full first.
    for match in _TOKEN.finditer(text):
        # Spreadsheets quote cells when copying; the quotes are not part of the value.
        token = match.group().strip("\"'")
        if not token:
            continue
        if len(tokens) == limit:
            raise InputError(
                field, f"has more than {limit:,} values; at most {limit:,} are allowed"
            )
        tokens.append(token)
    if not tokens:
        raise InputError(
            field,
            "is empty; paste at least one value, separated by commas, spaces, tabs, "
            "semicolons or new lines",
        )
    return tokens


_FIRST_LINE = re.compile(r"^.*\S.*$", re.MULTILINE)


def _is_number(token: str) -> bool:
    # NaN and infinity are numbers here, so that they are refused as such, not taken for names.
    return bool(_NUMBER.fullmatch(token)) or token.lower() in _NON_FINITE


def without_header(text: str, is_value: Callable[[str], bool] = _is_number) -> str:
    """``text`` without its first line when that line names columns, as in a CSV column copied
    with its header: the first non-blank line is a header when none of its cells is a value and
    more lines follow it. Otherwise ``text`` itself."""
    if not isinstance(text, str):
        return text
    first = _FIRST_LINE.search(text)
    if first is None or not text[first.end() :].strip():
        return text
    cells = (match.group().strip("\"'") for match in _TOKEN.finditer(first.group()))
    if any(is_value(cell) for cell in cells if cell):
        return text
    return text[first.end() :]


def parse_numbers(text: str, field: str, limit: int = MAX_VALUES) -> list[float]:
    """Read pasted numbers, such as a column copied from a spreadsheet.

    Values may be separated by commas, spaces, tabs, semicolons or new lines, in any mix, so
    CSV rows and columns both work, and a first line of column names (a CSV header) is skipped
    (see :func:`without_header`). A comma is always a separator: ``0,5`` is two numbers, not a
    decimal comma. Raises :class:`InputError` for the first token that is not a finite number,
    giving the token and its 1-based position, for empty input and for more than ``limit``
    values.
    """
    numbers = []
    for position, token in enumerate(_tokens(without_header(text), field, limit), start=1):
        where = f"'{_shorten(token)}' (item {position})"
        if token.lower() in _NON_FINITE:
            raise InputError(
                field, f"{where} is not a finite number; NaN and infinity are not allowed"
            )
        if not _NUMBER.fullmatch(token):
            raise InputError(
                field,
                f"{where} is not a number; use numbers such as 12, -0.5 or 1e-3, "
                "separated by commas, spaces, tabs, semicolons or new lines",
            )
        value = float(token)
        if not math.isfinite(value):
            raise InputError(field, f"{where} is too large; numbers must be below 1.8e308")
        numbers.append(value)
    return numbers


def parse_labels(text: str, field: str, limit: int = MAX_VALUES) -> list[str | int]:
    """Read pasted class labels, separated like :func:`parse_numbers`.

    The labels are ints when every token is a whole number, so that ``1`` and ``01`` are the
    same class; otherwise every label is kept as the string that was typed. A first line of
    column names is skipped when the labels under it are whole numbers; above text labels it
    cannot be told from a label, so it is kept.
    """
    body = without_header(text, lambda cell: bool(_INTEGER.fullmatch(cell)))
    if body is not text:
        tokens = _tokens(body, field, limit)
        if all(_INTEGER.fullmatch(token) for token in tokens):
            return _whole_numbers(tokens, field)
    tokens = _tokens(text, field, limit)
    if all(_INTEGER.fullmatch(token) for token in tokens):
        return _whole_numbers(tokens, field)
    return tokens


def _whole_numbers(tokens: list[str], field: str) -> list[int]:
    try:
        return [int(token) for token in tokens]
    except ValueError:  # more than 4,300 digits: Python's limit on reading an int
        raise InputError(field, "a label has more than 4,300 digits; shorten it.") from None


# --- Validating values that may come straight from JSON -----------------------------------


def _shorten(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def show_value(value: Any) -> str:
    """Describe a rejected value in the words of JSON, since that is what API users sent."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{_shorten(value)}'"
    if isinstance(value, Real):
        return _shorten(repr(value))
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _at(position: int | None) -> str:
    return "" if position is None else f" (item {position})"


def finite_number(value: Any, field: str, position: int | None = None) -> float:
    """``value`` as a finite float; not a number, NaN, infinity or beyond float64 is refused."""
    # bool is an int subclass, but true/false in a list of numbers is a mistake, not 1/0.
    # Plain ints and floats skip the isinstance checks, which are slow for an ABC like Real.
    if type(value) not in (int, float) and (isinstance(value, bool) or not isinstance(value, Real)):
        raise InputError(field, f"{show_value(value)}{_at(position)} is not a number")
    try:
        number = float(value)
    except OverflowError:
        raise InputError(
            field, f"{show_value(value)}{_at(position)} is too large; numbers must be below 1.8e308"
        ) from None
    if not math.isfinite(number):
        raise InputError(
            field,
            f"{show_value(value)}{_at(position)} is not a finite number; "
            "NaN and infinity are not allowed",
        )
    return number


def whole_number(
    value: Any,
    field: str,
    *,
    minimum: int,
    maximum: int = MAX_COUNT,
    position: int | None = None,
    meaning: str = "a whole number",
) -> int:
    """``value`` as a whole number from ``minimum`` to ``maximum``; ``meaning`` says what it is."""
    number = finite_number(value, field, position)
    if not number.is_integer() or not minimum <= number <= maximum:
        raise InputError(
            field,
            f"{show_value(value)}{_at(position)} is not allowed; {field} must be {meaning} "
            f"from {minimum:,} to {maximum:,}",
        )
    return int(value) if isinstance(value, Integral) else int(number)


def count_value(value: Any, field: str) -> int:
    """``value`` as a count: a whole number from 0 to MAX_COUNT."""
    return whole_number(value, field, minimum=0, meaning="a count (a whole number)")


def bounded_list(value: Any, field: str, *, limit: int, what: str) -> Sequence:
    """``value`` as a non-empty list of at most ``limit`` items (``what`` names them)."""
    if not isinstance(value, list | tuple):
        raise InputError(field, f"must be a list of {what}, got {show_value(value)}")
    if not value:
        raise InputError(field, f"is empty; give at least one of the {what}")
    if len(value) > limit:
        raise InputError(field, f"has {len(value):,} {what}; at most {limit:,} are allowed")
    return value


def finite_floats(items: Sequence, field: str) -> np.ndarray:
    """``items`` as a float64 array, or InputError naming the first item that is not a number.

    Plain ints and floats (what JSON gives) are converted in one numpy call; anything else, or
    a value numpy refuses, goes through :func:`finite_number` item by item for the message.
    """
    if set(map(type, items)) <= {int, float}:
        try:
            array = np.array(items, dtype=np.float64)
        except OverflowError:  # an int beyond float64: finite_number names it below
            pass
        else:
            if np.isfinite(array).all():
                return array
    return np.array([finite_number(item, field, i) for i, item in enumerate(items, start=1)])


def number_list(value: Any, field: str, limit: int = MAX_VALUES) -> np.ndarray:
    """A non-empty list of at most ``limit`` finite numbers, as a float64 array."""
    items = bounded_list(value, field, limit=limit, what="numbers")
    return finite_floats(items, field)


def binary_labels(value: Any, field: str) -> np.ndarray:
    """A list of 0/1 labels as a boolean array."""
    labels = number_list(value, field)
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            field,
            f"{show_value(value[i])} (item {i + 1}) is not a binary label; "
            f"{field} may contain only 0 and 1",
        )
    return labels == 1


def class_labels(value: Any, field: str) -> list[int | str]:
    """A list of class labels: all integers or all non-empty strings."""
    items = bounded_list(value, field, limit=MAX_VALUES, what="labels")
    kinds = set(map(type, items))
    if kinds == {str} and all(items):
        return list(items)
    if kinds == {int} and min(items) >= -MAX_COUNT and max(items) <= MAX_COUNT:
        return list(items)
    labels: list[int | str] = []
    for position, item in enumerate(items, start=1):
        if isinstance(item, str) and item:
            labels.append(item)
        elif (
            isinstance(item, Real)
            and not isinstance(item, bool)
            and finite_number(item, field, position).is_integer()
            and abs(item) <= MAX_COUNT
        ):
            labels.append(int(item))
        else:
            raise InputError(
                field,
                f"{show_value(item)}{_at(position)} is not a label; labels are integers or "
                "non-empty strings",
            )
    kinds = {type(label) for label in labels}
    if len(kinds) > 1:
        first_text = next(i for i, label in enumerate(labels, start=1) if isinstance(label, str))
        raise InputError(
            field,
            f"mixes numbers and text (item {first_text} is {show_value(labels[first_text - 1])}); "
            "use integers for every label or text for every label",
        )
    return labels


def same_length(
    first: Sequence | np.ndarray,
    first_field: str,
    second: Sequence | np.ndarray,
    second_field: str,
) -> None:
    """Refuse two lists of different lengths, naming the second."""
    if len(first) != len(second):
        raise InputError(
            second_field,
            f"{first_field} has {len(first):,} values but {second_field} has {len(second):,}; "
            "they must have the same length",
        )
