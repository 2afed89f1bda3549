"""Specification of apps.metrics.computations.

scikit-learn, scipy, pycocotools, sacrebleu and jiwer are the oracles: on generated inputs the
module must agree with them to 1e-9 wherever a metric is defined. Where it deliberately differs
(None and a warning instead of a substituted number), the tests pin that down instead.
"""

import contextlib
import io
import json
import math
import warnings

import jiwer
import numpy as np
import pytest
import sacrebleu
import scipy.special
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from sklearn import metrics
from sklearn.calibration import calibration_curve

from apps.metrics.computations import (
    CALCULATORS,
    MAX_BOXES,
    MAX_CATEGORIES,
    MAX_REFERENCES,
    MAX_SCORES,
    MAX_SEGMENT_WORDS,
    MAX_SEGMENTS,
    MAX_TEXT_CHARACTERS,
    MAX_VALUES,
    InputError,
    binary_classification,
    bleu,
    calibration,
    conversion_rate,
    coverage_and_diversity,
    ctr,
    dau_mau,
    detection,
    discounted_return,
    ecpm,
    energy,
    fraud_loss_rate,
    gross_merchandise_value,
    hit_rate_at_k,
    iou,
    latency,
    multiclass_classification,
    operating_point,
    parse_labels,
    parse_numbers,
    percentage_errors,
    perplexity,
    pinball_loss,
    prevalence,
    ranking,
    regression,
    retention,
    search_success,
    segmentation,
    throughput,
    top_k_accuracy,
    without_header,
    word_error_rate,
)

PROPERTY = settings(deadline=None, max_examples=100, database=None)


def close(ours, oracle) -> bool:
    return math.isclose(ours, float(oracle), rel_tol=1e-9, abs_tol=1e-12)


