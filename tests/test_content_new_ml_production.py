"""New ML lifecycle pages on production concerns: each page meets the anatomy, and every worked
number it states is recomputed here and must appear in the page text.

Pages: feature-store, batch-vs-online-inference, model-serving, model-compression,
distribution-shift, fairness.
"""

import re

import numpy as np
import pytest

from apps.concepts.models import Concept
from apps.core.content import FIXTURES_DIR, read_file

SECTIONS = [
    "What it is",
    "How it works",
    "Trade-offs",
    "Numbers to know",
    "In an ML system",
    "In a design review",
]

NEW_PAGES = [
    "feature-store",
    "batch-vs-online-inference",
    "model-serving",
    "model-compression",
    "distribution-shift",
    "fairness",
]

EXISTING_SLUGS = {
    path.stem for path in (FIXTURES_DIR / "concepts").glob("*.md") if path.stem not in NEW_PAGES
}


def data(slug: str) -> dict:
    return read_file(FIXTURES_DIR / "concepts" / f"{slug}.md")


def text(slug: str) -> str:
    """The page body with line breaks folded, so a phrase wrapped across lines still matches."""
    return re.sub(r"\s+", " ", data(slug)["body"])


# --- Anatomy -------------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", NEW_PAGES)
def test_new_page_follows_the_anatomy(slug):
    page = data(slug)
    body = page["body"]
    assert page["level"] == "ml-lifecycle"
    assert len(page["summary"]) <= 160
    assert len(body.split()) >= 450, "at least 450 words of body"
    headings = re.findall(r"^## (.+?)\s*$", body, flags=re.MULTILINE)
    assert headings == SECTIONS
    links = set(re.findall(r"\[\[([a-z0-9-]+)(?:[|#\]])", body)) - {slug, "metric"}
    assert len(links & EXISTING_SLUGS) >= 2, "at least two links to existing concepts"
    assert re.search(r"\[\[metric:[a-z0-9-]+", body), "links a metric page where one is meant"
    assert page["references"]
    for ref in page["references"]:
        assert ref["url"].startswith("https://"), ref


@pytest.mark.django_db
@pytest.mark.parametrize("slug", NEW_PAGES)
def test_new_page_loads_without_broken_links_and_every_alias_anchor_exists(slug):
    concept = Concept.objects.get(slug=slug)
    assert concept.level.slug == "ml-lifecycle"
    assert concept.broken_links == []
    for alias in concept.aliases:
        if "#" in alias:
            assert f'id="{alias.split("#", 1)[1]}"' in concept.body_html, alias


@pytest.mark.parametrize("slug", NEW_PAGES)
def test_new_aliases_are_not_claimed_by_another_page(slug):
    mine = {alias.split("#", 1)[0].lower() for alias in data(slug).get("aliases") or []}
    for path in (FIXTURES_DIR / "concepts").glob("*.md"):
        if path.stem == slug:
            continue
        other = read_file(path)
        theirs = {alias.split("#", 1)[0].lower() for alias in other.get("aliases") or []}
        theirs.add(str(other["title"]).lower())
        assert not mine & theirs, f"{slug} and {path.stem} both claim {mine & theirs}"


# --- Feature store -------------------------------------------------------------------------------


def test_feature_store_numbers():
    body = text("feature-store")
    users, features, bytes_per_value = 10**8, 200, 4
    assert users * features * bytes_per_value == 80 * 10**9
    assert "$10^8$ users × 200 features × 4 bytes (float32) = 80 GB" in body

    writes_per_s = 10**8 / 3600
    assert round(writes_per_s, -2) == 27_800
    assert "$10^8 / 3{,}600 \\approx 27{,}800$ writes/s" in body

    period_h, lag_h = 24, 2
    assert (lag_h, lag_h + period_h, lag_h + period_h / 2) == (2, 26, 14)
    assert "between 2 and 26 hours, 14 hours on average" in body

    leaked_share = 2 / 24
    assert f"{leaked_share:.1%}" == "8.3%"
    assert "2 of every 24 hours, about 8.3% of rows" in body
    assert "about 8.3% of training rows see a value serving could not have had" in body


@pytest.mark.django_db
def test_feature_store_title_wins_the_glossary_term_over_the_skew_section():
    from apps.core.markdown import glossary_terms

    urls = {term.lower(): url for term, url in glossary_terms()}
    assert urls["feature store"] == Concept.objects.get(slug="feature-store").get_absolute_url()


# --- Batch, online and streaming inference -------------------------------------------------------


