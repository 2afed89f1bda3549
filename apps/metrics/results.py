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