def quietly(function, *args, **kwargs):
    """Call an oracle without its UndefinedMetricWarnings or progress prints."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def mentions(result: dict, *words: str) -> bool:
    return any(all(word in warning for word in words) for warning in result["warnings"])


# --- Binary classification -------------------------------------------------------------------

# A few fixed values make ties (and exact 0 and 1 for log loss clipping) common.
probability = st.one_of(st.sampled_from([0.0, 0.2, 0.5, 0.8, 1.0]), st.floats(0, 1))


@st.composite
def binary_cases(draw, score=probability):
    n = draw(st.integers(1, 40))
    y_true = draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))
    y_score = draw(st.lists(score, min_size=n, max_size=n))
    threshold = draw(st.one_of(st.sampled_from([0.0, 0.5, 0.8, 1.0]), st.floats(0, 1)))
    beta = draw(st.floats(0.1, 10))
    return y_true, y_score, threshold, beta


@PROPERTY
@given(binary_cases())
def test_binary_classification_matches_scikit_learn(case):
    y_true, y_score, threshold, beta = case
    result = binary_classification(y_true, y_score=y_score, threshold=threshold, beta=beta)
    y_pred = (np.array(y_score) >= threshold).astype(int)

    tn, fp, fn, tp = metrics.confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    assert (result["tn"], result["fp"], result["fn"], result["tp"]) == (tn, fp, fn, tp)
    assert close(result["accuracy"], metrics.accuracy_score(y_true, y_pred))
    assert close(result["log_loss"], metrics.log_loss(y_true, y_score, labels=[0, 1]))
    oracles = {
        "precision": lambda: metrics.precision_score(y_true, y_pred, zero_division=0),
        "recall": lambda: metrics.recall_score(y_true, y_pred, zero_division=0),
        "specificity": lambda: metrics.recall_score(y_true, y_pred, pos_label=0),
        "f1": lambda: metrics.f1_score(y_true, y_pred),
        "f_beta": lambda: metrics.fbeta_score(y_true, y_pred, beta=beta),
        "mcc": lambda: metrics.matthews_corrcoef(y_true, y_pred),
        "balanced_accuracy": lambda: metrics.balanced_accuracy_score(y_true, y_pred),
        "roc_auc": lambda: metrics.roc_auc_score(y_true, y_score),
        "average_precision": lambda: metrics.average_precision_score(y_true, y_score),
    }
    for key, oracle in oracles.items():
        if result[key] is not None:
            assert close(result[key], quietly(oracle)), key

    if len(set(y_true)) == 2:
        fpr, tpr, roc_thresholds = metrics.roc_curve(y_true, y_score, drop_intermediate=False)
        assert [p["threshold"] for p in result["roc_curve"]] == [None, *roc_thresholds[1:]]
        assert [p["fpr"] for p in result["roc_curve"]] == pytest.approx(fpr, rel=1e-9, abs=1e-12)
        assert [p["tpr"] for p in result["roc_curve"]] == pytest.approx(tpr, rel=1e-9, abs=1e-12)
        precision, recall, pr_thresholds = metrics.precision_recall_curve(y_true, y_score)
        assert [p["threshold"] for p in result["pr_curve"]] == [*pr_thresholds, None]
        ours_precision = [p["precision"] for p in result["pr_curve"]]
        assert ours_precision == pytest.approx(precision, rel=1e-9, abs=1e-12)
        ours_recall = [p["recall"] for p in result["pr_curve"]]
        assert ours_recall == pytest.approx(recall, rel=1e-9, abs=1e-12)
    else:
        assert result["roc_auc"] is None
        assert result["average_precision"] is None
        assert result["roc_curve"] is None and result["pr_curve"] is None
        assert mentions(result, "only one class")


@PROPERTY
@given(binary_cases(score=st.floats(-5, 5)))
def test_binary_scores_need_not_be_probabilities(case):
    y_true, y_score, threshold, _ = case
    assume(min(y_score) < 0 or max(y_score) > 1)
    assume(len(set(y_true)) == 2)
    result = binary_classification(y_true, y_score=y_score, threshold=threshold)
    assert result["log_loss"] is None
    assert mentions(result, "log_loss", "probabilities in [0, 1]")
    assert close(result["roc_auc"], metrics.roc_auc_score(y_true, y_score))
    assert close(result["average_precision"], metrics.average_precision_score(y_true, y_score))


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from([0, 1]), st.sampled_from([0, 1])), min_size=1))
def test_binary_hard_predictions_match_scikit_learn_and_have_no_ranking_metrics(pairs):
    y_true, y_pred = (list(column) for column in zip(*pairs, strict=True))
    result = binary_classification(y_true, y_pred=y_pred)
    assert close(result["accuracy"], metrics.accuracy_score(y_true, y_pred))
    if result["f1"] is not None:
        assert close(result["f1"], quietly(metrics.f1_score, y_true, y_pred))
    if result["mcc"] is not None:
        assert close(result["mcc"], metrics.matthews_corrcoef(y_true, y_pred))
    assert result["threshold"] is None
    for key in ("roc_auc", "average_precision", "log_loss", "roc_curve", "pr_curve"):
        assert result[key] is None
    assert mentions(result, "need scores")


def test_binary_hand_checked_example():
    result = binary_classification([1, 1, 0, 0, 1], y_score=[0.9, 0.4, 0.6, 0.1, 0.5])
    assert (result["tp"], result["fp"], result["tn"], result["fn"]) == (2, 1, 1, 1)
    assert result["precision"] == pytest.approx(2 / 3)
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["specificity"] == pytest.approx(1 / 2)
    assert result["roc_curve"][0] == {"fpr": 0.0, "tpr": 0.0, "threshold": None}
    assert result["pr_curve"][-1] == {"recall": 0.0, "precision": 1.0, "threshold": None}


def test_binary_log_loss_clips_certain_mistakes_like_current_scikit_learn():
    result = binary_classification([1, 0], y_score=[0.0, 1.0])
    assert result["log_loss"] == pytest.approx(-math.log(np.finfo(float).eps), rel=1e-12)


# --- Multiclass classification ---------------------------------------------------------------


@st.composite
def multiclass_cases(draw):
    alphabet = draw(st.sampled_from([[0, 1, 2, 3, 4], ["cat", "dog", "emu"], [-1, 7]]))
    n = draw(st.integers(1, 40))
    y_true = draw(st.lists(st.sampled_from(alphabet), min_size=n, max_size=n))
    y_pred = draw(st.lists(st.sampled_from(alphabet), min_size=n, max_size=n))
    return y_true, y_pred


@PROPERTY
@given(multiclass_cases())
def test_multiclass_classification_matches_scikit_learn(case):
    y_true, y_pred = case
    result = multiclass_classification(y_true, y_pred)
    labels = result["labels"]
    assert labels == sorted(set(y_true) | set(y_pred))
    assert close(result["accuracy"], metrics.accuracy_score(y_true, y_pred))
    oracle_matrix = quietly(metrics.confusion_matrix, y_true, y_pred, labels=labels)
    assert result["confusion_matrix"] == oracle_matrix.tolist()
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average=None, zero_division=0.0
    )
    for i, label in enumerate(labels):
        per_class = result["per_class"][str(label)]
        assert per_class["support"] == support[i]
        assert close(per_class["f1"], f1[i])
        for key, oracle in (("precision", precision[i]), ("recall", recall[i])):
            if per_class[key] is None:
                assert oracle == 0.0
            else:
                assert close(per_class[key], oracle)
    for average in ("macro", "micro", "weighted"):
        oracle = metrics.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0.0
        )
        for key, value in zip(("precision", "recall", "f1"), oracle, strict=False):
            assert close(result[average][key], value), (average, key)


def test_multiclass_reports_undefined_per_class_values_but_averages_them_as_zero():
    result = multiclass_classification(["a", "b", "b"], ["a", "a", "c"])
    assert result["per_class"]["b"]["precision"] is None
    assert mentions(result, "precision", "b", "never predicted")
    assert result["per_class"]["c"]["recall"] is None
    assert mentions(result, "recall", "c", "absent from y_true")
    # a: precision 1/2; b and c count as 0.
    assert result["macro"]["precision"] == pytest.approx((0.5 + 0 + 0) / 3)


# --- Regression ------------------------------------------------------------------------------

# Multiples of 1/8 make every sum exact, so any summation order gives the same bits; the second
# strategy adds general floats where the spread is wide enough that summation order cannot
# matter at 1e-9.
exact = st.integers(-800, 800).map(lambda i: i / 8)
general = st.floats(-1e3, 1e3, allow_subnormal=False)


@st.composite
def regression_cases(draw):
    value = draw(st.sampled_from([exact, general]))
    n = draw(st.integers(1, 40))
    y_true = draw(st.lists(value, min_size=n, max_size=n))
    y_pred = draw(st.lists(value, min_size=n, max_size=n))
    delta = draw(st.floats(0.01, 50))
    n_features = draw(st.integers(0, 5))
    if value is general:
        assume(np.ptp(y_true) == 0 or np.ptp(y_true) >= 1)
    return y_true, y_pred, delta, n_features


@PROPERTY
@given(regression_cases())
def test_regression_matches_scikit_learn_and_scipy(case):
    y_true, y_pred, delta, n_features = case
    result = regression(y_true, y_pred, n_features=n_features, delta=delta)
    n = len(y_true)
    assert result["n"] == n
    assert close(result["mse"], metrics.mean_squared_error(y_true, y_pred))
    assert close(result["rmse"], metrics.root_mean_squared_error(y_true, y_pred))
    assert close(result["mae"], metrics.mean_absolute_error(y_true, y_pred))
    residual = np.array(y_true) - np.array(y_pred)
    assert close(result["huber"], np.mean(scipy.special.huber(delta, residual)))
    if np.ptp(y_true) == 0:
        assert result["r2"] is None
        assert mentions(result, "r2", "zero variance")
        return
    r2 = metrics.r2_score(y_true, y_pred)
    assert close(result["r2"], r2)
    if n - n_features - 1 > 0:
        assert close(result["adjusted_r2"], 1 - (1 - r2) * (n - 1) / (n - n_features - 1))
    else:
        assert result["adjusted_r2"] is None
        assert mentions(result, "adjusted_r2", "n - n_features - 1 > 0")


def test_regression_hand_checked_example():
    result = regression([3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0], n_features=1, delta=0.75)
    assert result["mse"] == pytest.approx(0.375)
    assert result["mae"] == pytest.approx(0.5)
    # Residuals 0.5, -0.5, 0, -1: three inside delta, one outside.
    assert result["huber"] == pytest.approx((0.125 + 0.125 + 0 + 0.75 * (1 - 0.375)) / 4)


# --- Ranking ---------------------------------------------------------------------------------


@st.composite
def ranking_cases(draw, min_length=2):
    n_queries = draw(st.integers(1, 4))
    score = st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(-10, 10))
    y_true, y_score = [], []
    for _ in range(n_queries):
        n = draw(st.integers(min_length, 8))
        y_true.append(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
        y_score.append(draw(st.lists(score, min_size=n, max_size=n)))
    return y_true, y_score, draw(st.integers(1, 10))


@PROPERTY
@given(ranking_cases())
def test_ranking_ndcg_matches_scikit_learn_over_queries_with_relevant_items(case):
    y_true, y_score, k = case
    result = ranking(y_true, y_score, k)
    per_query = [
        metrics.ndcg_score([grades], [scores], k=k)
        for grades, scores in zip(y_true, y_score, strict=True)
        if any(grades)
    ]
    assert result["queries_evaluated"] == len(per_query)
    if per_query:
        assert close(result["ndcg_at_k"], np.mean(per_query))
    else:
        assert result["ndcg_at_k"] is None
        assert mentions(result, "no relevant item")


@PROPERTY
@given(ranking_cases())
def test_ranking_exponential_gain_is_scikit_learn_ndcg_of_two_to_the_grade_minus_one(case):
    y_true, y_score, k = case
    result = ranking(y_true, y_score, k, gain="exponential")
    per_query = [
        metrics.ndcg_score([2.0 ** np.array(grades) - 1], [scores], k=k)
        for grades, scores in zip(y_true, y_score, strict=True)
        if any(grades)
    ]
    assert result["gain"] == "exponential"
    if per_query:
        assert close(result["ndcg_at_k"], np.mean(per_query))
    else:
        assert result["ndcg_at_k"] is None


def test_ranking_exponential_gain_gives_the_ndcg_pages_second_number():
    # fixtures/metrics/ndcg.md: grades 3, 2, 1, 0 scored 0.7, 0.9, 0.2, 0.5 at k = 3.
    y_true, y_score = [[3, 2, 1, 0]], [[0.7, 0.9, 0.2, 0.5]]
    assert ranking(y_true, y_score, 3)["ndcg_at_k"] == pytest.approx(0.817494, abs=1e-6)
    assert ranking(y_true, y_score, 3, gain="exponential")["ndcg_at_k"] == pytest.approx(
        0.789596, abs=1e-6
    )


def test_ranking_exponential_gain_of_a_huge_grade_is_null_with_a_reason():
    result = ranking([[2000, 1]], [[0.3, 0.2]], k=1, gain="exponential")
    assert result["ndcg_at_k"] is None
    assert mentions(result, "ndcg_at_k", "64-bit")
    assert result["precision_at_k"] == 1.0


@PROPERTY
@given(ranking_cases(), st.randoms())
def test_ranking_average_precision_over_whole_list_matches_label_ranking_average_precision(
    case, random
):
    y_true, _, _ = case
    # Distinct scores, because scikit-learn breaks ties differently from our stable order.
    y_score = [random.sample(range(100), len(grades)) for grades in y_true]
    assume(any(any(grades) for grades in y_true))
    result = ranking(y_true, y_score, k=8)
    per_query = [
        metrics.label_ranking_average_precision_score([np.array(grades) > 0], [scores])
        for grades, scores in zip(y_true, y_score, strict=True)
        if any(grades)
    ]
    assert close(result["map_at_k"], np.mean(per_query))


@PROPERTY
@given(st.integers(3, 8), st.integers(1, 4), st.integers(1, 10), st.randoms())
def test_ranking_with_one_relevant_item_matches_top_k_accuracy(n, n_queries, k, random):
    relevant = [random.randrange(n) for _ in range(n_queries)]
    y_true = [[int(i == r) for i in range(n)] for r in relevant]
    y_score = [random.sample(range(100), n) for _ in range(n_queries)]
    result = ranking(y_true, y_score, k)
    hit_rate = quietly(
        metrics.top_k_accuracy_score, relevant, y_score, k=min(k, n), labels=list(range(n))
    )
    assert close(result["recall_at_k"], hit_rate)
    assert close(result["precision_at_k"], hit_rate / k)
    # With one relevant item, MRR is label ranking average precision.
    lrap = metrics.label_ranking_average_precision_score(y_true, y_score)
    assert close(result["mrr"], lrap)


def reference_ranking(y_true, y_score, k):
    """The former per-query loop, kept as the oracle for the vectorised ranking."""
    metrics_per_query = {key: [] for key in RANKING_KEYS}
    for grades, scores in zip(y_true, y_score, strict=True):
        grades, scores = np.array(grades, dtype=float), np.array(scores, dtype=float)
        relevant = grades > 0
        n_relevant = int(np.count_nonzero(relevant))
        ranked_relevant = relevant[np.argsort(-scores, kind="stable")]
        hits = ranked_relevant[:k]
        hits_cumulative = np.cumsum(hits)
        # Precision is defined, and 0, for a query without a relevant item; the rest are not.
        metrics_per_query["precision_at_k"].append(hits_cumulative[-1] / k)
        if n_relevant == 0:
            continue
        discount = 1 / (np.log(np.arange(grades.size) + 2) / np.log(2))
        discount[k:] = 0
        ideal = discount.dot(np.sort(grades)[::-1])
        # Tied scores share their group's average gain.
        _, group, counts = np.unique(-scores, return_inverse=True, return_counts=True)
        group_gain = np.zeros(counts.size)
        np.add.at(group_gain, group, grades)
        group_gain /= counts
        discount_cumsum = np.cumsum(discount)
        group_end = np.cumsum(counts) - 1
        discount_sums = np.empty(counts.size)
        discount_sums[0] = discount_cumsum[group_end[0]]
        discount_sums[1:] = np.diff(discount_cumsum[group_end])
        metrics_per_query["ndcg_at_k"].append((group_gain * discount_sums).sum() / ideal)

        metrics_per_query["recall_at_k"].append(hits_cumulative[-1] / n_relevant)
        metrics_per_query["mrr"].append(1 / (int(np.argmax(ranked_relevant)) + 1))
        precision_at_i = hits_cumulative / np.arange(1, hits.size + 1)
        metrics_per_query["map_at_k"].append(np.sum(precision_at_i[hits]) / min(k, n_relevant))
    return {
        key: (float(np.mean(values)) if values else None)
        for key, values in metrics_per_query.items()
    }


RANKING_KEYS = ("ndcg_at_k", "precision_at_k", "recall_at_k", "mrr", "map_at_k")


@st.composite
def many_ranking_cases(draw):
    """Many short queries, ties, zero and fractional grades, k below and above the lengths."""
    grade = st.one_of(st.sampled_from([0, 0, 1, 2]), st.floats(0, 5))
    score = st.one_of(st.sampled_from([0.0, -0.0, 0.5, 1.0]), st.floats(-1e6, 1e6))
    lengths = draw(st.lists(st.integers(1, 12), min_size=1, max_size=30))
    y_true = [draw(st.lists(grade, min_size=n, max_size=n)) for n in lengths]
    y_score = [draw(st.lists(score, min_size=n, max_size=n)) for n in lengths]
    return y_true, y_score, draw(st.integers(1, 15))


@PROPERTY
@given(many_ranking_cases())
def test_ranking_agrees_with_the_per_query_loop(case):
    y_true, y_score, k = case
    result = ranking(y_true, y_score, k)
    expected = reference_ranking(y_true, y_score, k)
    for key in RANKING_KEYS:
        if expected[key] is None:
            assert result[key] is None, key
        else:
            assert math.isclose(result[key], expected[key], rel_tol=1e-12, abs_tol=1e-15), key
    assert result["queries_evaluated"] == sum(any(g > 0 for g in grades) for grades in y_true)


def test_ranking_of_100_000_one_item_queries_is_vectorised():
    # One item per query: a relevant one ranks first, so every metric is 1 at k = 1 over the
    # queries with a relevant item; precision also counts the others, at 0.
    y_true = [[1], [0]] * 50_000
    y_score = [[0.5]] * 100_000
    result = ranking(y_true, y_score, k=1)
    assert result["queries_evaluated"] == 50_000 and result["queries"] == 100_000
    for key in set(RANKING_KEYS) - {"precision_at_k"}:
        assert result[key] == 1.0, key
    assert result["precision_at_k"] == 0.5
    result = ranking(y_true, y_score, k=2)
    assert result["precision_at_k"] == 0.25
    assert result["ndcg_at_k"] == 1.0


def test_ranking_hand_checked_example():
    # Ranked by score: grades 0, 2, 1, 0, 3 (the tie at 0.5 keeps input order).
    result = ranking([[2, 0, 1, 0, 3]], [[0.5, 0.9, 0.5, 0.1, 0.2]], k=3)
    assert result["precision_at_k"] == pytest.approx(2 / 3)
    assert result["recall_at_k"] == pytest.approx(2 / 3)
    assert result["mrr"] == pytest.approx(1 / 2)
    assert result["map_at_k"] == pytest.approx((1 / 2 + 2 / 3) / 3)


def test_a_query_without_relevant_items_has_precision_0_and_no_other_metric():
    alone = ranking([[1, 1, 0]], [[0.1, 0.9, 0.5]], k=2)
    with_empty = ranking([[1, 1, 0], [0, 0]], [[0.1, 0.9, 0.5], [0.3, 0.2]], k=2)
    for key in ("ndcg_at_k", "recall_at_k", "mrr", "map_at_k"):
        assert with_empty[key] == alone[key], key
    assert alone["precision_at_k"] == 0.5
    assert with_empty["precision_at_k"] == (0.5 + 0) / 2
    assert with_empty["queries"] == 2 and with_empty["queries_evaluated"] == 1
    assert mentions(with_empty, "1 of 2 queries", "no relevant item", "counts them as 0")


def test_with_no_relevant_item_anywhere_only_precision_is_defined_and_it_is_0():
    result = ranking([[0, 0]], [[0.3, 0.2]], k=1)
    assert result["precision_at_k"] == 0.0
    for key in ("ndcg_at_k", "recall_at_k", "mrr", "map_at_k"):
        assert result[key] is None, key
    assert mentions(result, "no relevant item")


def test_ranking_precision_counts_missing_places_when_k_exceeds_the_query():
    result = ranking([[1, 1]], [[0.9, 0.8]], k=4)
    assert result["precision_at_k"] == 0.5
    assert result["recall_at_k"] == 1.0
    assert mentions(result, "fewer than k = 4")


# --- IoU and detection -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("box_a", "box_b", "expected"),
    [
        ([0, 0, 2, 2], [1, 1, 3, 3], 1 / 7),
        ([0, 0, 4, 4], [1, 1, 3, 3], 4 / 16),
        ([0, 0, 2, 2], [0, 0, 2, 2], 1.0),
        ([0, 0, 1, 1], [1, 0, 2, 1], 0.0),
        ([0, 0, 1, 1], [5, 5, 6, 6], 0.0),
        ([0.5, 0.5, 1.5, 2.5], [1.0, 0.5, 2.0, 2.5], 1 / 3),
        ([0, 0, 0, 0], [0, 0, 1, 1], 0.0),
    ],
)
def test_iou_hand_checked_cases(box_a, box_b, expected):
    assert iou(box_a, box_b)["iou"] == pytest.approx(expected, rel=1e-12)
    assert iou(box_b, box_a)["iou"] == pytest.approx(expected, rel=1e-12)


def coco_oracle(ground_truths: list[dict], detections: list[dict]) -> dict:
    """The same evaluation done by pycocotools, reshaped like our result."""
    images = {a["image_id"] for a in ground_truths + detections}
    categories = sorted({a["category_id"] for a in ground_truths + detections})
    coco_truth = COCO()
    coco_truth.dataset = {
        "images": [{"id": image} for image in sorted(images)],
        "categories": [{"id": category} for category in categories],
        "annotations": [
            {**a, "id": i, "area": a["bbox"][2] * a["bbox"][3], "iscrowd": 0}
            for i, a in enumerate(ground_truths, start=1)
        ],
    }
    quietly(coco_truth.createIndex)
    coco_found = quietly(coco_truth.loadRes, [dict(d) for d in detections])
    evaluation = COCOeval(coco_truth, coco_found, "bbox")
    quietly(evaluation.evaluate)
    quietly(evaluation.accumulate)
    quietly(evaluation.summarize)
    precision = evaluation.eval["precision"][:, :, :, 0, 2]
    per_category = {}
    for k, category in enumerate(evaluation.params.catIds):
        values = precision[:, :, k]
        per_category[str(category)] = float(np.mean(values)) if (values > -1).all() else None
    stats = evaluation.stats
    return {"map": stats[0], "map_50": stats[1], "map_75": stats[2], "per_category": per_category}


def assert_matches_coco(result: dict, oracle: dict) -> None:
    for key in ("map", "map_50", "map_75"):
        if oracle[key] == -1:
            assert result[key] is None
        else:
            assert close(result[key], oracle[key]), key
    assert result["per_category"].keys() == oracle["per_category"].keys()
    for category, value in oracle["per_category"].items():
        if value is None:
            assert result["per_category"][category] is None
        else:
            assert close(result["per_category"][category], value), category


# Small integer coordinates make exact IoU ties and threshold hits common; floats cover the rest.
coordinate = st.one_of(st.integers(0, 12), st.floats(0, 12))
extent = st.one_of(st.integers(1, 6), st.floats(0.5, 6))
box = st.lists(coordinate, min_size=2, max_size=2).flatmap(
    lambda xy: st.lists(extent, min_size=2, max_size=2).map(lambda wh: [*xy, *wh])
)


@st.composite
def detection_cases(draw):
    images = st.integers(1, draw(st.integers(1, 3)))
    categories = st.integers(1, draw(st.integers(1, 3)))
    ground_truths = draw(
        st.lists(
            st.fixed_dictionaries({"image_id": images, "category_id": categories, "bbox": box}),
            min_size=1,
            max_size=10,
        )
    )
    # Near-copies of ground-truth boxes give plenty of true positives.
    jittered = st.sampled_from(ground_truths).flatmap(
        lambda truth: st.tuples(st.integers(-1, 1), st.integers(-1, 1)).map(
            lambda shift: {
                "image_id": truth["image_id"],
                "category_id": truth["category_id"],
                "bbox": [
                    truth["bbox"][0] + shift[0],
                    truth["bbox"][1] + shift[1],
                    *truth["bbox"][2:],
                ],
            }
        )
    )
    anywhere = st.fixed_dictionaries({"image_id": images, "category_id": categories, "bbox": box})
    detections = draw(
        st.lists(
            st.one_of(jittered, anywhere).flatmap(
                lambda d: st.one_of(st.sampled_from([0.3, 0.6, 0.9]), st.floats(0, 1)).map(
                    lambda score: {**d, "score": score}
                )
            ),
            min_size=1,
            max_size=12,
        )
    )
    return ground_truths, detections


@settings(deadline=None, max_examples=25, database=None)
@given(detection_cases())
def test_detection_matches_pycocotools(case):
    ground_truths, detections = case
    assert_matches_coco(detection(ground_truths, detections), coco_oracle(*case))


def test_detection_keeps_only_the_top_100_detections_per_image_like_pycocotools():
    rng = np.random.default_rng(7)
    ground_truths = [
        {"image_id": 1, "category_id": 1, "bbox": [float(x), float(y), 10.0, 10.0]}
        for x, y in rng.uniform(0, 200, size=(60, 2))
    ]
    detections = [
        {
            "image_id": 1,
            "category_id": 1,
            "bbox": [float(x), float(y), 10.0, 10.0],
            "score": float(score),
        }
        for x, y, score in rng.uniform(0, 200, size=(150, 3))
    ]
    result = detection(ground_truths, detections)
    assert_matches_coco(result, coco_oracle(ground_truths, detections))


def test_detection_ignores_boxes_beyond_cocos_area_range_like_pycocotools():
    huge = [0, 0, 2e5, 2e5]
    ground_truths = [
        {"image_id": 1, "category_id": 1, "bbox": huge},
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]},
        {"image_id": 1, "category_id": 2, "bbox": huge},
    ]
    detections = [
        {"image_id": 1, "category_id": 1, "bbox": huge, "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10], "score": 0.8},
        {"image_id": 1, "category_id": 2, "bbox": [5e4, 5e4, 2e5, 2e5], "score": 0.7},
    ]
    result = detection(ground_truths, detections)
    assert_matches_coco(result, coco_oracle(ground_truths, detections))
    assert result["per_category"]["2"] is None


def test_detection_with_no_detections_scores_zero():
    result = detection([{"image_id": 1, "category_id": 3, "bbox": [0, 0, 5, 5]}], [])
    assert result["map"] == result["map_50"] == result["map_75"] == 0.0
    assert result["per_category"] == {"3": 0.0}


def test_detection_category_without_ground_truth_is_undefined_and_left_out():
    truth = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5]}]
    found = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9},
        {"image_id": 1, "category_id": 2, "bbox": [0, 0, 5, 5], "score": 0.9},
    ]
    result = detection(truth, found)
    # pycocotools' precision is tp / (tp + fp + spacing(1)), a hair below 1 for a perfect match.
    assert result["per_category"] == {"1": pytest.approx(1.0), "2": None}
    assert result["map"] == pytest.approx(1.0)
    assert mentions(result, "category(ies) 2", "no ground-truth")


def test_detection_on_an_image_without_ground_truth_is_a_false_positive():
    truth = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5]}]
    found = [
        {"image_id": 2, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.8},
    ]
    result = detection(truth, found)
    assert result["map"] < 1.0
    assert_matches_coco(result, coco_oracle(truth, found))


# --- Segmentation ----------------------------------------------------------------------------


@st.composite
def segmentation_cases(draw):
    num_classes = draw(st.integers(1, 5))
    height, width = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    cell = st.integers(0, num_classes - 1)
    row = st.lists(cell, min_size=width, max_size=width)
    grid = st.lists(row, min_size=height, max_size=height)
    return draw(grid), draw(grid), num_classes


@PROPERTY
@given(segmentation_cases())
def test_segmentation_matches_scikit_learn_jaccard(case):
    y_true, y_pred, num_classes = case
    result = segmentation(y_true, y_pred, num_classes)
    flat_true, flat_pred = np.ravel(y_true), np.ravel(y_pred)
    oracle = quietly(
        metrics.jaccard_score,
        flat_true,
        flat_pred,
        labels=list(range(num_classes)),
        average=None,
        zero_division=0.0,
    )
    present = set(flat_true) | set(flat_pred)
    for c in range(num_classes):
        if c in present:
            assert close(result["per_class_iou"][str(c)], oracle[c])
        else:
            assert result["per_class_iou"][str(c)] is None
            assert mentions(result, "absent from both")
    assert close(result["miou"], np.mean([oracle[c] for c in sorted(present)]))
    assert close(result["pixel_accuracy"], metrics.accuracy_score(flat_true, flat_pred))


# --- Discounted return and latency -----------------------------------------------------------


@pytest.mark.parametrize(
    ("rewards", "gamma", "expected"),
    [
        ([1, 1, 1], 0.9, [2.71, 1.9, 1.0]),
        ([1, 2, 3], 0.0, [1.0, 2.0, 3.0]),
        ([1, 2, 3], 1.0, [6.0, 5.0, 3.0]),
        ([0, 0, 10], 0.5, [2.5, 5.0, 10.0]),
    ],
)
def test_discounted_return_hand_checked_cases(rewards, gamma, expected):
    result = discounted_return(rewards, gamma)
    assert result["returns"] == pytest.approx(expected, rel=1e-12)
    assert result["total"] == sum(rewards)


@PROPERTY
@given(st.lists(st.floats(-100, 100), min_size=1, max_size=50), st.floats(0, 1))
def test_discounted_return_is_the_discounted_sum_from_each_step(rewards, gamma):
    returns = discounted_return(rewards, gamma)["returns"]
    for t in range(len(rewards)):
        oracle = sum(gamma**i * r for i, r in enumerate(rewards[t:]))
        assert math.isclose(returns[t], oracle, rel_tol=1e-9, abs_tol=1e-9)


@PROPERTY
@given(st.lists(st.floats(0, 1e4), min_size=1, max_size=200), st.integers(1, 30))
def test_latency_matches_numpy(samples, bins):
    result = latency(samples, bins=bins)
    assert result["count"] == len(samples)
    assert close(result["mean"], np.mean(samples))
    assert result["min"] == min(samples) and result["max"] == max(samples)
    for key, q in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99)):
        assert close(result[key], np.percentile(samples, q)), key
    counts, edges = np.histogram(samples, bins=bins)
    assert result["histogram"] == {"edges": edges.tolist(), "counts": counts.tolist()}


# --- Rates -----------------------------------------------------------------------------------


def test_rates_hand_checked_cases():
    assert throughput(120, 60)["throughput_rps"] == 2.0
    assert energy(250, 7200, requests=1000) == {
        "energy_j": 1_800_000.0,
        "energy_wh": 500.0,
        "energy_per_request_j": 1800.0,
        "warnings": [],
    }
    assert energy(250, 10)["energy_per_request_j"] is None
    assert ctr(3, 200)["ctr"] == 0.015
    assert dau_mau(1500.5, 6002)["stickiness"] == pytest.approx(0.25)
    assert retention(80, 20)["retention"] == 0.25
    assert conversion_rate(5, 400)["conversion_rate"] == 0.0125


# --- Undefined values: None plus a warning saying why ----------------------------------------


@pytest.mark.parametrize(
    ("calculate", "key", "reason"),
    [
        (lambda: binary_classification([0, 1], y_score=[0.1, 0.2]), "precision", "predicted"),
        (lambda: binary_classification([0, 0], y_pred=[0, 1]), "recall", "no positive"),
        (lambda: binary_classification([1, 1], y_pred=[0, 1]), "specificity", "no negative"),
        (lambda: binary_classification([0, 0], y_pred=[0, 0]), "f1", "no positives"),
        (lambda: binary_classification([0, 0], y_pred=[0, 0]), "f_beta", "no positives"),
        (lambda: binary_classification([0, 1], y_pred=[1, 1]), "mcc", "empty row or column"),
        (lambda: binary_classification([1, 1], y_pred=[0, 1]), "balanced_accuracy", "one class"),
        (lambda: binary_classification([1, 1], y_score=[0.2, 0.7]), "roc_auc", "one class"),
        (lambda: binary_classification([0, 0], y_score=[0.2, 0.7]), "pr_curve", "one class"),
        (
            lambda: binary_classification([0, 0], y_score=[0.2, 0.7]),
            "average_precision",
            "one class",
        ),
        (lambda: binary_classification([0, 1], y_score=[-1, 3]), "log_loss", "probabilities"),
        (lambda: binary_classification([0, 1], y_pred=[0, 1]), "roc_auc", "need scores"),
        (lambda: multiclass_classification([1, 2], [1, 1]), "per_class", "never predicted"),
        (lambda: regression([2, 2, 2], [1, 2, 3]), "r2", "zero variance"),
        (lambda: regression([5], [4], n_features=0), "r2", "zero variance"),
        (lambda: regression([1, 2, 3], [1, 2, 4], n_features=2), "adjusted_r2", "> 0"),
        (lambda: regression([1, 2, 3], [1, 2, 4]), "adjusted_r2", "needs n_features"),
        (lambda: regression([1e200, -1e200], [-1e200, 1e200]), "mse", "64-bit"),
        (lambda: ranking([[0, 0, 0]], [[1, 2, 3]], k=2), "ndcg_at_k", "no relevant item"),
        (lambda: ranking([[0, 0, 0]], [[1, 2, 3]], k=2), "mrr", "no relevant item"),
        (lambda: iou([1, 1, 1, 1], [1, 1, 1, 1]), "iou", "zero area"),
        (
            lambda: detection([{**box_item, "bbox": [0, 0, 2e5, 2e5]}], []),
            "map",
            "area range",
        ),
        (lambda: segmentation([[0, 0]], [[0, 1]], 3), "per_class_iou", "absent from both"),
        (lambda: discounted_return([1e308, 1e308], 1.0), "returns", "64-bit"),
        (lambda: latency([1e15, 1e15 + 0.125], bins=1000), "histogram", "too close"),
        (lambda: energy(100, 10, requests=0), "energy_per_request_j", "requests is 0"),
        (lambda: ctr(0, 0), "ctr", "no impressions"),
        (lambda: dau_mau(0, 0), "stickiness", "mau is 0"),
        (lambda: retention(0, 0), "retention", "cohort is empty"),
        (lambda: conversion_rate(0, 0), "conversion_rate", "no visitors"),
    ],
)
def test_undefined_values_are_none_with_a_warning_saying_why(calculate, key, reason):
    result = calculate()
    value = result[key]
    if isinstance(value, dict):  # per-class maps hold the None inside
        assert None in value.values() or any(None in v.values() for v in value.values())
    elif isinstance(value, list):
        assert None in value
    else:
        assert value is None
    assert mentions(result, reason), result["warnings"]


# --- Bad input: InputError naming the field and the problem ----------------------------------

box_item = {"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}


@pytest.mark.parametrize(
    ("calculate", "field", "message"),
    [
        (lambda: binary_classification("0 1", y_score=[0.5]), "y_true", "must be a list"),
        (lambda: binary_classification([], y_score=[]), "y_true", "empty"),
        (lambda: binary_classification([0, 2], y_score=[0, 1]), "y_true", "only 0 and 1"),
        (lambda: binary_classification([0, True], y_score=[0, 1]), "y_true", "not a number"),
        (lambda: binary_classification([0, 1], y_score=[0.1, "x"]), "y_score", "not a number"),
        (lambda: binary_classification([0, 1], y_score=[0.1, math.nan]), "y_score", "finite"),
        (lambda: binary_classification([0, 1], y_score=[0.1, math.inf]), "y_score", "finite"),
        (lambda: binary_classification([0, 1], y_score=[10**400, 0]), "y_score", "too large"),
        (
            lambda: binary_classification([0, 1], y_score=[0.1, 0.2, 0.3]),
            "y_score",
            "y_true has 2 values but y_score has 3",
        ),
        (lambda: binary_classification([0, 1], y_pred=[1]), "y_pred", "has 1"),
        (lambda: binary_classification([0, 1]), "y_score", "give y_score"),
        (lambda: binary_classification([0], y_score=[1], y_pred=[1]), "y_pred", "not both"),
        (lambda: binary_classification([0], y_score=[1], beta=0), "beta", "greater than 0"),
        (lambda: binary_classification([0], y_score=[1], threshold="high"), "threshold", "number"),
        (
            lambda: binary_classification([0] * (MAX_VALUES + 1), y_pred=[0]),
            "y_true",
            "at most 100,000",
        ),
        (lambda: multiclass_classification([1, "a"], [1, 1]), "y_true", "mixes numbers and text"),
        (lambda: multiclass_classification([1, 2], ["a", "b"]), "y_pred", "same kind"),
        (lambda: multiclass_classification([1.5], [1]), "y_true", "not a label"),
        (lambda: multiclass_classification([1, 2], [1]), "y_pred", "same length"),
        (lambda: multiclass_classification(list(range(1001)), [0] * 1001), "y_true", "at most"),
        (lambda: regression([1], [1], delta=0), "delta", "greater than 0"),
        (lambda: regression([1], [1], n_features=-1), "n_features", "whole number"),
        (lambda: regression([1], [1], n_features=1.5), "n_features", "whole number"),
        (lambda: regression([1], [None]), "y_pred", "null (item 1) is not a number"),
        (lambda: ranking([[1, 0]], [[1, 0]], k=0), "k", "from 1"),
        (lambda: ranking([[1, 0]], [[1, 0]], k=1.5), "k", "whole number"),
        (lambda: ranking([[1, 0]], [[1, 0]], k=1, gain="cubic"), "gain", "'linear' or"),
        (lambda: ranking([[1, -1]], [[1, 0]], k=1), "y_true", "must be ≥ 0"),
        (lambda: ranking([[1, 0]], [[1, 0, 2]], k=1), "y_score", "query 1 has 2 grades"),
        (lambda: ranking([[1, 0]], [[1, 0], [1]], k=1), "y_score", "y_true has 1, y_score has 2"),
        (lambda: ranking([[1, 0], []], [[1, 0], []], k=1), "y_true", "query 2 is empty"),
        (lambda: ranking([1, 0], [1, 0], k=1), "y_true", "each query must be"),
        (lambda: ranking([[1, "a"]], [[1, 0]], k=1), "y_true", "query 1: 'a' (item 2)"),
        (lambda: iou([1, 0, 0, 1], [0, 0, 1, 1]), "box_a", "x2 (0) is less than x1 (1)"),
        (lambda: iou([0, 0, 1, 1], [0, 2, 1, 1]), "box_b", "y2 (1) is less than y1 (2)"),
        (lambda: iou([0, 0, 1], [0, 0, 1, 1]), "box_a", "four numbers"),
        (lambda: detection([], []), "ground_truths", "at least one"),
        (lambda: detection([{"image_id": 1, "bbox": [0, 0, 1, 1]}], []), "ground_truths", "no"),
        (
            lambda: detection([{**box_item, "bbox": [0, 0, -1, 1]}], []),
            "ground_truths",
            "width -1",
        ),
        (lambda: detection([{**box_item, "iscrowd": 1}], []), "ground_truths", "crowd"),
        (lambda: detection([box_item], [{**box_item, "score": "x"}]), "detections", "score"),
        (lambda: detection([box_item], [box_item]), "detections", "no score"),
        (lambda: detection([box_item], "none"), "detections", "must be a list"),
        (lambda: detection([box_item], [box_item] * (MAX_BOXES + 1)), "detections", "at most"),
        (
            lambda: detection(
                [{**box_item, "category_id": c} for c in range(MAX_CATEGORIES + 1)], []
            ),
            "ground_truths",
            f"at most {MAX_CATEGORIES}",
        ),
        (
            lambda: detection(
                [box_item],
                [{**box_item, "category_id": c, "score": 1} for c in range(MAX_CATEGORIES + 1)],
            ),
            "detections",
            f"{MAX_CATEGORIES + 1} categories",
        ),
        (
            lambda: binary_classification([0] * (MAX_SCORES + 1), y_score=[0.5] * (MAX_SCORES + 1)),
            "y_score",
            f"at most {MAX_SCORES:,}",
        ),
        (lambda: regression([1, 2], [1, 10**400]), "y_pred", "(item 2) is too large"),
        (lambda: regression([1, 2], [1.5, True]), "y_pred", "true (item 2) is not a number"),
        (lambda: regression([1, 2], [np.float64(1), "2"]), "y_pred", "'2' (item 2)"),
        (lambda: ranking([[1], [0, 2]], [[1], [0, 1e400]], k=1), "y_score", "query 2: inf"),
        (lambda: ranking([[1], [0, -2]], [[1], [0, 1]], k=1), "y_true", "query 2 has the grade -2"),
        (lambda: segmentation([[0, True]], [[0, 0]], 3), "y_true", "row 1: true (item 2)"),
        (lambda: detection([{**box_item, "image_id": 1.5}], []), "ground_truths", "image_id"),
        (lambda: detection([[0, 0, 1, 1]], []), "ground_truths", "each item is an object"),
        (lambda: segmentation([[0, 3]], [[0, 0]], 3), "y_true", "class id from 0 to 2"),
        (lambda: segmentation([[0, 1], [0]], [[0, 0], [0, 0]], 3), "y_true", "rectangle"),
        (lambda: segmentation([[0, 1]], [[0], [1]], 3), "y_pred", "same shape"),
        (lambda: segmentation([[0]], [[0]], 0), "num_classes", "from 1"),
        (lambda: discounted_return([1], 1.5), "gamma", "from 0 to 1"),
        (lambda: discounted_return([1], -0.1), "gamma", "from 0 to 1"),
        (lambda: latency([1, -2], bins=3), "samples_ms", "negative"),
        (lambda: latency([1, 2], bins=0), "bins", "from 1"),
        (lambda: throughput(10, 0), "duration_s", "above 0"),
        (lambda: throughput(-1, 10), "requests", "count"),
        (lambda: throughput(2.5, 10), "requests", "count"),
        (lambda: energy(-5, 10), "power_w", "≥ 0"),
        (lambda: energy(5, 10, requests=1.5), "requests", "count"),
        (lambda: ctr(11, 10), "clicks", "must not exceed impressions"),
        (lambda: ctr(True, 10), "clicks", "not a number"),
        (lambda: dau_mau(11, 10), "dau", "more than mau"),
        (lambda: dau_mau(1, 10.5), "mau", "count"),
        (lambda: retention(10, 11), "retained", "must not exceed cohort_size"),
        (lambda: conversion_rate(5, 4), "conversions", "must not exceed visitors"),
    ],
)
def test_bad_input_raises_input_error_naming_field_and_problem(calculate, field, message):
    with pytest.raises(InputError) as raised:
        calculate()
    assert raised.value.field == field
    assert message in raised.value.message
    assert str(raised.value) == f"{field}: {raised.value.message}"


# --- Parsing pasted text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1, 2, 3", [1.0, 2.0, 3.0]),
        ("1 2\t3;4\n5", [1.0, 2.0, 3.0, 4.0, 5.0]),
        ("0.1,0.2\r\n0.3,0.4\r\n", [0.1, 0.2, 0.3, 0.4]),
        ('"1.5";"2";', [1.5, 2.0]),
        ("  -3 +4 .5 6. 1e-3 2E2 ", [-3.0, 4.0, 0.5, 6.0, 0.001, 200.0]),
        (",,1,,2,,", [1.0, 2.0]),
    ],
)
def test_parse_numbers_accepts_common_separators(text, expected):
    assert parse_numbers(text, "values") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1, 2, abc", "'abc' (item 3) is not a number"),
        ("1 nan", "'nan' (item 2) is not a finite number"),
        ("inf", "'inf' (item 1) is not a finite number"),
        ("1e999", "'1e999' (item 1) is too large"),
        ("1_000", "'1_000' (item 1) is not a number"),
        ("0x10", "'0x10' (item 1) is not a number"),
        ("", "is empty"),
        (" ,\n; ", "is empty"),
        (" ".join(["1"] * (MAX_VALUES + 1)), "at most 100,000"),
        (" ".join(["1"] * (10 * MAX_VALUES)), "more than 100,000"),
    ],
)
def test_parse_numbers_rejects_bad_text_naming_the_field_and_first_bad_token(text, message):
    with pytest.raises(InputError) as raised:
        parse_numbers(text, "y_score")
    assert raised.value.field == "y_score"
    assert message in raised.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("y_score\n0.9\n0.1", [0.9, 0.1]),
        ('"label","score"\r\n1,0.5\r\n0,0.25\r\n', [1.0, 0.5, 0.0, 0.25]),
        ("\n\n  true label \n1\n0", [1.0, 0.0]),
        ("P@10\t(run 2)\n0.5\t0.25", [0.5, 0.25]),
    ],
)
def test_parse_numbers_skips_a_header_row(text, expected):
    assert parse_numbers(text, "values") == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("y_score", "'y_score' (item 1) is not a number"),  # a name alone is no column
        ("y_score 1\n2", "'y_score' (item 1) is not a number"),  # a number: data, not names
        ("nan\n1", "'nan' (item 1) is not a finite number"),
        ("label\n1\nx", "'x' (item 2) is not a number"),
    ],
)
def test_parse_numbers_takes_only_a_line_of_names_for_a_header(text, message):
    with pytest.raises(InputError) as raised:
        parse_numbers(text, "y_score")
    assert message in raised.value.message


def test_parse_labels_skips_a_header_row_only_above_integer_labels():
    assert parse_labels("class\n1\n2\n2", "labels") == [1, 2, 2]
    # Above text labels a header cannot be told from a label, so it stays one.
    assert parse_labels("class\ncat\ndog", "labels") == ["class", "cat", "dog"]


def test_without_header_leaves_text_without_a_line_of_names_alone():
    assert without_header("1, 2\n3") == "1, 2\n3"
    assert without_header("a, b") == "a, b"
    assert without_header("a, b\n  \n") == "a, b\n  \n"
    assert without_header("a, b\n1") == "\n1"


def test_parse_numbers_takes_a_smaller_limit():
    assert parse_numbers("1 2 3", "values", limit=3) == [1.0, 2.0, 3.0]
    with pytest.raises(InputError, match="more than 2 values; at most 2 are allowed"):
        parse_numbers("1 2 3", "values", limit=2)


def test_parse_numbers_rejects_non_text():
    with pytest.raises(InputError, match="must be text"):
        parse_numbers([1, 2], "values")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 2 3", [1, 2, 3]),
        ("01,-2\n+3", [1, -2, 3]),
        ("cat, dog\tcat", ["cat", "dog", "cat"]),
        ("1 2 cat", ["1", "2", "cat"]),
        ("1 2.0", ["1", "2.0"]),
    ],
)
def test_parse_labels_gives_ints_only_when_every_token_is_an_int(text, expected):
    assert parse_labels(text, "labels") == expected


def test_parse_labels_rejects_empty_text():
    with pytest.raises(InputError) as raised:
        parse_labels(" \n ", "y_true")
    assert raised.value.field == "y_true"


# --- The registry and the JSON contract ------------------------------------------------------

SAMPLE_INPUTS = {
    "binary-classification": {"y_true": [0, 1, 1, 0], "y_score": [0.2, 0.7, 0.4, 0.1]},
    "multiclass-classification": {"y_true": ["a", "b", "c"], "y_pred": ["a", "c", "c"]},
    "regression": {"y_true": [1, 2, 3, 4], "y_pred": [1.5, 2, 2.5, 4], "n_features": 1},
    "ranking": {"y_true": [[3, 0, 1], [0, 0]], "y_score": [[0.2, 0.9, 0.1], [1, 2]], "k": 2},
    "iou": {"box_a": [0, 0, 2, 2], "box_b": [1, 1, 3, 3]},
    "detection": {
        "ground_truths": [box_item],
        "detections": [{**box_item, "score": 0.5}, {**box_item, "category_id": 2, "score": 1}],
    },
    "segmentation": {"y_true": [[0, 1], [1, 1]], "y_pred": [[0, 1], [0, 1]], "num_classes": 3},
    "discounted-return": {"rewards": [1, 0, 2], "gamma": 0.9},
    "latency": {"samples_ms": [12, 15, 11, 90, 14], "bins": 4},
    "throughput": {"requests": 100, "duration_s": 8},
    "energy": {"power_w": 300, "duration_s": 60, "requests": 0},
    "ctr": {"clicks": 0, "impressions": 0},
    "dau-mau": {"dau": 10, "mau": 40},
    "retention": {"cohort_size": 50, "retained": 12},
    "conversion-rate": {"conversions": 3, "visitors": 120},
    "calibration": {"y_true": [0, 1, 1, 0], "y_prob": [0.1, 0.8, 0.6, 0.4], "n_bins": 2},
    "operating-point": {"y_true": [0, 1, 1, 0], "y_score": [0.1, 0.8, 0.6, 0.4]},
    "top-k-accuracy": {"y_true": [0, 2], "y_score": [[0.5, 0.3, 0.2], [0.6, 0.1, 0.3]], "k": 2},
    "prevalence": {"positives": 0, "total": 0},
    "percentage-errors": {"y_true": [0, 2, 4], "y_pred": [0, 3, 3]},
    "pinball-loss": {"y_true": [1, 2, 3], "y_pred": [2, 2, 2], "alpha": 0.9},
    "hit-rate": {"y_true": [[0, 1], [0, 0]], "y_score": [[0.2, 0.1], [0.5, 0.4]], "k": 1},
    "coverage": {"recommendations": [[1, 2], [2, 3]], "catalog_size": 10},
    "perplexity": {"logprobs": [-0.5, -2.0, -1.0]},
    "bleu": {"hypotheses": ["the cat sat"], "references": [["the cat sat down"]]},
    "word-error-rate": {"references": ["the cat sat"], "hypotheses": ["the cat sat down"]},
    "fraud-loss-rate": {"fraud_losses": 10, "payment_volume": 0},
    "search-success": {"sessions": 10, "successful_sessions": 6},
    "gmv": {"order_values": [20, 30.5], "marketplace_revenue": 5},
    "ecpm": {"revenue": 12.5, "impressions": 5000, "clicks": 0},
}


def test_registry_lists_every_calculator_by_slug():
    assert CALCULATORS.keys() == SAMPLE_INPUTS.keys()


@pytest.mark.parametrize("slug", SAMPLE_INPUTS)
def test_every_calculator_returns_plain_json_with_a_warnings_list(slug):
    result = CALCULATORS[slug](**SAMPLE_INPUTS[slug])
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    assert isinstance(result["warnings"], list)
    assert all(isinstance(warning, str) for warning in result["warnings"])

    def plain(value):
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or type(value) in (bool, int, float, str)

    assert plain(result)


# --- Calibration: scikit-learn's calibration_curve and brier_score_loss -------------------------


@st.composite
def calibration_cases(draw):
    n = draw(st.integers(1, 60))
    y_true = draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))
    # Values on the uniform edges (0.1, 0.3, …) and ties test which bin an edge belongs to.
    value = st.one_of(st.sampled_from([0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0]), st.floats(0, 1))
    y_prob = draw(st.lists(value, min_size=n, max_size=n))
    return y_true, y_prob, draw(st.integers(1, 15)), draw(st.sampled_from(["uniform", "quantile"]))


def bins_by_definition(y_prob, n_bins, strategy):
    """Each prediction's bin, read from the definition: the number of inner edges below it."""
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.percentile(y_prob, np.linspace(0, 1, n_bins + 1) * 100)
    return [sum(p > edge for edge in edges[1:-1]) for p in y_prob]