def test_batch_vs_online_numbers():
    body = text("batch-vs-online-inference")
    users, active, sessions, users_per_s = 10**8, 3 * 10**7, 5, 20_000

    run_s = users / users_per_s
    assert run_s == 5_000 and round(run_s / 3600, 1) == 1.4
    assert "$10^8 / 20{,}000 = 5{,}000$ s, about 1.4 hours" in body

    assert users * 100 * 8 == 80 * 10**9
    assert "$10^8 \\times 100 \\times 8$ B = 80 GB" in body

    assert 1 - active / users == pytest.approx(0.70)
    assert "With 30% of users active on a given day, 70% of each nightly run" in body

    requests = active * sessions
    qps = requests / 86_400
    assert requests == 1.5 * 10**8
    assert round(qps, -1) == 1_740 and round(3 * qps, -2) == 5_200
    assert "about 1,740 QPS on average and about 5,200 at a 3× peak" in body
    assert "150 million scorings a day against 100 million for the batch run" in body
    reads_per_prediction = requests / users
    assert reads_per_prediction == 1.5 and reads_per_prediction > 1
    assert "read more than once on average before the next run replaces it" in body

    lag_h, period_h = run_s / 3600, 24
    assert (round(lag_h, 1), round(lag_h + period_h, 1)) == (1.4, 25.4)
    assert round(lag_h + period_h / 2, 1) == 13.4
    assert "predictions are 1.4 to 25.4 hours old, 13.4 hours on average" in body
    assert "waits up to 25.4 hours" in body


# --- Model serving -------------------------------------------------------------------------------


def test_model_serving_budget_and_batching_numbers():
    body = text("model-serving")
    stages = [15, 15, 15, 35, 5]
    assert sum(stages) + 15 == 100
    assert "100 ms p99 split as 15 + 15 + 15 + 35 + 5 ms plus 15 ms headroom" in body
    for row in [
        "| Network, gateway, auth | 15 ms |",
        "| Ranking model | 35 ms |",
        "| Headroom | 15 ms |",
    ]:
        assert row in body

    batch_1_s, batch_16_s = 0.010, 0.025
    assert (round(1 / batch_1_s), round(16 / batch_16_s)) == (100, 640)
    assert "throughput rises from 100 to 640 inferences/s" in body
    assert 400 * 0.005 == 2
    assert "$400 \\times 0.005 = 2$ requests" in body
    assert "TorchServe's documentation warns" not in body
    assert "in limited maintenance since February 2025" in body


def test_model_serving_cost_load_time_and_canary_numbers():
    body = text("model-serving")
    dollars_per_hour = 2
    per_million = [dollars_per_hour / (rate * 3600) * 1e6 for rate in (100, 640)]
    assert f"{per_million[0]:.2f}" == "5.56" and f"{per_million[1]:.2f}" == "0.87"
    assert "\\approx 5.56$ dollars per million predictions at 100/s" in body
    assert "about 0.87 dollars per million at 640/s" in body

    # Same load rates as the disk-memory-indexes page (2 GB/s NVMe, 200 MB/s remote storage).
    weights_gb = 14
    assert weights_gb / 2 == 7 and weights_gb / 0.2 == pytest.approx(70)
    assert f"{weights_gb / 1.25:.1f}" == "11.2"
    assert "7 s at 2 GB/s from local NVMe and 70 s at 200 MB/s from remote storage" in body
    assert "fills a 10 Gbit/s link (1.25 GB/s) takes about 11.2 s" in body
    shared = text("disk-memory-indexes")
    assert "at 2 GB/s from local NVMe" in shared and "at 200 MB/s from remote storage" in shared

    canary_per_hour = 0.01 * 2000 * 3600
    baseline_errors = canary_per_hour * 0.001
    assert canary_per_hour == 72_000 and baseline_errors == pytest.approx(72)
    sigma = baseline_errors**0.5
    assert (2 * baseline_errors - baseline_errors) / sigma > 8
    assert (1.1 * baseline_errors - baseline_errors) / sigma < 1
    assert round(1.1 * baseline_errors) == 79
    assert "sees 72,000 requests an hour, about 72 errors at a 0.1% error rate" in body
    assert "A doubling to 144 stands out by more than 8 standard deviations" in body


# --- Model compression ---------------------------------------------------------------------------


def test_distillation_softmax_at_two_temperatures():
    body = text("model-compression")
    logits = np.array([4.0, 2.0, 0.0])
    for temperature, stated in [(1, "(0.867, 0.117, 0.016)"), (4, "(0.506, 0.307, 0.186)")]:
        probs = np.exp(logits / temperature) / np.exp(logits / temperature).sum()
        assert "(" + ", ".join(f"{p:.3f}" for p in probs) + ")" == stated
        assert f"$T = {temperature}$ gives ${stated}$" in body


