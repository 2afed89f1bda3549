"""Numbers as engineers write them in interviews: "35k QPS", "1.2M", "3e6", "10 GB/day".

A number answer is kept exactly as typed; this module checks it and says what it means
("35,000 QPS") so the writer sees the value the shorthand stands for.

A rate per period ("10 GB/day") is a unit of its own: a prompt accepts one only when its units
list it, because only some quantities are rates. Data written per day is; a latency, the
memory a model has, or queries per second (already per second) are not.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Anchored at the start, no quantifier that can re-scan what another took: linear in the input.
_NUMBER = re.compile(r"[-+]?(?:\d[\d,_]*)?(?:\.\d+)?(?:[eE][-+]?\d+)?")
# A multiplier written straight after the digits: 35k, 1.2M, 3bn.
_SCALE = re.compile(r"(k|K|M|bn|B|T)(?![A-Za-z])")
# Commas in a number group its thousands, and nothing else: "1,5" is not 15 (nor 1.5).
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
SCALES = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "bn": 1e9, "T": 1e12}
PERIODS = {
    "s": "second", "sec": "second", "second": "second",
    "min": "minute", "minute": "minute", "h": "hour", "hr": "hour", "hour": "hour",
    "day": "day", "d": "day", "week": "week", "wk": "week", "month": "month", "mo": "month",
    "year": "year", "yr": "year",
}  # fmt: skip
# A float holds integers exactly only below 2**53 (about 9e15): past this, show a figure in
# powers of ten rather than digits it does not have ("1e27", not "1,000…013,287,555,072").
EXACT_BELOW = 1e15
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class Number:
    value: float
    unit: str  # as allowed ("GB"), or "" when the prompt has no units
    per: str = ""  # "day" in "10 GB/day"

    def __str__(self) -> str:
        text = f"{_figure(self.value)} {self.unit}".strip()
        return f"{text} per {self.per}" if self.per else text


def _figure(value: float) -> str:
    """35000 → "35,000", 2.5 → "2.5", 1234567.8 → "1,234,567.8"; in powers of ten past
    what a float holds exactly, or below 0.0001 (1e27 → "1", a multiplication sign, "10²⁷")."""
    if value < EXACT_BELOW and value == int(value):
        return f"{value:,.0f}"
    if 1e6 <= value < EXACT_BELOW:  # "1.2345678M": its digits, not "1.23457e+06"
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    shown = f"{value:,.6g}"
    if "e" not in shown:
        return shown
    mantissa, exponent = f"{value:.5e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa} × 10{str(int(exponent)).translate(SUPERSCRIPT)}"


class NumberError(ValueError):
    """What is wrong with a number answer, worded for the writer."""


def parse(text: str, units: list[str]) -> Number:
    """The number an answer stands for, or :class:`NumberError` saying what is wrong."""
    text = text.strip()
    match = _NUMBER.match(text)
    whole = re.split(r"[.eE]", match.group(0).lstrip("+-"))[0]
    if "," in whole and not _THOUSANDS.fullmatch(whole):
        raise NumberError(
            "A comma only separates thousands (“12,000”); for a decimal, write a point (“1.5”)."
        )
    # "12 000 QPS" would be 12 with the unit "000 QPS": say what to write instead.
    if (
        whole
        and text[match.end() : match.end() + 1].isspace()
        and text[match.end() :].lstrip()[:1].isdigit()
    ):
        raise NumberError("Write the number without spaces inside it (“12000” or “12,000”).")
    digits = match.group(0).replace(",", "").replace("_", "")
    try:
        value = float(digits)
    except ValueError:
        allowed = f" followed by {' or '.join(units)}" if units else ""
        raise NumberError(f"Enter a number{allowed}, for example “{_example(units)}”.") from None
    rest = text[match.end() :]
    if scale := _SCALE.match(rest):
        value *= SCALES[scale.group(1)]
        rest = rest[scale.end() :]
    if value < 0:
        raise NumberError("Enter zero or a positive number.")
    if not math.isfinite(value):  # "1e309", or "1e308k": past what a float holds
        raise NumberError("That number is too large to work with; write a smaller one.")
    unit, per = _rate(rest.strip())
    typed = f"{unit}/{per}" if per else unit
    if per and not rate_unit(units):
        allowed = f"; use {', '.join(units)}" if units else ""
        raise NumberError(f"“{_clip(typed)}” does not fit here: this answer is not a rate per "
                          f"{per}{allowed}.")  # fmt: skip
    if units and unit:
        known = {u.lower(): u for u in units}
        if typed.lower() not in known:
            raise NumberError(f"“{_clip(typed)}” is not a unit here; use {', '.join(units)}.")
        unit = _rate(known[typed.lower()])[0]
    return Number(value, unit, per)


def rate_unit(units: list[str]) -> str:
    """The first of ``units`` that is a rate per period ("GB/day"), or "" when none is."""
    return next((unit for unit in units if _rate(unit)[1]), "")


def _clip(unit: str) -> str:
    return unit if len(unit) <= 20 else unit[:19] + "…"


def _rate(unit: str) -> tuple[str, str]:
    """ "GB/day" or "GB per day" → ("GB", "day"); anything else is all unit. String
    operations, not a regex: a pattern here would backtrack on a long run of slashes."""
    for separator in ("/", " per "):
        head, found, period = unit.lower().rpartition(separator)
        if found and period.strip() in PERIODS:
            return unit[: len(head)].strip(), PERIODS[period.strip()]
    return unit, ""


def check(text: str, units: list[str]) -> str:
    """ "" when ``text`` is a valid number answer, else what is wrong."""
    try:
        parse(text, units)
    except NumberError as error:
        return str(error)
    return ""


def meaning(text: str, units: list[str]) -> str:
    """ "35,000 QPS" for "35k QPS"; "" when the text is invalid or already says it plainly."""
    try:
        number = parse(text, units)
    except NumberError:
        return ""
    shown = str(number)
    return "" if shown.replace(",", "") == " ".join(text.split()).replace(",", "") else shown


def _example(units: list[str]) -> str:
    return f"1200 {units[0]}" if units else "1200"