@PROPERTY
@given(calibration_cases())
def test_calibration_matches_scikit_learn(case):
    y_true, y_prob, n_bins, strategy = case
    result = calibration(y_true, y_prob, n_bins=n_bins, strategy=strategy)
    prob_true, prob_pred = calibration_curve(y_true, y_prob, n_bins=n_bins, strategy=strategy)
    bins = result["bins"]
    assert [b["fraction_positive"] for b in bins] == pytest.approx(prob_true, rel=1e-9, abs=1e-12)
    assert [b["mean_predicted"] for b in bins] == pytest.approx(prob_pred, rel=1e-9, abs=1e-12)
    membership = bins_by_definition(y_prob, n_bins, strategy)
    counts = [membership.count(b) for b in sorted(set(membership))]
    assert [b["count"] for b in bins] == counts
    gaps = np.abs(prob_true - prob_pred)
    n = len(y_true)
    assert close(result["ece"], sum(c / n * g for c, g in zip(counts, gaps, strict=True)))
    assert close(result["mce"], gaps.max())
    assert close(result["brier_score"], metrics.brier_score_loss(y_true, y_prob, pos_label=1))
    base = np.mean(y_true)
    if 0 < base < 1:
        reference = metrics.brier_score_loss(y_true, [base] * n, pos_label=1)
        assert close(result["brier_skill_score"], 1 - result["brier_score"] / reference)
    else:
        assert result["brier_skill_score"] is None
        assert mentions(result, "brier_skill_score", "one class")