def test_quantisation_scale_and_rounding_error():
    body = text("model-compression")
    for max_abs, scale, error in [(0.5, "0.00394", "0.00197"), (8.0, "0.063", "0.0315")]:
        s = max_abs / 127
        assert f"{s:.3g}" == scale and f"{s / 2:.3g}" == error
    assert "$s \\approx 0.00394$ and rounding errs by at most $s/2 \\approx 0.00197$" in body
    assert "$s \\approx 0.063$, and every weight can be off by up to 0.0315" in body


def test_model_size_bandwidth_sparsity_and_low_rank_arithmetic():
    body = text("model-compression")
    params = 7e9
    sizes = {bits: params * bits / 8 / 1e9 for bits in (32, 16, 8, 4)}
    assert sizes == {32: 28, 16: 14, 8: 7, 4: 3.5}
    assert "28 GB in fp32, 14 GB in fp16 or bf16, 7 GB in int8 or fp8, 3.5 GB in int4" in body
    bits_with_scales = 4 + 16 / 128
    assert bits_with_scales == 4.125 and round(params * bits_with_scales / 8 / 1e9, 2) == 3.61
    assert "$4 + 16/128 = 4.125$ bits, about 3.61 GB" in body

    bert = 110e6
    assert (bert * 4 / 1e6, bert * 1 / 1e6) == (440, 110)
    assert "440 MB in fp32, 110 MB in int8" in body

    bandwidth = 2e12
    ms_per_token = [gb * 1e9 / bandwidth * 1e3 for gb in (14, 7, 3.5)]
    assert ms_per_token == [7, 3.5, 1.75]
    assert "at least 7 ms per token for 14 GB, 3.5 ms for 7 GB, 1.75 ms for 3.5 GB" in body

    sparse_bytes = 0.1 * (2 + 4)
    assert sparse_bytes == pytest.approx(0.6) and f"{2 / sparse_bytes:.1f}" == "3.3"
    assert "$0.1 \\times (2 + 4) = 0.6$ bytes per original weight against 2: a 3.3× saving" in body

    m = n = 4096
    rank = 256
    assert m * n == 16_777_216 and rank * (m + n) == 2_097_152
    assert m * n / (rank * (m + n)) == 8 and m * n / (m + n) == 2048
    assert "16,777,216 weights; rank 256 needs $2 \\times 4096 \\times 256 = 2{,}097{,}152$" in body
    assert "8× fewer. The break-even rank is 2,048" in body


def test_compression_page_quotes_published_results_as_published():
    body = text("model-compression")
    assert "40% smaller and 60% faster than BERT and kept 97%" in body
    assert "from 61 million to 6.7 million weights (9×)" in body
    assert "from 138 million to 10.3 million (13×)" in body
    assert round(61 / 6.7) == 9 and round(138 / 10.3) == 13


# --- Distribution shift --------------------------------------------------------------------------


def _psi(current: np.ndarray, reference: np.ndarray) -> np.ndarray:
    current = np.where(current == 0, 1e-4, current)
    return np.sum((current - reference) * np.log(current / reference), axis=-1)


def test_psi_under_no_shift_depends_on_window_size():
    from scipy import stats

    body = text("distribution-shift")
    bins, reference = 10, np.full(10, 0.1)
    assert f"{stats.chi2.ppf(0.95, bins - 1) / 1000:.3f}" == "0.017"
    rng = np.random.default_rng(2024)
    windows_1000 = rng.multinomial(1000, reference, size=20_000) / 1000
    assert np.quantile(_psi(windows_1000, reference), 0.95) == pytest.approx(0.017, abs=0.001)
    windows_100 = rng.multinomial(100, reference, size=20_000) / 100
    above = np.mean(_psi(windows_100, reference) > 0.1)
    assert 1 / 3 < above < 0.45, above
    assert stats.chi2.sf(0.1 * 100, bins - 1) > 1 / 3
    assert "its 95th percentile is about 0.017" in body
    assert "a simulation with no shift crossed 0.1 in more than a third of windows" in body
    assert "below 0.1 stable, 0.1 to 0.25 moderate, above 0.25 major" in body


def test_ks_critical_values_and_classifier_test_standard_error():
    body = text("distribution-shift")
    c = np.sqrt(-np.log(0.05 / 2) / 2)
    assert f"{c:.3f}" == "1.358"
    assert "about 1.358 at $\\alpha = 0.05$" in body
    critical = [c * np.sqrt((n + n) / (n * n)) for n in (1_000, 1_000_000)]
    assert f"{critical[0]:.4f}" == "0.0607" and f"{critical[1]:.5f}" == "0.00192"
    assert "The critical value is 0.0607 for two samples of 1,000 and 0.00192" in body

    se = np.sqrt(0.25 / 10_000)
    assert se == pytest.approx(0.005)
    assert 0.5 + 2 * se == pytest.approx(0.51)
    assert "0.005 for 10,000 held-out rows, so accuracy above about 0.51" in body


