"""How a calculator's result is shown: which values in which order, and the charts."""

from __future__ import annotations

from typing import Any

from apps.metrics import svg

#: Calculators whose result is a plain table of values: (key, label) in display order.
VALUE_ROWS: dict[str, list[tuple[str, str]]] = {
    "regression": [
        ("mse", "MSE"), ("rmse", "RMSE"), ("mae", "MAE"), ("r2", "R²"),
        ("adjusted_r2", "Adjusted R²"), ("huber", "Huber loss (mean)"), ("n", "Samples"),
    ],
    "ranking": [
        ("ndcg_at_k", "NDCG@k"), ("precision_at_k", "Precision@k"), ("recall_at_k", "Recall@k"),
        ("mrr", "MRR"), ("map_at_k", "MAP@k"), ("gain", "NDCG gain"), ("queries", "Queries"),
        ("queries_evaluated", "Queries with a relevant item"),
    ],
    "iou": [("iou", "IoU")],
    "detection": [("map", "mAP@[.50:.95]"), ("map_50", "mAP@.50"), ("map_75", "mAP@.75")],
    "segmentation": [("miou", "mIoU")],
    "discounted-return": [("total", "Undiscounted total")],
    "latency": [
        ("count", "Samples"), ("mean", "Mean (ms)"), ("p50", "p50 (ms)"), ("p90", "p90 (ms)"),
        ("p95", "p95 (ms)"), ("p99", "p99 (ms)"), ("max", "Max (ms)"),
    ],
    "throughput": [("throughput_rps", "Throughput (requests/s)")],
    "energy": [
        ("energy_j", "Energy (J)"), ("energy_wh", "Energy (Wh)"),
        ("energy_per_request_j", "Energy per request (J)"),
    ],
    "ctr": [("ctr", "Click-through rate")],
    "dau-mau": [("stickiness", "DAU/MAU stickiness")],
    "retention": [("retention", "Retention")],
    "conversion-rate": [("conversion_rate", "Conversion rate")],
    "prevalence": [
        ("prevalence", "Prevalence"), ("one_in", "One positive in"), ("precision", "Precision"),
        ("npv", "Negative predictive value"), ("predicted_positive_rate", "Share flagged"),
        ("false_alarms_per_true_positive", "False alarms per true positive"),
    ],
    "percentage-errors": [
        ("mape", "MAPE (fraction)"), ("smape", "sMAPE (0 to 2)"), ("wape", "WAPE"),
        ("mae", "MAE"), ("n", "Points"),
    ],
    "pinball-loss": [
        ("pinball_loss", "Pinball loss"), ("alpha", "Quantile α"),
        ("share_below", "Share of actuals at or below the forecast"), ("n", "Points"),
    ],
    "hit-rate": [
        ("hit_rate_at_k", "Hit rate@k"), ("recall_at_k", "Recall@k"), ("hits", "Users hit"),
        ("queries_evaluated", "Users with a relevant item"),
    ],
    "coverage": [
        ("coverage", "Catalog coverage"), ("distinct_items", "Distinct items recommended"),
        ("gini", "Gini of exposure"), ("entropy_bits", "Entropy (bits)"),
        ("normalised_entropy", "Normalised entropy"),
        ("intra_list_diversity", "Intra-list diversity"),
    ],
    "perplexity": [
        ("perplexity", "Perplexity"), ("cross_entropy", "Cross-entropy (nats per token)"),
        ("bits_per_token", "Bits per token"), ("tokens", "Tokens"),
    ],
    "word-error-rate": [
        ("wer", "Word error rate"), ("edits", "Edits (S + D + I)"),
        ("reference_words", "Reference words"), ("hypothesis_words", "Recognised words"),
    ],
    "fraud-loss-rate": [
        ("fraud_loss_bps", "Fraud losses (basis points of volume)"),
        ("false_decline_rate", "False-decline rate"),
    ],
    "search-success": [
        ("search_success_rate", "Search success rate"), ("zero_result_rate", "Zero-result rate"),
    ],
    "gmv": [
        ("gmv", "GMV"), ("orders", "Orders"), ("average_order_value", "Average order value"),
        ("take_rate", "Take rate"),
    ],
    "ecpm": [("ecpm", "eCPM"), ("ctr", "CTR"), ("revenue_per_click", "Revenue per click")],
}  # fmt: skip

#: Per-item breakdowns shown under the values: result key → column heading.
BREAKDOWNS = {
    "detection": ("per_category", "Category", "AP"),
    "segmentation": ("per_class_iou", "Class", "IoU"),
}


def present(calculator: str, result: dict[str, Any] | None) -> dict[str, Any]:
    """Template context for a result: value rows, breakdown rows, matrix rows, charts."""
    if not result:
        return {}
    context: dict[str, Any] = {"rows": VALUE_ROWS.get(calculator)}
    if calculator in BREAKDOWNS:
        key, item_label, value_label = BREAKDOWNS[calculator]
        context["breakdown"] = {
            "item": item_label,
            "value": value_label,
            "rows": sorted((result.get(key) or {}).items()),
        }
    if calculator == "discounted-return":
        context["breakdown"] = {
            "item": "Step t",
            "value": "Return G_t",
            "rows": list(enumerate(result["returns"])),
        }
    if calculator == "multiclass-classification":
        context["matrix"] = list(zip(result["labels"], result["confusion_matrix"], strict=True))
    context["charts"] = svg.charts_for(calculator, result)
    return context