def test_calibration_hand_checked_example():
    # Two bins: [0, 0.5] holds 0.1 (a 0) and 0.4 (a 0); (0.5, 1] holds 0.8 (a 1) and 0.6 (a 1).
    result = calibration([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.4], n_bins=2)
    assert [b["count"] for b in result["bins"]] == [2, 2]
    assert result["ece"] == pytest.approx(0.5 * 0.25 + 0.5 * 0.3)
    assert result["brier_score"] == pytest.approx((0.01 + 0.04 + 0.16 + 0.16) / 4)


def test_a_perfectly_calibrated_forecast_has_zero_ece_but_not_zero_brier():
    # Half of the 0.5 predictions are positives: calibrated, and still uncertain.
    result = calibration([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], n_bins=10)
    assert result["ece"] == 0.0 and result["mce"] == 0.0
    assert result["brier_score"] == 0.25 and result["brier_skill_score"] == 0.0
    assert mentions(result, "one bin")


# --- Top-k accuracy: scikit-learn's top_k_accuracy_score -----------------------------------------


@st.composite
def top_k_cases(draw):
    n_classes = draw(st.integers(3, 7))
    n = draw(st.integers(1, 30))
    # Few distinct scores make ties common: scikit-learn ranks the higher index first.
    score = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 1.0]), st.floats(-10, 10))
    row = st.lists(score, min_size=n_classes, max_size=n_classes)
    y_score = draw(st.lists(row, min_size=n, max_size=n))
    y_true = draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n))
    return y_true, y_score, draw(st.integers(1, n_classes + 1))


