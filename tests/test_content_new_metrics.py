"""The calibration, operating-point, forecasting, recommendation, language and business metric
pages: every number their text states beyond the worked example's front matter is computed here
with the calculators (tests/test_metrics_pages.py recomputes the front matter's), and their names
and aliases claim nothing another page already holds."""

import math
import re

import pytest

from apps.core.content import FIXTURES_DIR, read_file
from apps.metrics import computations as c
from apps.metrics.forms import CalibrationForm

FAMILIES = {
    "classification": ["prevalence", "precision-at-recall", "top-k-accuracy", "calibration-error",
                       "brier-score"],
    "regression": ["mape", "pinball-loss"],
    "ranking": ["hit-rate-at-k", "coverage-and-diversity"],
    "language": ["perplexity", "bleu", "word-error-rate"],
    "business": ["fraud-loss-rate", "search-success-rate", "gross-merchandise-value", "ecpm"],
}  # fmt: skip
SLUGS = [slug for slugs in FAMILIES.values() for slug in slugs]


def text(slug: str) -> str:
    data = read_file(FIXTURES_DIR / "metrics" / f"{slug}.md")
    return re.sub(r"\s+", " ", f"{data['summary']} {data['body']}")


@pytest.mark.parametrize(("family", "slugs"), sorted(FAMILIES.items()))
def test_each_new_page_sits_in_its_family_with_a_calculator(family, slugs):
    for slug in slugs:
        data = read_file(FIXTURES_DIR / "metrics" / f"{slug}.md")
        assert data["family"] == family, slug
        assert data["calculator"] == data["example"]["calculator"], slug
        assert data["references"], slug


def test_business_pages_say_they_have_a_simple_calculator():
    for slug in FAMILIES["business"]:
        assert "This page has a simple calculator" in text(slug), slug


def test_new_names_and_aliases_are_not_claimed_by_another_page():
    taken: dict[str, set[str]] = {}
    for path in sorted(FIXTURES_DIR.glob("*/*.md")):
        data = read_file(path)
        names = [data.get("name") or data.get("title") or "", *(data.get("aliases") or [])]
        for name in names:
            taken.setdefault(str(name).split("#")[0].lower(), set()).add(path.stem)
    for slug in SLUGS:
        data = read_file(FIXTURES_DIR / "metrics" / f"{slug}.md")
        for name in [data["name"], *(data.get("aliases") or [])]:
            assert taken[name.lower()] == {slug}, f"{name!r} is also used by {taken[name.lower()]}"
        assert "hit rate" not in [a.lower() for a in data.get("aliases") or []], slug


# --- Classification -------------------------------------------------------------------------------


def test_calibration_error_table_and_the_binning_example():
    page = text("calibration-error")
    result = c.calibration(
        [0, 0, 1, 0, 0, 1, 1, 1, 1, 1],
        [0.1, 0.15, 0.3, 0.35, 0.5, 0.55, 0.7, 0.75, 0.9, 0.95],
        n_bins=5,
    )
    rows = [(b["mean_predicted"], b["fraction_positive"], b["gap"]) for b in result["bins"]]
    expected = [(0.125, 0.0, 0.125), (0.325, 0.5, 0.175), (0.525, 0.5, 0.025),
                (0.725, 1.0, 0.275), (0.925, 1.0, 0.075)]  # fmt: skip
    assert rows == [pytest.approx(row) for row in expected]
    assert sum(gap for *_, gap in expected) == pytest.approx(0.675)
    assert "0.2 \\times 0.675 = 0.135" in page and "MCE is 0.275" in page
    # The calibration concept page's eight predictions: ECE 0, 0.15 and 0.35 with 2, 4, 8 bins.
    predictions = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9]
    labels = [0, 0, 1, 0, 1, 0, 1, 1]
    for bins, ece in ((2, 0.0), (4, 0.15), (8, 0.35)):
        assert c.calibration(labels, predictions, n_bins=bins)["ece"] == pytest.approx(ece)
    assert "ECE 0, 0.15 or 0.35 with 2, 4 or 8 equal-width bins" in page
    assert CalibrationForm.base_fields["n_bins"].initial == 10 and "starts at 10" in page


