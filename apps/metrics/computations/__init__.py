"""Metric computations shared by the HTML calculators and the JSON API.

Pure Python and numpy: no Django, and none of scikit-learn, pycocotools, sacrebleu or jiwer (the
tests use them as oracles, so the numbers here must agree with them to 1e-9).

Conventions every calculator follows:

* Inputs are validated here, because they may arrive straight from JSON. A bad value raises
  :class:`InputError` naming the field and saying what is wrong and what is allowed.
* Every result is a dict of plain Python values (floats, ints, strings, lists, dicts, None) that
  ``json.dumps`` accepts, with a ``"warnings"`` list of sentences.
* A metric that is undefined for the given data is ``None`` and a warning says why. It is never
  a silent 0 and never an exception. Where scikit-learn would substitute a number (0 for MCC,
  1 or 0 for R² of a constant target), we report None instead and say so.
* A value that overflows 64-bit floating point is reported as None with a warning too, so the
  JSON never contains NaN or Infinity.

One module per family of metrics (classification, regression, ranking, vision, reinforcement,
systems, product), and calibration and text (language and speech) beside them; ``inputs``
holds the size limits and validates what comes in, ``outputs`` turns results into plain JSON
values. Import from this package, which names every calculator.
"""

from __future__ import annotations

from collections.abc import Callable

from apps.metrics.computations.calibration import calibration
from apps.metrics.computations.classification import (
    binary_classification,
    multiclass_classification,
    operating_point,
    prevalence,
    top_k_accuracy,
)
from apps.metrics.computations.inputs import (
    MAX_BINS,
    MAX_BOXES,
    MAX_CATEGORIES,
    MAX_CLASSES,
    MAX_COUNT,
    MAX_SCORES,
    MAX_VALUES,
    InputError,
    parse_labels,
    parse_numbers,
    without_header,
)
from apps.metrics.computations.product import (
    conversion_rate,
    ctr,
    dau_mau,
    ecpm,
    fraud_loss_rate,
    gross_merchandise_value,
    retention,
    search_success,
)
from apps.metrics.computations.ranking import coverage_and_diversity, hit_rate_at_k, ranking
from apps.metrics.computations.regression import percentage_errors, pinball_loss, regression
from apps.metrics.computations.reinforcement import discounted_return
from apps.metrics.computations.systems import energy, latency, throughput
from apps.metrics.computations.text import (
    MAX_REFERENCES,
    MAX_SEGMENT_WORDS,
    MAX_SEGMENTS,
    MAX_TEXT_CHARACTERS,
    bleu,
    perplexity,
    word_error_rate,
)
from apps.metrics.computations.vision import detection, iou, segmentation

__all__ = [
    "CALCULATORS",
    "MAX_BINS",
    "MAX_BOXES",
    "MAX_CATEGORIES",
    "MAX_CLASSES",
    "MAX_COUNT",
    "MAX_REFERENCES",
    "MAX_SCORES",
    "MAX_SEGMENTS",
    "MAX_SEGMENT_WORDS",
    "MAX_TEXT_CHARACTERS",
    "MAX_VALUES",
    "InputError",
    "binary_classification",
    "bleu",
    "calibration",
    "conversion_rate",
    "coverage_and_diversity",
    "ctr",
    "dau_mau",
    "detection",
    "discounted_return",
    "ecpm",
    "energy",
    "fraud_loss_rate",
    "gross_merchandise_value",
    "hit_rate_at_k",
    "iou",
    "latency",
    "multiclass_classification",
    "operating_point",
    "parse_labels",
    "parse_numbers",
    "percentage_errors",
    "perplexity",
    "pinball_loss",
    "prevalence",
    "ranking",
    "regression",
    "retention",
    "search_success",
    "segmentation",
    "throughput",
    "top_k_accuracy",
    "without_header",
    "word_error_rate",
]

CALCULATORS: dict[str, Callable[..., dict]] = {
    "binary-classification": binary_classification,
    "multiclass-classification": multiclass_classification,
    "regression": regression,
    "ranking": ranking,
    "iou": iou,
    "detection": detection,
    "segmentation": segmentation,
    "discounted-return": discounted_return,
    "latency": latency,
    "throughput": throughput,
    "energy": energy,
    "ctr": ctr,
    "dau-mau": dau_mau,
    "retention": retention,
    "conversion-rate": conversion_rate,
    "calibration": calibration,
    "operating-point": operating_point,
    "top-k-accuracy": top_k_accuracy,
    "prevalence": prevalence,
    "percentage-errors": percentage_errors,
    "pinball-loss": pinball_loss,
    "hit-rate": hit_rate_at_k,
    "coverage": coverage_and_diversity,
    "perplexity": perplexity,
    "bleu": bleu,
    "word-error-rate": word_error_rate,
    "fraud-loss-rate": fraud_loss_rate,
    "search-success": search_success,
    "gmv": gross_merchandise_value,
    "ecpm": ecpm,
}
"""Every calculator by the slug used in URLs and the API."""