@PROPERTY
@given(top_k_cases())
def test_top_k_accuracy_matches_scikit_learn_ties_included(case):
    y_true, y_score, k = case
    n_classes = len(y_score[0])
    result = top_k_accuracy(y_true, y_score, k=k)
    oracle = quietly(
        metrics.top_k_accuracy_score, y_true, y_score, k=k, labels=list(range(n_classes))
    )
    assert close(result["top_k_accuracy"], oracle)
    assert result["hits"] == round(oracle * len(y_true))
    for j, value in enumerate(result["by_k"], start=1):
        expected = quietly(
            metrics.top_k_accuracy_score, y_true, y_score, k=j, labels=list(range(n_classes))
        )
        assert close(value, expected), j


def test_top_k_accuracy_with_two_classes_and_k_at_least_the_class_count():
    # Ties go to the higher index: in row 2 class 1 ranks first, so class 0 misses at k = 1.
    result = top_k_accuracy([0, 0], [[0.9, 0.1], [0.5, 0.5]], k=1)
    assert result["top_k_accuracy"] == 0.5
    everything = top_k_accuracy([0, 1], [[0.9, 0.1], [0.5, 0.5]], k=2)
    assert everything["top_k_accuracy"] == 1.0
    assert mentions(everything, "k = 2", "every example is a hit")