def test_brier_score_numbers():
    page = text("brier-score")
    assert c.calibration([1, 0, 0, 0], [0.25] * 4)["brier_score"] == pytest.approx(0.1875)
    better = c.calibration([1, 0, 0, 0], [0.9, 0.4, 0.3, 0.1])
    assert better["brier_score"] == pytest.approx(0.0675)
    assert better["brier_skill_score"] == pytest.approx(0.64)
    assert "falls to 0.0675, a skill of 0.64" in page
    assert round(math.log(1000), 2) == 6.91 and (0.001 - 1) ** 2 < 1
    assert "costs $\\ln 1000 \\approx 6.91$ in log loss and at most 1 here" in page
    assert c.calibration([1] + [0] * 99, [0.01] * 100)["brier_score"] == pytest.approx(0.0099)
    assert "$0.01 \\times 0.99 = 0.0099$" in page


def test_prevalence_numbers():
    page = text("prevalence")
    same_model = c.prevalence(50, 100, recall=0.9, specificity=0.99)
    assert same_model["precision"] == pytest.approx(0.45 / 0.455)
    assert round(same_model["precision"], 3) == 0.989 and "0.45 / 0.455 \\approx 0.989" in page
    rare = c.prevalence(200, 100_000, recall=0.9, specificity=0.99)
    assert round(rare["precision"], 4) == 0.1528 and round(
        rare["false_alarms_per_true_positive"], 2
    )
    assert "\\approx 0.1528" in page and "\\approx 5.54" in page
    assert "one in 500" in page


def test_precision_at_recall_table():
    page = text("precision-at-recall")
    y_true = [1, 1, 0, 1, 0, 1, 0, 0, 0, 0]
    y_score = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
    rows = {
        0.95: (1, 0, 0.25, 1.00, 0), 0.90: (2, 0, 0.50, 1.00, 0), 0.85: (2, 1, 0.50, 0.67, 0.17),
        0.80: (3, 1, 0.75, 0.75, 0.17), 0.70: (3, 2, 0.75, 0.60, 0.33),
        0.60: (4, 2, 1.00, 0.67, 0.33),
    }  # fmt: skip
    for threshold, (tp, fp, recall, precision, fpr) in rows.items():
        at = c.binary_classification(y_true, y_score=y_score, threshold=threshold)
        assert (at["tp"], at["fp"]) == (tp, fp), threshold
        assert round(at["recall"], 2) == recall and round(at["precision"], 2) == precision
        assert round(at["fp"] / (at["fp"] + at["tn"]), 2) == fpr
    assert "$1/6 \\approx 0.167$" in page
    assert 1 / 50 == 0.02 and "With 50 positives, recall moves in steps of 2 %" in page


def test_top_k_accuracy_numbers():
    page = text("top-k-accuracy")
    assert 5 / 10 == 0.5 and "top-5 accuracy of a random guess is 0.5" in page
    assert "15.3 % top-5 test error" in page


# --- Regression -----------------------------------------------------------------------------------


def test_mape_numbers():
    page = text("mape")
    terms = [20 / 210, 20 / 90, 20 / 30, 20 / 390]
    assert [round(t, 4) for t in terms] == [0.0952, 0.2222, 0.6667, 0.0513]
    result = c.percentage_errors([100, 50, 10, 200], [110, 40, 20, 190])
    assert result["smape"] == pytest.approx(sum(terms) / 4)
    assert pytest.approx(0.74, abs=0.01) == 1.00 / 1.35 and "($1.00$ of $1.35$)" in page
    assert c.percentage_errors([100], [110])["smape"] == pytest.approx(20 / 210)
    assert c.percentage_errors([100], [90])["smape"] == pytest.approx(20 / 190)
    assert "$20/210 \\approx 9.5\\,\\%$" in page and "$20/190 \\approx 10.5\\,\\%$" in page
    assert c.percentage_errors([5], [0])["mape"] == 1.0
    assert c.percentage_errors([5], [15])["mape"] == 2.0
    assert "three times the truth costs 200 %" in page


def test_pinball_loss_numbers():
    page = text("pinball-loss")
    demand = [10, 12, 8, 15, 9]
    loss = {q: c.pinball_loss(demand, [q] * 5, alpha=0.9)["pinball_loss"] for q in (13, 15, 10)}
    assert loss == pytest.approx({13: 0.62, 15: 0.42, 10: 1.32})
    grid = [c.pinball_loss(demand, [q / 10] * 5, alpha=0.9)["pinball_loss"] for q in range(301)]
    assert min(grid) == pytest.approx(0.42), "15 is the best constant forecast"
    assert "scores $0.1 \\times (5 + 3 + 7 + 0 + 6)/5 = 0.42$" in page
    assert "forecasting 10, near the median, scores 1.32" in page


# --- Ranking --------------------------------------------------------------------------------------