def test_label_shift_correction_weights_and_effective_sample_size():
    body = text("distribution-shift")
    p, prior, new_prior = 0.10, 0.01, 0.02
    up = p * new_prior / prior
    down = (1 - p) * (1 - new_prior) / (1 - prior)
    assert round((1 - new_prior) / (1 - prior), 4) == 0.9899
    assert round(up / (up + down), 3) == 0.183
    assert "$p' = 0.2 / (0.2 + 0.9 \\times 0.9899) \\approx 0.183$" in body
    assert "turns a score of 0.10 into about 0.183" in body

    c = 0.8
    assert c / (1 - c) * 1 == pytest.approx(4)
    assert "with $c = 0.8$ and equal sample sizes, $w = 4$" in body

    weights = np.array([0.5] * 900 + [5.5] * 100)
    ess = weights.sum() ** 2 / np.sum(weights**2)
    assert weights.sum() == 1000 and round(ess) == 308
    assert "900 weighted 0.5 and 100 weighted 5.5, are worth about 308 unweighted rows" in body


# --- Algorithmic fairness ------------------------------------------------------------------------

GROUPS = {
    "A": {"tp": 168, "fn": 42, "fp": 72, "tn": 418},
    "B": {"tp": 280, "fn": 70, "fp": 120, "tn": 230},
}


def _rates(cells: dict) -> dict:
    n = sum(cells.values())
    positives, negatives = cells["tp"] + cells["fn"], cells["fp"] + cells["tn"]
    return {
        "n": n,
        "base": positives / n,
        "tpr": cells["tp"] / positives,
        "fpr": cells["fp"] / negatives,
        "ppv": cells["tp"] / (cells["tp"] + cells["fp"]),
        "selection": (cells["tp"] + cells["fp"]) / n,
    }


def test_worked_example_meets_two_criteria_and_fails_two():
    body = text("fairness")
    a, b = _rates(GROUPS["A"]), _rates(GROUPS["B"])
    assert a["n"] == b["n"] == 700
    assert (a["base"], b["base"]) == (0.3, 0.5)
    assert a["tpr"] == b["tpr"] == 0.8 and a["ppv"] == pytest.approx(b["ppv"]) == pytest.approx(0.7)
    assert (f"{a['fpr']:.3f}", f"{b['fpr']:.3f}") == ("0.147", "0.343")
    assert (f"{a['selection']:.1%}", f"{b['selection']:.1%}") == ("34.3%", "57.1%")
    assert "| TP, FN, FP, TN | 168, 42, 72, 418 | 280, 70, 120, 230 |" in body
    assert "| False positive rate | 72 / 490 ≈ 0.147 | 120 / 350 ≈ 0.343 |" in body
    assert "| Selection rate | 240 / 700 ≈ 34.3% | 400 / 700 ≈ 57.1% |" in body

    ratio = a["selection"] / b["selection"]
    assert round(ratio, 2) == 0.6 and ratio < 0.8
    assert "$34.3\\% / 57.1\\% = 0.6$, well under 0.8" in body


def test_chouldechova_identity_gives_the_table_fprs():
    body = text("fairness")
    for group in GROUPS.values():
        r = _rates(group)
        p, ppv, fnr = r["base"], r["ppv"], 1 - r["tpr"]
        assert p / (1 - p) * (1 - ppv) / ppv * (1 - fnr) == pytest.approx(r["fpr"])
    assert "\\frac{0.3}{0.7} \\cdot \\frac{0.3}{0.7} \\cdot 0.8 \\approx 0.147" in body
    assert "1 \\cdot \\frac{0.3}{0.7} \\cdot 0.8 \\approx 0.343" in body


def test_recall_intervals_and_reweighing_weights():
    body = text("fairness")
    for positives, stated in [(200, "0.055"), (20, "0.175")]:
        assert f"{1.96 * np.sqrt(0.8 * 0.2 / positives):.3f}" == stated
    assert "with 200 positives and recall 0.80, the 95% interval is about ±0.055" in body
    assert "with 20 positives, about ±0.175" in body

    total = 1400
    p_group, p_pos = 700 / total, (210 + 350) / total
    cells = {("A", 1): 210, ("B", 1): 350, ("A", 0): 490, ("B", 0): 350}
    weights = {
        key: p_group * (p_pos if key[1] else 1 - p_pos) / (count / total)
        for key, count in cells.items()
    }
    stated = {("A", 1): "1.333", ("B", 1): "0.8", ("A", 0): "0.857", ("B", 0): "1.2"}
    for key, value in stated.items():
        assert f"{weights[key]:.3f}".rstrip("0").rstrip(".") == value
    assert "1.333 for group A positives, 0.8 for group B positives, 0.857 for A negatives" in body
    assert "and 1.2 for B negatives" in body