# --- Operating points: scikit-learn's precision-recall and ROC curves ---------------------------


@PROPERTY
@given(binary_cases(score=st.one_of(st.sampled_from([0.1, 0.5, 0.9]), st.floats(-3, 3))))
def test_operating_points_are_the_best_points_of_scikit_learns_curves(case):
    y_true, y_score, target, _ = case
    target = max(target, 0.01)
    result = operating_point(y_true, y_score, target_recall=target, target_precision=target)
    if len(set(y_true)) < 2:
        assert result["precision_at_recall"]["value"] is None
        assert mentions(result, "only one class")
        return
    precision, recall, _ = metrics.precision_recall_curve(y_true, y_score)
    # The last point of the precision-recall curve has no threshold: it is not an operating point.
    precision, recall = precision[:-1], recall[:-1]
    fpr, tpr, roc_thresholds = metrics.roc_curve(y_true, y_score, drop_intermediate=False)
    fpr_by_threshold = dict(zip(roc_thresholds[1:], fpr[1:], strict=True))
    expectations = {
        "precision_at_recall": (precision[recall >= target], "precision"),
        "recall_at_precision": (recall[precision >= target], "recall"),
        "fpr_at_recall": (fpr[1:][tpr[1:] >= target], "fpr"),
    }
    for name, (values, _) in expectations.items():
        point = result[name]
        if values.size == 0:
            assert point["value"] is None, name
            assert mentions(result, name, "no threshold reaches")
            continue
        best = values.min() if name == "fpr_at_recall" else values.max()
        assert close(point["value"], best), name
        # The threshold reported gives that operating point.
        at = binary_classification(y_true, y_score=y_score, threshold=point["threshold"])
        assert close(point["recall"], at["recall"]) and close(
            point["fpr"], at["fp"] / (at["fp"] + at["tn"])
        )
        assert close(point["fpr"], fpr_by_threshold[point["threshold"]])


def test_operating_points_hand_checked():
    y_true, y_score = [1, 1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.6, 0.3, 0.1]
    result = operating_point(y_true, y_score, target_recall=1.0, target_precision=0.9)
    # Recall 1 needs the threshold 0.6: 3 true positives, 1 false positive.
    assert result["precision_at_recall"] == {
        "value": 0.75, "threshold": 0.6, "recall": 1.0, "precision": 0.75, "fpr": 1 / 3,
    }  # fmt: skip
    assert result["fpr_at_recall"]["value"] == pytest.approx(1 / 3)
    # Precision 0.9 or more: thresholds 0.9 and 0.8; 0.8 has the higher recall, 2/3.
    assert result["recall_at_precision"]["value"] == pytest.approx(2 / 3)
    assert result["recall_at_precision"]["threshold"] == 0.8


# --- Prevalence: Bayes' rule against counts -----------------------------------------------------


@PROPERTY
@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))
def test_prevalence_gives_the_precision_scikit_learn_finds_in_matching_counts(tp, fn, fp, tn):
    assume(tp + fn > 0 and fp + tn > 0)
    y_true = [1] * (tp + fn) + [0] * (fp + tn)
    y_pred = [1] * tp + [0] * fn + [1] * fp + [0] * tn
    result = prevalence(
        tp + fn, tp + fn + fp + tn, recall=tp / (tp + fn), specificity=tn / (fp + tn)
    )
    assert close(result["prevalence"], np.mean(y_true))
    if tp + fp:
        assert close(result["precision"], metrics.precision_score(y_true, y_pred))
        assert close(result["predicted_positive_rate"], np.mean(y_pred))
    else:
        assert result["precision"] is None
    if tn + fn:
        assert close(result["npv"], metrics.precision_score(y_true, y_pred, pos_label=0))
    if tp:
        assert close(result["false_alarms_per_true_positive"], fp / tp)


def test_prevalence_hand_checked_rare_positives():
    # 0.2 % fraud; a classifier with 90 % recall and 99 % specificity.
    result = prevalence(200, 100_000, recall=0.9, specificity=0.99)
    assert result["prevalence"] == 0.002 and result["one_in"] == 500
    assert result["precision"] == pytest.approx(0.0018 / (0.0018 + 0.01 * 0.998))
    assert result["false_alarms_per_true_positive"] == pytest.approx(0.00998 / 0.0018)
    without = prevalence(200, 100_000)
    assert without["precision"] is None and mentions(without, "need both")


# --- Forecasting: scikit-learn's MAPE and pinball loss ------------------------------------------


@st.composite
def forecast_cases(draw, allow_zero=False):
    value = st.one_of(
        st.sampled_from([0.0, 1.0, -2.0, 10.0] if allow_zero else [1.0, -2.0, 10.0]),
        st.floats(0.01, 1e4) if not allow_zero else st.floats(-1e4, 1e4),
    )
    n = draw(st.integers(1, 40))
    y_true = draw(st.lists(value, min_size=n, max_size=n))
    y_pred = draw(st.lists(st.floats(-1e4, 1e4), min_size=n, max_size=n))
    return y_true, y_pred


@PROPERTY
@given(forecast_cases())
def test_percentage_errors_match_scikit_learn_and_their_definitions(case):
    y_true, y_pred = case
    result = percentage_errors(y_true, y_pred)
    assert close(result["mape"], metrics.mean_absolute_percentage_error(y_true, y_pred))
    assert close(result["mae"], metrics.mean_absolute_error(y_true, y_pred))
    pairs = list(zip(y_true, y_pred, strict=True))
    smape = sum(2 * abs(t - p) / (abs(t) + abs(p)) if t or p else 0 for t, p in pairs) / len(pairs)
    assert math.isclose(result["smape"], smape, rel_tol=1e-9, abs_tol=1e-12)
    wape = sum(abs(t - p) for t, p in pairs) / sum(abs(t) for t in y_true)
    assert math.isclose(result["wape"], wape, rel_tol=1e-9, abs_tol=1e-12)


@PROPERTY
@given(forecast_cases(allow_zero=True))
def test_mape_is_undefined_with_a_zero_actual_where_scikit_learn_divides_by_epsilon(case):
    y_true, y_pred = case
    result = percentage_errors(y_true, y_pred)
    if 0.0 in y_true:
        assert result["mape"] is None
        assert mentions(result, "mape is undefined", "machine epsilon")
    else:
        assert close(result["mape"], metrics.mean_absolute_percentage_error(y_true, y_pred))