def test_hit_rate_and_coverage_numbers():
    assert "Hit rate@3 $= 2/3 \\approx 0.667$" in text("hit-rate-at-k")
    page = text("coverage-and-diversity")
    result = c.coverage_and_diversity(
        [[1, 2, 3], [1, 2, 4], [1, 3, 5], [1, 2, 6]],
        10,
        categories=[["a", "a", "b"], ["a", "a", "b"], ["a", "b", "b"], ["a", "a", "a"]],
    )
    assert result["gini"] * 10 * 12 == pytest.approx(70)
    assert "= 70$" in page and "G = 70 / (10 \\times 12) \\approx 0.583" in page
    assert round(result["entropy_bits"], 3) == 2.355
    assert round(result["normalised_entropy"], 3) == 0.709
    assert "about 2.355 bits" in page and "\\approx 0.709" in page


# --- Language -------------------------------------------------------------------------------------


def test_perplexity_numbers():
    page = text("perplexity")
    logs = [math.log(p) for p in (0.5, 0.25, 0.125, 0.5)]
    assert [round(-x, 4) for x in logs] == [0.6931, 1.3863, 2.0794, 0.6931]
    assert round(-sum(logs), 4) == 4.852 and "$4.8520 / 4 = 1.2130$" in page
    assert pytest.approx(c.perplexity(logs)["perplexity"]) == 2**1.75
    assert round(2**1.75, 3) == 3.364 and "\\approx 3.364" in page
    uniform = c.perplexity([math.log(1 / 50_000)] * 10)["perplexity"]
    assert uniform == pytest.approx(50_000) and "would score 50,000" in page


def test_bleu_numbers():
    page = text("bleu")
    hypotheses = ["the cat sat on the mat", "there is a dog in the garden"]
    references = [["the cat is on the mat"], ["a dog is in the garden"]]
    result = c.bleu(hypotheses, references)
    assert result["matches"] == [11, 6, 2, 0] and result["totals"] == [13, 11, 9, 7]
    assert [round(p, 2) for p in result["precisions"]] == [84.62, 54.55, 22.22, 7.14]
    assert (result["hypothesis_length"], result["reference_length"]) == (13, 12)
    assert round(result["bleu"], 2) == 29.26 and "\\approx 29.26" in page
    assert c.bleu(hypotheses, references, smooth_method="none")["bleu"] == 0.0
    assert "Without smoothing the missing 4-gram match would make the score 0" in page


def test_word_error_rate_numbers():
    page = text("word-error-rate")
    per_sentence = c.word_error_rate(
        ["the cat sat on the mat", "turn the lights off"],
        ["the cat sit on mat", "turn the light off please"],
    )["per_sentence"]
    assert per_sentence == [{"edits": 2, "reference_words": 6}, {"edits": 2, "reference_words": 4}]
    assert round((2 / 6 + 2 / 4) / 2, 2) == 0.42 and "their mean, about 0.42" in page


# --- Business -------------------------------------------------------------------------------------


def test_business_numbers():
    fraud = text("fraud-loss-rate")
    assert 1_500 * 80 == 120_000 and pytest.approx(2.86, abs=0.01) == 120_000 / 42_000
    assert "up to 120,000 of sales at risk, almost three times the fraud losses" in fraud
    # The EU reference fraud rates, 0.13 %, 0.06 % and 0.01 %, in basis points.
    assert [round(p / 100 * 10_000) for p in (0.13, 0.06, 0.01)] == [13, 6, 1]
    assert "below 13 bps" in fraud and "6 bps up to 250" in fraud and "1 bp up to 500" in fraud
    search = c.search_success(20_000, 13_000, searches=50_000, zero_result_searches=2_000)
    assert (search["search_success_rate"], search["zero_result_rate"]) == (0.65, 0.04)
    assert 50_000 / 20_000 == 2.5 and "| 50,000 / 20,000 | 2.5 |" in text("search-success-rate")
    gmv = c.gross_merchandise_value([25, 40, 35, 100], 20)
    assert 100 / gmv["gmv"] == 0.5 and "The single order of 100 is half of the GMV" in text(
        "gross-merchandise-value"
    )
    ads = c.ecpm(37.5, 15_000, clicks=45)
    assert ads["ecpm"] == pytest.approx(1000 * ads["ctr"] * ads["revenue_per_click"])
    lifted = c.ecpm(37.5 * 1.2, 15_000, clicks=54)
    assert lifted["ctr"] == 0.0036 and lifted["ecpm"] == pytest.approx(3.0)
    assert "would lift eCPM to 3.00, a 20 % gain" in text("ecpm")