def test_percentage_errors_hand_checked():
    result = percentage_errors([100, 50, 10], [110, 40, 20])
    assert result["mape"] == pytest.approx((0.1 + 0.2 + 1.0) / 3)
    assert result["wape"] == pytest.approx(30 / 160)
    assert result["smape"] == pytest.approx((20 / 210 + 20 / 90 + 20 / 30) / 3)
    both_zero = percentage_errors([0, 4], [0, 2])
    assert both_zero["smape"] == pytest.approx((0 + 4 / 6) / 2)
    assert mentions(both_zero, "counted as 0 in smape")
    assert percentage_errors([0, 0], [1, 2])["wape"] is None


@PROPERTY
@given(
    forecast_cases(allow_zero=True), st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0, 1))
)
def test_pinball_loss_matches_scikit_learn(case, alpha):
    y_true, y_pred = case
    result = pinball_loss(y_true, y_pred, alpha=alpha)
    assert close(result["pinball_loss"], metrics.mean_pinball_loss(y_true, y_pred, alpha=alpha))
    below = sum(t <= p for t, p in zip(y_true, y_pred, strict=True)) / len(y_true)
    assert result["share_below"] == below


def test_pinball_loss_at_the_median_is_half_the_mae():
    y_true, y_pred = [3.0, -1.0, 4.0], [2.0, 0.5, 4.0]
    assert pinball_loss(y_true, y_pred)["pinball_loss"] == pytest.approx(
        metrics.mean_absolute_error(y_true, y_pred) / 2
    )


# --- Recommendation lists: hit rate, coverage and diversity -------------------------------------


def reference_hit_rate(y_true, y_score, k):
    """Per query: ranked by descending score, ties in input order; a hit has a relevant item."""
    hits = []
    for grades, scores in zip(y_true, y_score, strict=True):
        if not any(g > 0 for g in grades):
            continue
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        hits.append(any(grades[i] > 0 for i in order[:k]))
    return sum(hits) / len(hits) if hits else None


@PROPERTY
@given(many_ranking_cases())
def test_hit_rate_agrees_with_a_per_query_loop_and_with_ranking_recall(case):
    y_true, y_score, k = case
    result = hit_rate_at_k(y_true, y_score, k)
    expected = reference_hit_rate(y_true, y_score, k)
    if expected is None:
        assert result["hit_rate_at_k"] is None
        assert mentions(result, "no relevant item")
    else:
        assert close(result["hit_rate_at_k"], expected)
        assert close(result["recall_at_k"], ranking(y_true, y_score, k)["recall_at_k"])


@PROPERTY
@given(st.integers(3, 8), st.integers(1, 4), st.integers(1, 10), st.randoms())
def test_hit_rate_with_one_relevant_item_is_top_k_accuracy(n, n_queries, k, random):
    relevant = [random.randrange(n) for _ in range(n_queries)]
    y_true = [[int(i == r) for i in range(n)] for r in relevant]
    y_score = [random.sample(range(100), n) for _ in range(n_queries)]
    result = hit_rate_at_k(y_true, y_score, k)
    oracle = quietly(
        metrics.top_k_accuracy_score, relevant, y_score, k=min(k, n), labels=list(range(n))
    )
    assert close(result["hit_rate_at_k"], oracle)
    assert result["hit_rate_at_k"] == result["recall_at_k"]


def test_hit_rate_counts_a_user_with_one_of_four_relevant_items_as_a_full_hit():
    result = hit_rate_at_k([[1, 0, 1, 1, 1]], [[0.9, 0.8, 0.3, 0.2, 0.1]], k=2)
    assert result["hit_rate_at_k"] == 1.0
    assert result["recall_at_k"] == 0.25


@st.composite
def coverage_cases(draw):
    item = st.integers(0, 12)
    lists = draw(st.lists(st.lists(item, min_size=1, max_size=6), min_size=1, max_size=8))
    categories = [
        draw(st.lists(st.sampled_from("abc"), min_size=len(x), max_size=len(x))) for x in lists
    ]
    catalog = draw(st.integers(len({i for x in lists for i in x}), 30))
    return lists, catalog, categories


def gini(values) -> float:
    """The Gini index by its mean-absolute-difference definition, Σ_i Σ_j |x_i - x_j| / 2n²x̄."""
    values = np.asarray(values, dtype=float)
    return np.abs(values[:, None] - values[None, :]).sum() / (2 * values.size**2 * values.mean())


@PROPERTY
@given(coverage_cases())
def test_coverage_and_diversity_match_their_definitions(case):
    lists, catalog, categories = case
    result = coverage_and_diversity(lists, catalog, categories=categories)
    shown = [i for x in lists for i in x]
    exposure = [shown.count(i) for i in sorted(set(shown))]
    assert result["coverage"] == len(set(shown)) / catalog
    everything = exposure + [0] * (catalog - len(exposure))
    assert close(result["gini"], gini(everything))
    assert close(result["entropy_bits"], scipy.stats.entropy(exposure, base=2))
    pairs = [
        [a != b for i, a in enumerate(labels) for b in labels[i + 1 :]] for labels in categories
    ]
    judged = [sum(p) / len(p) for p in pairs if p]
    if judged:
        assert close(result["intra_list_diversity"], np.mean(judged))
    else:
        assert result["intra_list_diversity"] is None


def test_coverage_hand_checked():
    result = coverage_and_diversity(
        [["a", "b"], ["a", "c"]], 4, categories=[["x", "x"], ["x", "y"]]
    )
    assert result["coverage"] == 0.75 and result["slots"] == 4
    # Exposure 2, 1, 1 and one unshown item: sorted 0, 1, 1, 2.
    assert result["gini"] == pytest.approx(((-3) * 0 + (-1) * 1 + 1 * 1 + 3 * 2) / (4 * 4))
    assert result["entropy_bits"] == pytest.approx(1.5)
    assert result["intra_list_diversity"] == 0.5
    assert coverage_and_diversity([[7, 7, 7]], 1)["gini"] == 0.0


# --- Perplexity: the exponential of scikit-learn's log loss -------------------------------------


@PROPERTY
@given(st.lists(st.floats(1e-6, 1.0), min_size=1, max_size=50))
def test_perplexity_is_the_exponential_of_scikit_learns_log_loss(probabilities):
    # Each token's probability p goes to the true class; the rest of the mass to two others.
    rows = [[p, (1 - p) / 2, (1 - p) / 2] for p in probabilities]
    result = perplexity([math.log(p) for p in probabilities])
    cross_entropy = metrics.log_loss([0] * len(rows), rows, labels=[0, 1, 2])
    assert close(result["cross_entropy"], cross_entropy)
    assert close(result["perplexity"], math.exp(cross_entropy))
    assert close(result["bits_per_token"], cross_entropy / math.log(2))


def test_a_uniform_model_over_v_tokens_has_perplexity_v():
    assert perplexity([math.log(1 / 50_000)] * 4)["perplexity"] == pytest.approx(50_000)
    assert perplexity([0.0])["perplexity"] == 1.0


# --- BLEU: sacrebleu ----------------------------------------------------------------------------

# Words that exercise the 13a tokenizer: punctuation, digits with periods, commas and hyphens,
# HTML entities, apostrophes and case.
BLEU_WORDS = [
    "the", "The", "cat", "sat", "on", "mat", "a", "dog", "mat.", "it's", "3.5", "1,000", "-", "9-5",
    "(x)", "&amp;", "&quot;hi&quot;", "end.", "U.S.", "<skipped>", "ok!", "e-mail", "A", "THE",
]  # fmt: skip
bleu_sentence = st.lists(st.sampled_from(BLEU_WORDS), min_size=0, max_size=12).map(" ".join)


@st.composite
def bleu_cases(draw):
    n = draw(st.integers(1, 5))
    hypotheses = draw(st.lists(bleu_sentence, min_size=n, max_size=n))
    n_refs = draw(st.integers(1, 3))
    streams = [draw(st.lists(bleu_sentence, min_size=n, max_size=n)) for _ in range(n_refs)]
    options = draw(
        st.fixed_dictionaries(
            {
                "smooth_method": st.sampled_from(["exp", "floor", "add-k", "none"]),
                "lowercase": st.booleans(),
                "tokenize": st.sampled_from(["13a", "none"]),
            }
        )
    )
    if options["smooth_method"] in ("floor", "add-k") and draw(st.booleans()):
        options["smooth_value"] = draw(st.floats(0.01, 2))
    return hypotheses, streams, options


@PROPERTY
@given(bleu_cases())
def test_bleu_matches_sacrebleu(case):
    hypotheses, streams, options = case
    references = [list(group) for group in zip(*streams, strict=True)]
    result = bleu(hypotheses, references, **options)
    oracle = sacrebleu.corpus_bleu(hypotheses, streams, **options)
    assert close(result["bleu"], oracle.score)
    assert result["precisions"] == pytest.approx(oracle.precisions, rel=1e-9, abs=1e-12)
    assert close(result["brevity_penalty"], oracle.bp)
    assert (result["hypothesis_length"], result["reference_length"]) == (
        oracle.sys_len, oracle.ref_len,
    )  # fmt: skip
    if options["smooth_method"] != "add-k":  # sacrebleu adds k to its own counts
        assert (result["matches"], result["totals"]) == (oracle.counts, oracle.totals)
    # sacrebleu's own report, rounded to two places, agrees too.
    assert f"{result['bleu']:.2f}" == f"{oracle.score:.2f}"


def test_bleu_hand_checked_example():
    result = bleu(["the cat sat on the mat"], [["the cat is on the mat"]])
    # 1-grams 5/6, 2-grams 3/5, 3-grams 1/4, 4-grams 0/3 → exp smoothing: 1 / (2 · 3).
    assert result["precisions"] == pytest.approx([500 / 6, 60.0, 25.0, 100 / 6])
    assert result["brevity_penalty"] == 1.0
    expected = math.exp(sum(math.log(p) for p in result["precisions"]) / 4)
    assert result["bleu"] == pytest.approx(expected)
    assert result["bleu"] == pytest.approx(37.9918, abs=1e-4)


def test_bleu_is_zero_when_no_hypothesis_has_four_words():
    result = bleu(["the cat"], [["the cat"]])
    assert result["bleu"] == 0.0
    assert mentions(result, "no hypothesis has 3 words")
    assert bleu(["the cat"], [["the cat"]], smooth_method="add-k")["bleu"] > 0


def test_the_13a_tokenizer_splits_punctuation_but_not_numbers():
    from apps.metrics.computations.text import tokenize_13a

    assert tokenize_13a("Hello, world! It's 3.5 or 1,000 (9-5).") == [
        "Hello", ",", "world", "!", "It's", "3.5", "or", "1,000", "(", "9", "-", "5", ")", ".",
    ]  # fmt: skip
    assert tokenize_13a("a &amp; b") == ["a", "&", "b"]


# --- Word error rate: jiwer ---------------------------------------------------------------------

wer_sentence = st.lists(st.sampled_from(["a", "b", "c", "the", "cat", "Cat"]), max_size=15).map(
    " ".join
)


@PROPERTY
@given(st.lists(st.tuples(wer_sentence, wer_sentence), min_size=1, max_size=8))
def test_word_error_rate_matches_jiwer(pairs):
    references, hypotheses = (list(side) for side in zip(*pairs, strict=True))
    assume(any(references))
    result = word_error_rate(references, hypotheses)
    assert math.isclose(result["wer"], jiwer.wer(references, hypotheses), rel_tol=1e-12)
    output = jiwer.process_words(references, hypotheses)
    assert result["edits"] == output.substitutions + output.deletions + output.insertions
    assert result["reference_words"] == sum(len(r.split()) for r in references)


def test_word_error_rate_hand_checked_and_above_one():
    # "sat" → "sit" is a substitution and "the" before "mat" is deleted: 2 edits in 6 words.
    result = word_error_rate(["the cat sat on the mat"], ["the cat sit on mat"])
    assert result["wer"] == pytest.approx(2 / 6)
    assert word_error_rate(["yes"], ["oh yes yes"])["wer"] == 2.0
    silence = word_error_rate([""], ["uh"])
    assert silence["wer"] is None and mentions(silence, "no words")


def test_word_error_rate_keeps_memory_linear_in_the_longest_hypothesis():
    from apps.metrics.computations.text import word_edit_distances

    # Long, equal sentences at the limit: the distance of a sentence to itself is 0 and to its
    # reverse is known; the table is never built whole.
    words = np.arange(MAX_SEGMENT_WORDS)
    lengths = np.array([MAX_SEGMENT_WORDS, MAX_SEGMENT_WORDS])
    distances = word_edit_distances(
        np.r_[words, words], lengths, np.r_[words, words[::-1]], lengths
    )
    assert distances.tolist() == [
        0,
        jiwer.process_words(" ".join(map(str, words)), " ".join(map(str, words[::-1]))).wer
        * MAX_SEGMENT_WORDS,
    ]


# --- Business metrics ---------------------------------------------------------------------------


def test_business_metrics_hand_checked():
    fraud = fraud_loss_rate(42_000, 60_000_000, false_declines=1_500, legitimate_attempts=500_000)
    assert fraud["fraud_loss_bps"] == pytest.approx(7.0)
    assert fraud["false_decline_rate"] == 0.003
    search = search_success(20_000, 13_000, searches=50_000, zero_result_searches=2_000)
    assert (search["search_success_rate"], search["zero_result_rate"]) == (0.65, 0.04)
    gmv = gross_merchandise_value([25, 40, 35], marketplace_revenue=12)
    assert (gmv["gmv"], gmv["average_order_value"], gmv["take_rate"]) == (100, 100 / 3, 0.12)
    ads = ecpm(37.5, 15_000, clicks=45)
    assert ads["ecpm"] == pytest.approx(2.5)
    assert ads["ecpm"] == pytest.approx(1000 * ads["ctr"] * ads["revenue_per_click"])


# --- The new calculators: undefined values and bad input ----------------------------------------


@pytest.mark.parametrize(
    ("calculate", "key", "reason"),
    [
        (lambda: calibration([1, 1], [0.2, 0.9]), "brier_skill_score", "one class"),
        (lambda: operating_point([1, 1], [0.2, 0.9]), "roc_auc", "one class"),
        (lambda: prevalence(0, 0), "prevalence", "total is 0"),
        (lambda: prevalence(0, 10), "one_in", "no positives"),
        (lambda: prevalence(5, 10, recall=0, specificity=1), "precision", "flag nothing"),
        (lambda: percentage_errors([0, 1], [1, 1]), "mape", "machine epsilon"),
        (lambda: percentage_errors([0, 0], [1, 1]), "wape", "every true value is 0"),
        (lambda: hit_rate_at_k([[0, 0]], [[1, 2]], k=1), "hit_rate_at_k", "no relevant item"),
        (lambda: coverage_and_diversity([[1]], 1, [["a"]]), "intra_list_diversity", "two"),
        (lambda: perplexity([-1000.0]), "perplexity", "64-bit"),
        (lambda: word_error_rate(["", ""], ["a", ""]), "wer", "no words"),
        (lambda: fraud_loss_rate(1, 0), "fraud_loss_bps", "payment_volume is 0"),
        (lambda: search_success(0, 0), "search_success_rate", "no sessions"),
        (lambda: gross_merchandise_value([0, 0], 5), "take_rate", "GMV is 0"),
        (lambda: ecpm(5, 0), "ecpm", "no impressions"),
        (lambda: ecpm(5, 10, clicks=0), "revenue_per_click", "no clicks"),
    ],
)
def test_new_calculators_report_undefined_values_as_none_with_a_reason(calculate, key, reason):
    result = calculate()
    assert result[key] is None
    assert mentions(result, reason), result["warnings"]


@pytest.mark.parametrize(
    ("calculate", "field", "message"),
    [
        (lambda: calibration([0, 1], [0.5, 1.5]), "y_prob", "1.5 (item 2) is not a probability"),
        (lambda: calibration([0, 1], [0.5]), "y_prob", "same length"),
        (lambda: calibration([0, 1], [0.5, 0.5], n_bins=0), "n_bins", "from 1"),
        (lambda: calibration([0], [0.5], strategy="kmeans"), "strategy", "'uniform' or"),
        (lambda: operating_point([0, 1], [0.2, 0.4], target_recall=0), "target_recall", "above 0"),
        (lambda: operating_point([0, 1], [0.2, 0.4], target_precision=2), "target_precision", ""),
        (lambda: operating_point([0, 2], [0.2, 0.4]), "y_true", "only 0 and 1"),
        (lambda: top_k_accuracy([0], [[0.5]]), "y_score", "2 to 1,000"),
        (lambda: top_k_accuracy([0, 1], [[0.5, 0.1], [0.2]]), "y_score", "row 2 has 1 scores"),
        (lambda: top_k_accuracy([0, 3], [[1, 0, 0], [0, 1, 0]]), "y_true", "from 0 to 2"),
        (lambda: top_k_accuracy([0.5], [[1, 0]]), "y_true", "not a class index"),
        (lambda: top_k_accuracy([0], [[1, "x"]]), "y_score", "row 1: 'x' (item 2)"),
        (lambda: top_k_accuracy([0], [[1, 0]], k=0), "k", "from 1"),
        (lambda: top_k_accuracy([0], "0.1 0.9"), "y_score", "must be a list"),
        (lambda: prevalence(11, 10), "positives", "must not exceed total"),
        (lambda: prevalence(1, 10, recall=1.2, specificity=0.5), "recall", "from 0 to 1"),
        (lambda: percentage_errors([1, 2], [1]), "y_pred", "same length"),
        (lambda: pinball_loss([1], [1], alpha=1.5), "alpha", "from 0 to 1"),
        (lambda: hit_rate_at_k([[1, 0]], [[1]], k=1), "y_score", "query 1 has 2 grades"),
        (lambda: coverage_and_diversity([[1, 2, 3]], 2), "catalog_size", "3 distinct items"),
        (lambda: coverage_and_diversity([[1], []], 2), "recommendations", "list 2 is empty"),
        (lambda: coverage_and_diversity([[1], ["a"]], 2), "recommendations", "mixes"),
        (lambda: coverage_and_diversity([[1.5]], 2), "recommendations", "list 1: 1.5"),
        (lambda: coverage_and_diversity([[1, 2]], 2, [["a"]]), "categories", "one category"),
        (lambda: perplexity([-0.5, 0.2]), "logprobs", "0.2 (item 2) is above 0"),
        (lambda: bleu(["a"], [["a"], ["b"]]), "references", "2 lists but there are 1"),
        (lambda: bleu(["a"], [[]]), "references", "1 to 4 reference"),
        (lambda: bleu(["a"], [["a"] * (MAX_REFERENCES + 1)]), "references", "1 to 4"),
        (lambda: bleu([3], [["a"]]), "hypotheses", "3 (item 1) is not text"),
        (lambda: bleu(["a"], [["a"]], smooth_method="add-one"), "smooth_method", "'exp'"),
        (lambda: bleu(["a"], [["a"]], smooth_value=-1), "smooth_value", "≥ 0"),
        (lambda: bleu(["a"], [["a"]], lowercase="yes"), "lowercase", "true or false"),
        (lambda: bleu(["a"], [["a"]], tokenize="intl"), "tokenize", "'13a' or 'none'"),
        (lambda: bleu(["a"] * (MAX_SEGMENTS + 1), [["a"]]), "hypotheses", "at most 1,000"),
        (
            lambda: bleu(["a" * MAX_TEXT_CHARACTERS], [["b"]]),
            "hypotheses",
            f"at most {MAX_TEXT_CHARACTERS:,}",
        ),
        (lambda: word_error_rate(["a b"], ["a", "b"]), "hypotheses", "same length"),
        (
            lambda: word_error_rate(["a " * (MAX_SEGMENT_WORDS + 1)], ["a"]),
            "references",
            f"sentence 1 has {MAX_SEGMENT_WORDS + 1} words",
        ),
        (lambda: fraud_loss_rate(-1, 10), "fraud_losses", "≥ 0"),
        (lambda: fraud_loss_rate(1, 10, false_declines=3), "legitimate_attempts", "both"),
        (
            lambda: fraud_loss_rate(1, 10, false_declines=3, legitimate_attempts=2),
            "false_declines",
            "must not exceed legitimate_attempts",
        ),
        (lambda: search_success(5, 6), "successful_sessions", "must not exceed sessions"),
        (lambda: search_success(5, 2, searches=4), "zero_result_searches", "both"),
        (lambda: gross_merchandise_value([10, -3]), "order_values", "-3 (item 2) is negative"),
        (lambda: ecpm(10, 100, clicks=101), "clicks", "must not exceed impressions"),
        (lambda: ecpm(-10, 100), "revenue", "≥ 0"),
    ],
)
def test_new_calculators_refuse_bad_input_naming_the_field(calculate, field, message):
    with pytest.raises(InputError) as raised:
        calculate()
    assert raised.value.field == field
    assert message in raised.value.message


def test_the_largest_text_requests_are_computed_quickly():
    # A denial-of-service bound: the largest BLEU and word error rate requests allowed.
    import time

    rng = np.random.default_rng(3)
    vocabulary = np.array(["a", "bb", "c", "dd", "e", "ff", "g", "hh"])
    characters = MAX_TEXT_CHARACTERS // (2 * MAX_SEGMENTS)
    texts = [" ".join(rng.choice(vocabulary, 200))[:characters] for _ in range(2 * MAX_SEGMENTS)]
    started = time.monotonic()
    result = bleu(texts[:MAX_SEGMENTS], [[t] for t in texts[MAX_SEGMENTS:]])
    assert result["segments"] == MAX_SEGMENTS
    words = [" ".join(rng.choice(vocabulary[::2], MAX_SEGMENT_WORDS)) for _ in range(1200)]
    result = word_error_rate(words[:600], words[600:])
    assert result["reference_words"] == 600 * MAX_SEGMENT_WORDS
    assert time.monotonic() - started < 3
